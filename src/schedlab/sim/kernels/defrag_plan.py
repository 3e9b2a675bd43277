"""Defragmentation's plan on the compiled path: the nodes to free for the head of the queue
and the tasks to move off each, the mirror of :meth:`schedlab.sim.defrag.Descheduler._plan`
(the rules are in its module's docstring).

Each node's candidate set is found by walking its running tasks (``st.run``'s lists) into
``dg.cand`` in the set's order and choosing from them into ``dg.cur``; each node's set is
summed up by its key, size and first task (``dg.keys``, ``dg.set_size``, ``dg.firsts``), the
best within the budget are taken in turn, and their sets built again into ``dg.pick``.
"""

from __future__ import annotations

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import fits
from schedlab.jit import inline, step
from schedlab.sim.kernels import exclusions, gangs
from schedlab.sim.kernels.evict import fits_free
from schedlab.sim.kernels.state import DEFRAG, DEFRAG_GANGS, MOVES, NOW, RUNNING, Defrag, State

HOUR = 3600.0


@step
def _elsewhere(st: State, v: int, node: int) -> bool:
    """Whether unit ``v`` fits now elsewhere than ``node`` and the nodes where the head fits
    (``dg.stamp``): a task on some node, a gang as many tasks of its shape as it has (counts
    kept per search: a shape's at ``vs``, a gang's at ``S + vs``)."""
    dg, c, sh, m = st.dg, st.c, st.sh, st.m
    vs, size = m.shape_of[v], m.gang_size[v]
    key = vs if size == 1 else len(dg.room) // 2 + vs
    if dg.seen[key] != dg.mark[0]:
        dg.seen[key] = dg.mark[0]
        count = 0
        for n in range(len(c.up)):
            if dg.stamp[n] != dg.mark[0]:
                if size > 1:
                    count += gangs.copies(st, vs, n)
                elif fits(c, sh, vs, n):
                    count += 1
        dg.room[key] = count
    if size > 1:
        return dg.room[key] - gangs.copies(st, vs, node) >= size
    return dg.room[key] - (1 if fits(c, sh, vs, node) else 0) > 0


@step
def _unit(st: State, v: int, node: int) -> bool:
    """Whether ``v`` names a unit on ``node``: a task alone, or its gang's first member there."""
    m, o = st.m, st.o
    for u in range(m.leader[v], v):  # noqa: SIM110 (numba: no all())
        if o.node[u] == node and o.status[u] == RUNNING:
            return False
    return True


@step
def _without(st: State, v: int, node: int) -> tuple[int, int]:
    """Add to ``dg.free`` the GPU milli unit ``v``'s tasks on ``node`` hold; the CPU and
    memory they hold."""
    m, o, sh, free = st.m, st.o, st.sh, st.dg.free
    vs, first = m.shape_of[v], m.leader[v]
    cpu, mem = 0, 0
    for u in range(first, first + m.gang_size[first]):
        if o.node[u] == node and o.status[u] == RUNNING:
            cpu, mem = cpu + sh.cpu[vs], mem + sh.mem[vs]
            for g in range(len(free)):
                if o.mask[u] >> g & 1:
                    free[g] += sh.milli[vs]
    return cpu, mem


@step
def left(st: State) -> int:
    """How many moves the budget allows now (``dg.ring`` holds the latest moves' times)."""
    ring, hour_ago = st.dg.ring, st.floats[NOW] - HOUR
    used = 0
    for i in range(min(st.ints[MOVES], len(ring))):
        if ring[i] > hour_ago:
            used += 1
    return len(ring) - used


@step
def _gather(st: State, node: int) -> int:
    """The node's units (gangs only with ``DEFRAG_GANGS``) that fit elsewhere now, into
    ``dg.cand`` in the order fewest GPU milli (a gang's: all its members'), then lower task
    index; how many."""
    m, sh, cand = st.m, st.sh, st.dg.cand
    count = 0
    v = st.run.head[node]
    while v >= 0:
        if (m.gang_size[v] == 1 or st.ints[DEFRAG_GANGS]) and _unit(st, v, node) and _elsewhere(st, v, node):
            milli = m.gang_size[v] * sh.total[m.shape_of[v]]
            i = count
            while i > 0:
                u = cand[i - 1]
                before = m.gang_size[u] * sh.total[m.shape_of[u]]
                if before < milli or (before == milli and u < v):
                    break
                cand[i] = u
                i -= 1
            cand[i] = v
            count += 1
        v = st.run.next[v]
    return count


