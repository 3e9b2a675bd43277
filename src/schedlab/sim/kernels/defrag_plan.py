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
from schedlab.sim.kernels.state import DEFRAG, MOVES, NOW, Defrag, State

HOUR = 3600.0


@step
def _elsewhere(st: State, vs: int, node: int) -> bool:
    """Whether shape ``vs`` fits some node in service now other than ``node`` and those where
    the head fits (``dg.stamp``; counts kept per search)."""
    dg, c, sh = st.dg, st.c, st.sh
    if dg.seen[vs] != dg.mark[0]:
        dg.seen[vs] = dg.mark[0]
        count = 0
        for n in range(len(c.up)):
            if dg.stamp[n] != dg.mark[0] and fits(c, sh, vs, n):
                count += 1
        dg.room[vs] = count
    return dg.room[vs] - (1 if fits(c, sh, vs, node) else 0) > 0


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
    """The node's running single tasks that fit another node now, into ``dg.cand`` in the
    order fewest GPU milli, then lower task index; how many."""
    m, sh, cand = st.m, st.sh, st.dg.cand
    count = 0
    v = st.run.head[node]
    while v >= 0:
        vs = m.shape_of[v]
        if m.gang_size[v] == 1 and _elsewhere(st, vs, node):
            milli = sh.total[vs]
            i = count
            while i > 0 and (
                sh.total[m.shape_of[cand[i - 1]]] > milli
                or (sh.total[m.shape_of[cand[i - 1]]] == milli and cand[i - 1] > v)
            ):
                cand[i] = cand[i - 1]
                i -= 1
            cand[i] = v
            count += 1
        v = st.run.next[v]
    return count


@step
def _set(st: State, s: int, node: int, count: int, budget: int) -> int:
    """Fill ``dg.cur`` with the tasks of ``dg.cand[:count]`` to move off ``node`` for shape
    ``s`` (the rule of :meth:`schedlab.sim.defrag.Descheduler._set`; a GPU model ``s`` may
    take); how many (0: none)."""
    c, sh, m, o, dg = st.c, st.sh, st.m, st.o, st.dg
    free = dg.free
    for j in range(count):  # one move that makes room
        v = dg.cand[j]
        vs, mask = m.shape_of[v], o.mask[v]
        for g in range(len(free)):
            free[g] = c.gpu_free[node, g] + (sh.milli[vs] if mask >> g & 1 else 0)
        if fits_free(sh, s, c.cpu_left[node] + sh.cpu[vs], c.mem_left[node] + sh.mem[vs], free):
            dg.cur[0] = v
            return 1
    cpu, mem = c.cpu_left[node], c.mem_left[node]
    for g in range(len(free)):
        free[g] = c.gpu_free[node, g]
    need, k = sh.milli[s], sh.k[s]
    chosen = 0
    for j in range(count):
        if chosen == budget:
            break
        v = dg.cand[j]
        vs, mask = m.shape_of[v], o.mask[v]
        have = 0
        for g in range(len(free)):
            if free[g] >= need:
                have += 1
        helps = (cpu < sh.cpu[s] and sh.cpu[vs] > 0) or (mem < sh.mem[s] and sh.mem[vs] > 0)
        if not helps and k > 0 and have < k:
            for g in range(len(free)):
                if mask >> g & 1 and free[g] < need:
                    helps = True
                    break
        if helps:
            dg.cur[chosen] = v
            chosen += 1
            cpu, mem = cpu + sh.cpu[vs], mem + sh.mem[vs]
            for g in range(len(free)):
                if mask >> g & 1:
                    free[g] += sh.milli[vs]
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
        milli = 0.0
        for j in range(chosen):
            milli += sh.total[m.shape_of[dg.cur[j]]]
        if kind == 0:
            dg.keys[node, 0], dg.keys[node, 1], dg.keys[node, 2] = milli, float(chosen), 0.0
        else:
            dg.keys[node, 0], dg.keys[node, 1], dg.keys[node, 2] = -float(c.frag[node]), milli, float(chosen)
        dg.set_size[node], dg.firsts[node] = chosen, dg.cur[0]
    for r in range(missing):  # the best sets in order, each within the budget still left
        best = -1
        for node in range(len(c.up)):
            if 0 < dg.set_size[node] <= budget and (best < 0 or _before(dg, m.rank, node, best)):
                best = node
        if best < 0:
            return 0
        dg.nodes[r] = best
        budget -= dg.set_size[best]
        dg.set_size[best] = -1
    total, budget = 0, left(st)
    for r in range(missing):  # their sets again, into ``pick`` (nothing changed since)
        k = _set(st, s, dg.nodes[r], _gather(st, dg.nodes[r]), budget)
        dg.sizes[r] = k
        for j in range(k):
            dg.pick[total + j] = dg.cur[j]
        total += k
    return missing
