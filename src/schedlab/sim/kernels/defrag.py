"""Defragmentation on the compiled path: the mirror of
:class:`schedlab.sim.defrag.Descheduler` (the rules are in its module's docstring).

A step is an event of its own (``floats[DEFRAG_AT]``, infinite when none is scheduled),
after the other events at its time. Its plan (:mod:`schedlab.sim.kernels.defrag_plan`)
names the nodes to free and the tasks to move off each; each moved task is placed by
:func:`~schedlab.sim.kernels.choose.choose` with the blocked nodes excluded, as any task is.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.engine.kernels import push
from schedlab.jit import inline, merged, step
from schedlab.scheduler.kernels import PLACE, commit
from schedlab.sim.kernels import exclusions, rates, waiting
from schedlab.sim.kernels.actions import begin, stop
from schedlab.sim.kernels.admission import freed
from schedlab.sim.kernels.choose import choose
from schedlab.sim.kernels.defrag_plan import left, plan
from schedlab.sim.kernels.state import (
    CAPACITY,
    DEFRAG_ABOVE,
    DEFRAG_AT,
    DEFRAG_COST,
    DEFRAG_EVERY,
    DEFRAG_ORIGIN,
    FRAG_SCALE,
    GUARD,
    MOVE_LOST,
    MOVES,
    NOW,
    RUNNING,
    RUNNING_NOW,
    State,
)


@inline
def next_at(origin: float, every: float, now: float) -> float:
    at = origin + (math.floor((now - origin) / every) + 1) * every
    return at + every if at <= now else at


@step
def arm(st: State) -> None:
    """Schedule the next step if none is and tasks wait while others run."""
    ints, floats = st.ints, st.floats
    if floats[DEFRAG_AT] == np.inf and st.w.tally[1] + st.fa.hidden[0] > 0 and ints[RUNNING_NOW] > 0:
        floats[DEFRAG_AT] = next_at(floats[DEFRAG_ORIGIN], floats[DEFRAG_EVERY], floats[NOW])


@step
def move(kind: int, draws: bool, st: State, node: int, v: int, chosen: int) -> bool:
    """Move ``v`` off ``node`` to where the placement policy puts it, not on the plan's
    ``chosen`` nodes nor those where the head fits; False if nowhere."""
    m, o, c, dg, now = st.m, st.o, st.c, st.dg, st.floats[NOW]
    s = m.shape_of[v]
    exclusions.excluded(st, v)
    for n in range(len(c.up)):
        if dg.stamp[n] == dg.mark[0]:
            exclusions.exclude(st.x, n)
    for r in range(chosen):
        exclusions.exclude(st.x, dg.nodes[r])
    n, mask = choose(kind, draws, st, v, s)
    if n < 0:
        return False
    commit(c, st.sh, st.f, st.pl, s, n, mask, PLACE)
    dg.kept[v] += (now - o.start[v]) * m.speed[c.model[node], m.speed_class[s]]
    stop(st, v)
    o.attempt[v] += 1
    end = begin(st, v, s, n, mask) + st.floats[DEFRAG_COST]
    push(st.h, end, v, rates.key(st.q, o.attempt[v], v))
    if st.ints[GUARD]:  # the reservations see its new end
        st.run.end[v] = end
    dg.ring[st.ints[MOVES] % len(dg.ring)] = now
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
    dg = st.dg
    st.floats[DEFRAG_AT] = np.inf
    moved = False
    while _fragmented(st) and left(st) > 0:
        s = waiting.head(st.w, False)
        if s < 0:
            break
        t = waiting.first(st.w, s)
        count = plan(st, t)
        if count == 0:
            break
        done, planned, offered = 0, 0, 0  # moves made (the next in ``pick``) and planned, nodes moved off
        for r in range(count):
            planned += dg.sizes[r]
            for _ in range(dg.sizes[r]):
                if not move(kind, draws, st, dg.nodes[r], dg.pick[done], count):
                    break
                done += 1
            if done > planned - dg.sizes[r]:
                offered += 1
            if done < planned:
                break
        if done == 0:
            break
        moved = True
        for r in range(offered):
            freed(kind, draws, st, dg.nodes[r])
        if done < dg.sizes[:count].sum() or st.o.status[t] != RUNNING:
            break
    return moved