@step
def _set(st: State, s: int, node: int, count: int, budget: int) -> int:
    """Fill ``dg.cur`` with the units of ``dg.cand[:count]`` to move off ``node`` for shape
    ``s`` (the rule of :func:`schedlab.sim.defrag_plan._set`; a GPU model ``s`` may take);
    how many (0: none)."""
    c, sh, m, o, dg = st.c, st.sh, st.m, st.o, st.dg
    free = dg.free
    for j in range(count):  # one unit that makes room
        v = dg.cand[j]
        if m.gang_size[v] > budget:
            continue
        for g in range(len(free)):
            free[g] = c.gpu_free[node, g]
        cpu, mem = _without(st, v, node)
        if fits_free(sh, s, c.cpu_left[node] + cpu, c.mem_left[node] + mem, free):
            dg.cur[0] = v
            return 1
    cpu, mem = c.cpu_left[node], c.mem_left[node]
    for g in range(len(free)):
        free[g] = c.gpu_free[node, g]
    need, k = sh.milli[s], sh.k[s]
    chosen, moves = 0, 0
    for j in range(count):
        v = dg.cand[j]
        if moves + m.gang_size[v] > budget:
            continue
        vs, first = m.shape_of[v], m.leader[v]
        have = 0
        for g in range(len(free)):
            if free[g] >= need:
                have += 1
        helps = (cpu < sh.cpu[s] and sh.cpu[vs] > 0) or (mem < sh.mem[s] and sh.mem[vs] > 0)
        if not helps and k > 0 and have < k:
            for u in range(first, first + m.gang_size[first]):
                if o.node[u] == node and o.status[u] == RUNNING:
                    for g in range(len(free)):
                        if o.mask[u] >> g & 1 and free[g] < need:
                            helps = True
        if helps:
            dg.cur[chosen] = v
            chosen += 1
            moves += m.gang_size[v]
            more_cpu, more_mem = _without(st, v, node)
            cpu, mem = cpu + more_cpu, mem + more_mem
            if fits_free(sh, s, cpu, mem, free):
                return chosen
    return 0


@inline
def _before(dg: Defrag, rank: IntArray, a: int, b: int) -> bool:
    """Whether node ``a``'s candidate set orders before node ``b``'s: by key, node rank, then
    first task index."""
    for i in range(3):
        if dg.keys[a, i] != dg.keys[b, i]:
            return dg.keys[a, i] < dg.keys[b, i]
    if rank[a] != rank[b]:
        return rank[a] < rank[b]
    return dg.firsts[a] < dg.firsts[b]


@step
def plan(st: State, t: int) -> int:
    """The rule of :meth:`schedlab.sim.defrag.Descheduler._plan` for ``t`` (its gang): how
    many nodes to free (0: no plan), those nodes in ``dg.nodes``, the tasks to move off each
    in ``dg.pick`` (``dg.sizes`` per node, in turn), the nodes where ``t``'s shape fits now
    marked in ``dg.stamp``."""
    c, sh, m, dg = st.c, st.sh, st.m, st.dg
    s, size, kind = m.shape_of[t], m.gang_size[t], st.ints[DEFRAG] - 1
    if size == 1:
        exclusions.excluded(st, t)
    else:
        exclusions.fresh(st.x)  # a gang takes any node
    dg.mark[0] += 1
    mark, have = dg.mark[0], 0
    for n in range(len(c.up)):
        if c.up[n] and not exclusions.is_excluded(st.x, n):
            have += gangs.copies(st, s, n)
            if fits(c, sh, s, n):
                dg.stamp[n] = mark
    missing = size - have
    if missing <= 0:
        return 0
    budget = left(st)
    for node in range(len(c.up)):
        dg.set_size[node] = 0
        if st.run.head[node] < 0 or not c.up[node] or exclusions.is_excluded(st.x, node):
            continue
        if dg.stamp[node] == mark or (sh.k[s] > 0 and not sh.allowed[s, c.model[node]]):
            continue
        chosen = _set(st, s, node, _gather(st, node), budget)
        if chosen == 0:
            continue
        milli, moves = 0.0, 0
        for j in range(chosen):
            u = dg.cur[j]
            milli += m.gang_size[u] * sh.total[m.shape_of[u]]
            moves += m.gang_size[u]
        if kind == 0:
            dg.keys[node, 0], dg.keys[node, 1], dg.keys[node, 2] = milli, float(moves), 0.0
        else:
            dg.keys[node, 0], dg.keys[node, 1], dg.keys[node, 2] = -float(c.frag[node]), milli, float(moves)
        dg.set_size[node], dg.set_moves[node], dg.firsts[node] = chosen, moves, dg.cur[0]
    for r in range(missing):  # the best sets in order, each within the budget still left
        best = -1
        for node in range(len(c.up)):
            within = dg.set_size[node] > 0 and dg.set_moves[node] <= budget
            if within and (best < 0 or _before(dg, m.rank, node, best)):
                best = node
        if best < 0:
            return 0
        dg.nodes[r] = best
        budget -= dg.set_moves[best]
        dg.set_size[best] = -1
    total, budget = 0, left(st)
    for r in range(missing):  # their sets again, into ``pick`` (nothing changed since)
        k = _set(st, s, dg.nodes[r], _gather(st, dg.nodes[r]), budget)
        dg.sizes[r] = k
        for j in range(k):
            dg.pick[total + j] = dg.cur[j]
        total += k
    return missing
