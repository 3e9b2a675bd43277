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
from schedlab.sim.kernels.actions import begin, place_members, stop
from schedlab.sim.kernels.admission import freed
from schedlab.sim.kernels.choose import choose
from schedlab.sim.kernels.defrag_plan import left, plan
from schedlab.sim.kernels.samples import in_service
from schedlab.sim.kernels.state import (
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
    Defrag,
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
    """Whether FGD's measure counts at least ``DEFRAG_ABOVE`` % of the free GPU compute of
    the nodes in service unusable now (slice-aware; always with 0)."""
    above = st.floats[DEFRAG_ABOVE]
    if above <= 0:
        return True
    _, _, frag, free = in_service(st)
    return 100.0 * (frag / st.floats[FRAG_SCALE]) >= above * free


@step
def move_gang(kind: int, draws: bool, st: State, v: int, chosen: int, at: int) -> int:
    """Move ``v``'s gang whole, placed by the placement policy (all or none) not on the plan's
    ``chosen`` nodes nor those where the head fits, keeping the work it did at its slowest
    member's speed; the nodes its members left go to ``dg.others`` from ``at``; how many
    (-1: nowhere)."""
    m, o, c, dg, run, now = st.m, st.o, st.c, st.dg, st.run, st.floats[NOW]
    s, first = m.shape_of[v], m.leader[v]
    size = m.gang_size[first]
    exclusions.fresh(st.x)
    for n in range(len(c.up)):
        if dg.stamp[n] == dg.mark[0]:
            exclusions.exclude(st.x, n)
    for r in range(chosen):
        exclusions.exclude(st.x, dg.nodes[r])
    if not place_members(kind, draws, st, first, s, size):
        return -1
    speed = np.inf
    for u in range(first, first + size):
        speed = min(speed, m.speed[c.model[o.node[u]], m.speed_class[s]])
    latest = -np.inf
    for k in range(size):
        u = first + k
        dg.kept[u] += (now - o.start[u]) * speed
        dg.others[at + k] = stop(st, u)
        o.attempt[u] += 1
        latest = max(latest, begin(st, u, s, run.gang_node[k], run.gang_mask[k]))
    end = latest + st.floats[DEFRAG_COST]
    push(st.h, end, first, rates.key(st.q, o.attempt[first], first))
    for k in range(size):
        if st.ints[GUARD]:  # the reservations see its new end
            run.end[first + k] = end
        dg.ring[st.ints[MOVES] % len(dg.ring)] = now
        st.ints[MOVES] += 1
    st.floats[MOVE_LOST] += st.floats[DEFRAG_COST] * size * st.sh.total[s] / 1000
    return size


@inline
def _offered(dg: Defrag, offered: int, others: int, i: int) -> bool:
    """Whether ``dg.others[i]`` is among the plan's first ``offered`` nodes or ``others[:i]``."""
    for r in range(offered):
        if dg.nodes[r] == dg.others[i]:
            return True
    for j in range(i):  # noqa: SIM110 (numba: no any())
        if dg.others[j] == dg.others[i]:
            return True
    return False


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
        # units moved (the next in ``pick``) and planned, nodes moved off, other nodes gangs left
        done, planned, offered, others = 0, 0, 0, 0
        for r in range(count):
            planned += dg.sizes[r]
            node = dg.nodes[r]
            for _ in range(dg.sizes[r]):
                v = dg.pick[done]
                if st.o.node[v] != node:  # a gang moved already, for another node of the plan
                    done += 1
                    continue
                if st.m.gang_size[v] == 1:
                    if not move(kind, draws, st, node, v, count):
                        break
                else:
                    gone = move_gang(kind, draws, st, v, count, others)
                    if gone < 0:
                        break
                    others += gone
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
        for i in range(others):
            if not _offered(dg, offered, others, i):
                freed(kind, draws, st, dg.others[i])
        if done < dg.sizes[:count].sum() or st.o.status[t] != RUNNING:
            break
    return moved
