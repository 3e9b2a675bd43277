"""Per shape, each node's earliest start for the starvation guard: where the shape fits now
(:data:`FITS_NOW`), else the end time of the running task whose departure makes it fit (the
running tasks leaving at their end times), else infinity. It depends only on the node's
state, so it is kept per shape in a few slots: the value of every node and a segment tree of
the node with the least ``(value, rank)``, brought up to date from the placer's log of
changed nodes. The mirror of :mod:`schedlab.sim.reservation`'s shadow times.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.kernels import fits
from schedlab.jit import inline, step
from schedlab.sim.kernels import slots
from schedlab.sim.kernels.state import GuardArrays, State

#: Slots of per-shape earliest starts (at least the distinct shapes of the guard's LIMIT tasks).
SLOTS = 8
#: The earliest start where a shape fits now: before any time.
FITS_NOW = -np.inf
# Where the slot clock and the stamp mark are in ``GuardArrays.ints`` (after the guard's six).
CLOCK, MARK = 6, 7


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
def renew(gd: GuardArrays, rank: np.ndarray, k: int, n: int) -> None:
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
def slot(st: State, s: int) -> int:
    """The slot of shape ``s``, brought up to date with every node changed since."""
    gd, pl = st.gd, st.pl
    changes, ring = pl.scal[0], pl.ring
    gd.ints[CLOCK] += 1
    k = slots.take(gd.slot_shape, gd.slot_used, gd.slot_seen, gd.ints[CLOCK], s)
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
                    renew(gd, st.m.rank, k, n)
    gd.slot_seen[k] = changes
    return k
