"""The compiled starvation guard: the mirror of :mod:`schedlab.sim.reservation` and of the
waiting queue's :meth:`~schedlab.sim.waiting.WaitingQueue.starving`.

The guarded waiting tasks sit in two heaps keyed by ``(since, task)``: those not promoted
yet, and those that waited long enough (promoted: they carry a starving key). The tasks that
hold reservations are the first :data:`LIMIT` of the second heap, each on the node where its
shape could start the earliest (:mod:`schedlab.sim.kernels.shadow`).
"""

from __future__ import annotations

import numpy as np

from schedlab.jit import inline, step
from schedlab.sim.kernels import groups, shadow, waiting
from schedlab.sim.kernels.state import FAIR, NOW, GuardArrays, State

#: At most this many of the tasks that waited longest hold a reservation at once.
LIMIT = 8
# Where things are in ``GuardArrays.ints`` (6 and 7: :mod:`~schedlab.sim.kernels.shadow`'s).
COUNT, BEFORE, POSITION, HELD, TIER, SPARE = range(6)
INTS = 8
AFTER, PROMOTED = 0, 1


@inline
def _first(gd: GuardArrays, a: int, b: int) -> bool:
    """Whether task ``a`` waited longer than task ``b`` (earlier since, then lower index)."""
    if gd.since[a] != gd.since[b]:
        return gd.since[a] < gd.since[b]
    return a < b


@inline
def _place(gd: GuardArrays, k: int, i: int, t: int) -> None:
    gd.heap[k, i] = t
    gd.hpos[t] = i


@step
def _sift(gd: GuardArrays, k: int, i: int) -> None:
    """Restore the order of heap ``k`` around position ``i`` (down, then up)."""
    t, size = gd.heap[k, i], gd.size[k]
    while True:
        child, least = -1, t
        for j in range(2 * i + 1, min(2 * i + 3, size)):
            if _first(gd, gd.heap[k, j], least):
                child, least = j, gd.heap[k, j]
        if child < 0:
            break
        _place(gd, k, i, least)
        i = child
    while i > 0:
        parent = (i - 1) // 2
        if not _first(gd, t, gd.heap[k, parent]):
            break
        _place(gd, k, i, gd.heap[k, parent])
        i = parent
    _place(gd, k, i, t)


@step
def _push(gd: GuardArrays, k: int, t: int) -> None:
    i = gd.size[k]
    gd.size[k] += 1
    gd.which[t] = k
    _place(gd, k, i, t)
    _sift(gd, k, i)


@step
def drop(gd: GuardArrays, t: int) -> None:
    """``t`` left the waiting queue."""
    k = gd.which[t]
    gd.starving[t] = False
    if k < 0:
        return
    i, last = gd.hpos[t], gd.size[k] - 1
    gd.size[k] = last
    gd.which[t] = -1
    if i != last:
        _place(gd, k, i, gd.heap[k, last])
        _sift(gd, k, i)


@step
def add(gd: GuardArrays, t: int) -> None:
    """``t`` entered the waiting queue (its key taken, starving or not)."""
    if gd.since[t] < np.inf:
        _push(gd, 1 if gd.starving[t] else 0, t)


@step
def starve(st: State, t: int) -> None:
    """Give ``t`` its starving key: its tier, then ahead of every other task of the tier, by
    how long it waited."""
    gd, w = st.gd, st.w
    gd.starving[t] = True
    if gd.ints[TIER] == 0:
        w.key0[t], w.key1[t], w.key2[t] = -np.inf, gd.since[t], 0.0
    else:
        w.key0[t], w.key1[t], w.key2[t] = st.m.key0[t], -np.inf, gd.since[t]


@inline
def promoted(gd: GuardArrays, t: int) -> bool:
    """Whether ``t`` enters the queue with a starving key."""
    return gd.since[t] <= gd.floats[PROMOTED]


@step
def _promote(st: State, before: float) -> None:
    """Promote every task whose wait began by ``before``, for good."""
    gd = st.gd
    if before <= gd.floats[PROMOTED]:
        return
    while gd.size[0] > 0 and gd.since[gd.heap[0, 0]] <= before:
        t = gd.heap[0, 0]
        drop(gd, t)
        if st.ints[FAIR]:  # it leaves its drf group: it waits on its own from now on
            groups.part(st, t)
            starve(st, t)
            waiting.push(st.w, st.m.shape_of[t], t)
        else:
            starve(st, t)
            waiting.moved(st.w, t)
        _push(gd, 1, t)
    gd.floats[PROMOTED] = before


@step
def _longest(gd: GuardArrays) -> int:
    """Write the first LIMIT promoted tasks, longest wait first, to ``starving_now``."""
    pick, count, found = gd.pick, 0, 0
    if gd.size[1] > 0:
        pick[0], count = 0, 1
    while count > 0 and found < LIMIT:
        best = 0
        for j in range(1, count):
            if _first(gd, gd.heap[1, pick[j]], gd.heap[1, pick[best]]):
                best = j
        i = pick[best]
        pick[best] = pick[count - 1]
        count -= 1
        gd.starving_now[found] = gd.heap[1, i]
        found += 1
        for child in range(2 * i + 1, min(2 * i + 3, gd.size[1])):
            pick[count] = child
            count += 1
    return found


@step
def update(st: State) -> None:
    """Put the tasks that waited long enough first and bring their reservations up to date:
    in order of their waits, each takes the node of least earliest start (ties: the node
    order) among those not reserved yet."""
    gd, m = st.gd, st.m
    _promote(st, st.floats[NOW] - gd.floats[AFTER])
    count = _longest(gd)
    changes = st.pl.scal[0]
    same = count == gd.ints[BEFORE] and changes == gd.ints[POSITION]
    for i in range(count):
        same = same and gd.starving_now[i] == gd.before[i]
        gd.before[i] = gd.starving_now[i]
    gd.ints[BEFORE], gd.ints[POSITION] = count, changes
    if same:
        return
    held = 0
    for i in range(count):
        t = gd.starving_now[i]
        k = shadow.slot(st, m.shape_of[t])
        for j in range(held):  # the nodes reserved already are out of reach
            n = gd.held_node[j]
            gd.ends[j] = gd.value[k, n]
            gd.value[k, n] = np.inf
            shadow.renew(gd, m.rank, k, n)
        best = gd.tree[k, 1]
        value = gd.value[k, best] if best >= 0 else np.inf
        for j in range(held - 1, -1, -1):
            n = gd.held_node[j]
            gd.value[k, n] = gd.ends[j]
            shadow.renew(gd, m.rank, k, n)
        if value < np.inf:
            gd.held_node[held], gd.held_task[held], gd.held_value[held] = best, t, value
            held += 1
    gd.ints[HELD] = held
