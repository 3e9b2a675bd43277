"""The compiled starvation guard: the mirror of :mod:`schedlab.sim.reservation` and of the
waiting queue's :meth:`~schedlab.sim.waiting.WaitingQueue.starving`.

The guarded waiting tasks sit in two heaps keyed by ``(since, task)``: those not promoted
yet, and those that waited long enough (promoted: they carry a starving key). The tasks that
hold reservations are the first :data:`LIMIT` of the second heap. A node's earliest start for
a shape depends only on the node's state (:data:`FITS_NOW` where the shape fits now, else the end
time of the running task whose departure makes it fit, else infinity), so it is kept per
shape, in a slot: the value of every node and a segment tree of the node with the least
``(value, rank)``, brought up to date from the placer's log of changed nodes.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.kernels import fits
from schedlab.jit import inline, step
from schedlab.sim.kernels import groups, waiting
from schedlab.sim.kernels.state import FAIR, NOW, GuardArrays, State

#: At most this many of the tasks that waited longest hold a reservation at once.
LIMIT = 8
#: Slots of per-shape earliest starts (at least the distinct shapes of LIMIT tasks).
SLOTS = 8
#: The earliest start where a shape fits now: before any time.
FITS_NOW = -np.inf
# Where things are in ``GuardArrays.ints``.
COUNT, BEFORE, POSITION, HELD, TIER, SPARE, CLOCK, MARK = range(8)
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


@inline
def _better(gd: GuardArrays, rank: np.ndarray, k: int, a: int, b: int) -> bool:
    if a < 0:
        return False
    if b < 0:
        return True
    if gd.value[k, a] != gd.value[k, b]:
        return gd.value[k, a] < gd.value[k, b]
    return rank[a] < rank[b]


@step
def _renew(gd: GuardArrays, rank: np.ndarray, k: int, n: int) -> None:
    """Node ``n``'s value changed: bring the tree's path above it up to date."""
    tree = gd.tree[k]
    i = (len(tree) // 2 + n) // 2
    while i >= 1:
        left, right = tree[2 * i], tree[2 * i + 1]
        tree[i] = left if _better(gd, rank, k, left, right) else right
        i //= 2


@step
def earliest(st: State, s: int, n: int) -> float:
    """When shape ``s`` fits node ``n`` if its running tasks leave at their end times."""
    c, sh, gd = st.c, st.sh, st.gd
    if not c.up[n]:
        return np.inf
    if fits(c, sh, s, n):
        return FITS_NOW
    count = 0
    u = st.run.head[n]
    while u >= 0:  # by end time (stable: ties in start order)
        end, i = st.run.end[u], count
        while i > 0 and gd.ends[i - 1] > end:
            gd.order[i], gd.ends[i] = gd.order[i - 1], gd.ends[i - 1]
            i -= 1
        gd.order[i], gd.ends[i] = u, end
        count += 1
        u = st.run.next[u]
    cpu, mem, width = c.cpu_left[n], c.mem_left[n], c.gpu_free.shape[1]
    for g in range(width):
        gd.free[g] = c.gpu_free[n, g]
    gpu_ok = sh.k[s] == 0 or sh.allowed[s, c.model[n]]
    for i in range(count):
        u = gd.order[i]
        vs, mask = st.m.shape_of[u], st.o.mask[u]
        cpu, mem = cpu + sh.cpu[vs], mem + sh.mem[vs]
        for g in range(width):
            if mask >> g & 1:
                gd.free[g] += sh.milli[vs]
        if cpu >= sh.cpu[s] and mem >= sh.mem[s] and gpu_ok:
            have = 0
            for g in range(width):
                if gd.free[g] >= sh.milli[s]:
                    have += 1
            if have >= sh.k[s]:
                return gd.ends[i]
    return np.inf


@step
def _build(st: State, k: int) -> None:
    """Fill slot ``k`` for its shape: which nodes could host it, their values, the tree."""
    gd, sh, c, m = st.gd, st.sh, st.c, st.m
    s, nodes = gd.slot_shape[k], len(c.cpu_left)
    tree = gd.tree[k]
    half = len(tree) // 2
    for n in range(nodes):
        could = m.node_cpu[n] >= sh.cpu[s] and m.node_mem[n] >= sh.mem[s]
        if sh.k[s] > 0:
            could = could and sh.allowed[s, c.model[n]] and c.num_gpu[n] >= sh.k[s]
        gd.could[k, n] = could
        gd.value[k, n] = earliest(st, s, n) if could else np.inf
        tree[half + n] = n
    for i in range(half + nodes, len(tree)):
        tree[i] = -1
    for i in range(half - 1, 0, -1):
        left, right = tree[2 * i], tree[2 * i + 1]
        tree[i] = left if _better(gd, m.rank, k, left, right) else right


@step
def _slot(st: State, s: int) -> int:
    """The slot of shape ``s``, brought up to date with every node changed since."""
    gd, pl = st.gd, st.pl
    changes, ring = pl.scal[0], pl.ring
    gd.ints[CLOCK] += 1
    k = -1
    for j in range(SLOTS):
        if gd.slot_shape[j] == s:
            k = j
    if k < 0:
        k = 0
        for j in range(1, SLOTS):
            if gd.slot_used[j] < gd.slot_used[k]:
                k = j
        gd.slot_shape[k] = s
        gd.slot_seen[k] = -1
    gd.slot_used[k] = gd.ints[CLOCK]
    behind = changes - gd.slot_seen[k]
    if gd.slot_seen[k] < 0 or behind > len(ring) or behind * 8 > len(gd.could[k]):
        _build(st, k)
    elif behind > 0:
        gd.ints[MARK] += 1
        mark = gd.ints[MARK]
        for change in range(gd.slot_seen[k], changes):
            n = ring[change % len(ring)]
            if gd.stamp[n] != mark:
                gd.stamp[n] = mark
                if gd.could[k, n]:
                    gd.value[k, n] = earliest(st, s, n)
                    _renew(gd, st.m.rank, k, n)
    gd.slot_seen[k] = changes
    return k


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
        k = _slot(st, m.shape_of[t])
        for j in range(held):  # the nodes reserved already are out of reach
            n = gd.held_node[j]
            gd.ends[j] = gd.value[k, n]
            gd.value[k, n] = np.inf
            _renew(gd, m.rank, k, n)
        best = gd.tree[k, 1]
        value = gd.value[k, best] if best >= 0 else np.inf
        for j in range(held - 1, -1, -1):
            n = gd.held_node[j]
            gd.value[k, n] = gd.ends[j]
            _renew(gd, m.rank, k, n)
        if value < np.inf:
            gd.held_node[held], gd.held_task[held], gd.held_value[held] = best, t, value
            held += 1
    gd.ints[HELD] = held
