"""Defragmentation on the compiled path: the mirror of
:class:`schedlab.sim.defrag.Descheduler` (the rules are in its module's docstring).

A step is an event of its own (``floats[DEFRAG_AT]``, infinite when none is scheduled),
after the other events at its time. The candidate set of each node is found by walking the
node's running tasks (``st.run``'s lists) into ``dg.cand`` in the set's order; the best set
so far is kept in ``dg.pick``; each moved task is placed by
:func:`~schedlab.sim.kernels.choose.choose` with its node excluded, as any task is.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster.kernels import fits
from schedlab.engine.kernels import push
from schedlab.jit import inline, merged, step
from schedlab.scheduler.kernels import PLACE, commit
from schedlab.sim.kernels import exclusions, rates, waiting
from schedlab.sim.kernels.actions import begin, stop
from schedlab.sim.kernels.admission import freed
from schedlab.sim.kernels.choose import choose
from schedlab.sim.kernels.evict import fits_free
from schedlab.sim.kernels.state import (
    CAPACITY,
    DEFRAG,
    DEFRAG_ABOVE,
    DEFRAG_AT,
    DEFRAG_COST,
    DEFRAG_EVERY,
    DEFRAG_ORIGIN,
    FRAG_SCALE,
    MOVE_LOST,
    MOVES,
    NOW,
    RUNNING,
    RUNNING_NOW,
    State,
)

HOUR = 3600.0


@inline
def _next(origin: float, every: float, now: float) -> float:
    at = origin + (math.floor((now - origin) / every) + 1) * every
    return at + every if at <= now else at


@step
def arm(st: State) -> None:
    """Schedule the next step if none is and tasks wait while others run."""
    ints, floats = st.ints, st.floats
    if floats[DEFRAG_AT] == np.inf and st.w.tally[1] + st.fa.hidden[0] > 0 and ints[RUNNING_NOW] > 0:
        floats[DEFRAG_AT] = _next(floats[DEFRAG_ORIGIN], floats[DEFRAG_EVERY], floats[NOW])


@step
def _elsewhere(st: State, vs: int, node: int) -> bool:
    """Whether shape ``vs`` fits some node in service other than ``node`` now (counts kept
    per search)."""
    dg, c, sh = st.dg, st.c, st.sh
    if dg.seen[vs] != dg.mark[0]:
        dg.seen[vs] = dg.mark[0]
        count = 0
        for n in range(len(c.up)):
            if fits(c, sh, vs, n):
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
def _before(
    k0: float,
    k1: float,
    k2: float,
    rank: int,
    first: int,
    b0: float,
    b1: float,
    b2: float,
    b_rank: int,
    b_first: int,
) -> bool:
    """Whether key ``(k0, k1, k2, rank, first)`` orders before ``(b0, b1, b2, b_rank, b_first)``."""
    if k0 != b0:
        return k0 < b0
    if k1 != b1:
        return k1 < b1
    if k2 != b2:
        return k2 < b2
    if rank != b_rank:
        return rank < b_rank
    return first < b_first


@step
def _best(st: State, t: int) -> tuple[int, int]:
    """The node to free for ``t`` (-1: none) and how many tasks to move off it, which are
    left in ``dg.pick``: by the policy's key, node rank, first task index."""
    c, sh, m, dg = st.c, st.sh, st.m, st.dg
    s, kind = m.shape_of[t], st.ints[DEFRAG] - 1
    exclusions.excluded(st, t)
    budget = left(st)
    best_node, best_count, best_first, b_rank = -1, 0, -1, 0
    b0, b1, b2 = np.inf, np.inf, np.inf
    dg.mark[0] += 1
    for node in range(len(c.up)):
        if st.run.head[node] < 0 or not c.up[node] or exclusions.is_excluded(st.x, node):
            continue
        if fits(c, sh, s, node) or (sh.k[s] > 0 and not sh.allowed[s, c.model[node]]):
            continue
        chosen = _set(st, s, node, _gather(st, node), budget)
        if chosen == 0:
            continue
        milli = 0.0
        for j in range(chosen):
            milli += sh.total[m.shape_of[dg.cur[j]]]
        if kind == 0:
            k0, k1, k2 = milli, float(chosen), 0.0
        else:
            k0, k1, k2 = -float(c.frag[node]), milli, float(chosen)
        rank, first = m.rank[node], dg.cur[0]
        if best_node < 0 or _before(k0, k1, k2, rank, first, b0, b1, b2, b_rank, best_first):
            best_node, best_count, best_first, b_rank = node, chosen, first, rank
            b0, b1, b2 = k0, k1, k2
            for j in range(chosen):
                dg.pick[j] = dg.cur[j]
    return best_node, best_count


@step
def _move(kind: int, draws: bool, st: State, node: int, v: int) -> bool:
    """Move ``v`` off ``node`` to where the placement policy puts it; False if nowhere."""
    m, o, c, now = st.m, st.o, st.c, st.floats[NOW]
    s = m.shape_of[v]
    exclusions.excluded(st, v)
    exclusions.exclude(st.x, node)
    n, mask = choose(kind, draws, st, v, s)
    if n < 0:
        return False
    commit(c, st.sh, st.f, st.pl, s, n, mask, PLACE)
    st.dg.kept[v] += (now - o.start[v]) * m.speed[c.model[node], m.speed_class[s]]
    stop(st, v)
    o.attempt[v] += 1
    end = begin(st, v, s, n, mask) + st.floats[DEFRAG_COST]
    push(st.h, end, v, rates.key(st.q, o.attempt[v], v))
    ring = st.dg.ring
    ring[st.ints[MOVES] % len(ring)] = now
    st.ints[MOVES] += 1
    st.floats[MOVE_LOST] += st.floats[DEFRAG_COST] * st.sh.total[s] / 1000
    return True


@step
def _fragmented(st: State) -> bool:
    """Whether FGD's measure counts at least ``DEFRAG_ABOVE`` % of the free GPU capacity
    unusable now (always with 0)."""
    above = st.floats[DEFRAG_ABOVE]
    if above <= 0:
        return True
    total = 0
    for n in range(len(st.c.frag)):
        total += st.c.frag[n]
    free = st.ints[CAPACITY] - st.c.allocated[0]
    return 100.0 * (total / st.floats[FRAG_SCALE]) >= above * free


@merged
def run_step(kind: int, draws: bool, st: State) -> bool:
    """A descheduling step now; whether it moved anything."""
    m = st.m
    st.floats[DEFRAG_AT] = np.inf
    moved = False
    while _fragmented(st) and left(st) > 0:
        s = waiting.head(st.w, False)
        if s < 0:
            break
        t = waiting.first(st.w, s)
        if m.gang_size[t] > 1:
            break
        node, count = _best(st, t)
        if node < 0:
            break
        done = 0
        for j in range(count):
            if not _move(kind, draws, st, node, st.dg.pick[j]):
                break
            done += 1
        if done == 0:
            break
        moved = True
        freed(kind, draws, st, node)
        if done < count or st.o.status[t] != RUNNING:
            break
    return moved
