"""Defragmentation on the compiled path: the mirror of
:class:`schedlab.sim.defrag.Descheduler` (the rules are in its module's docstring).

A step is an event of its own (``floats[DEFRAG_AT]``, infinite when none is scheduled),
after the other events at its time. The candidates of the head of the queue are found by
walking each node's running tasks (``st.run``'s lists); the moved task is placed by
:func:`~schedlab.sim.kernels.choose.choose` with its node excluded, as any task is.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster.kernels import ClusterArrays, ShapeArraysK, fits
from schedlab.engine.kernels import push
from schedlab.jit import inline, merged, step
from schedlab.scheduler.kernels import PLACE, commit
from schedlab.sim.kernels import exclusions, rates, waiting
from schedlab.sim.kernels.actions import begin, stop
from schedlab.sim.kernels.admission import freed
from schedlab.sim.kernels.choose import choose
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


@inline
def _fits_without(c: ClusterArrays, sh: ShapeArraysK, s: int, node: int, vs: int, mask: int) -> bool:
    """Whether shape ``s`` fits ``node`` once a task of shape ``vs`` on GPUs ``mask`` left."""
    if c.cpu_left[node] + sh.cpu[vs] < sh.cpu[s] or c.mem_left[node] + sh.mem[vs] < sh.mem[s]:
        return False
    if sh.k[s] == 0:
        return True
    if not sh.allowed[s, c.model[node]]:
        return False
    have = 0
    for g in range(c.gpu_free.shape[1]):
        free = c.gpu_free[node, g] + (sh.milli[vs] if mask >> g & 1 else 0)
        if free >= sh.milli[s]:
            have += 1
    return have >= sh.k[s]


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
def _best(st: State, t: int) -> tuple[int, int]:
    """The (node, task) to move for ``t`` (-1, -1: none)."""
    c, sh, m, o, run = st.c, st.sh, st.m, st.o, st.run
    s, kind = m.shape_of[t], st.ints[DEFRAG] - 1
    exclusions.excluded(st, t)
    best_node, best_v = -1, -1
    st.dg.mark[0] += 1
    b0, b1, b_rank = np.inf, np.inf, 0
    for node in range(len(c.up)):
        v = run.head[node]
        if v < 0 or not c.up[node] or exclusions.is_excluded(st.x, node) or fits(c, sh, s, node):
            continue
        while v >= 0:
            vs = m.shape_of[v]
            if (
                m.gang_size[v] == 1
                and _fits_without(c, sh, s, node, vs, o.mask[v])
                and _elsewhere(st, vs, node)
            ):
                milli = float(sh.total[vs])
                k0, k1 = (milli, 0.0) if kind == 0 else (-float(c.frag[node]), milli)
                rank = m.rank[node]
                if best_v < 0 or (
                    k0 < b0
                    or (
                        k0 == b0
                        and (k1 < b1 or (k1 == b1 and (rank < b_rank or (rank == b_rank and v < best_v))))
                    )
                ):
                    best_node, best_v, b0, b1, b_rank = node, v, k0, k1, rank
            v = run.next[v]
    return best_node, best_v


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
    ints, m, ring, now = st.ints, st.m, st.dg.ring, st.floats[NOW]
    st.floats[DEFRAG_AT] = np.inf
    moved = False
    while _fragmented(st) and (ints[MOVES] < len(ring) or ring[ints[MOVES] % len(ring)] <= now - HOUR):
        s = waiting.head(st.w, False)
        if s < 0:
            break
        t = waiting.first(st.w, s)
        if m.gang_size[t] > 1:
            break
        node, v = _best(st, t)
        if node < 0 or not _move(kind, draws, st, node, v):
            break
        moved = True
        freed(kind, draws, st, node)
        if st.o.status[t] != RUNNING:
            break
    return moved
