"""The compiled placer: per-shape candidate trees over the nodes.

The compiled twin of :class:`~schedlab.scheduler.Placer`. For every task shape it keeps a
max-tree over the nodes' selection keys (``score * N + tie``, the minimum int32 where the
shape does not fit), so choosing a node costs O(1) and rescoring a changed node O(log N),
whatever the cluster size. A ring of changed nodes says which nodes each shape must rescore
when it is next placed (each at most once); a shape far behind rebuilds its tree whole.

Policies come as score kernels (:mod:`schedlab.policies.kernels`), named by their number in
:mod:`schedlab.policies.kernels.table`. A policy whose normalise step draws random numbers
(random-fit) is selected by :func:`select_drawn`, which draws what the reference draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import (
    ClusterArrays,
    FragArrays,
    ShapeArraysK,
    apply,
    fits,
    whole_gpus_mask,
)
from schedlab.jit import inline, kernel
from schedlab.policies.kernels import PolicyParams
from schedlab.policies.kernels.random_fit import draw_int40, draw_uniform
from schedlab.policies.kernels.table import score
from schedlab.scheduler.placer import MAX_COMPILED_NODES

#: The key of a node where the shape does not fit. Keys are int32, ``(score * N + tie) * 16``
#: plus one more than the GPU a sharing task would take: the built-in kernels score 0..100,
#: so clusters of up to 1.3 million nodes fit, and small trees stay in cache.
NONE = np.iinfo(np.int32).min


class PlacerArrays(NamedTuple):
    """Per shape a max-tree of keys (leaves at ``P + node``; see :data:`NONE`)."""

    tree: npt.NDArray[np.int32]  # S x 2P
    position: IntArray  # S: changes seen when the shape was last refreshed (-1: never)
    ring: IntArray  # 2N + 1: changed nodes, by change number modulo its length
    stamp: IntArray  # N: marks a node as rescored in the current refresh
    todo: IntArray  # N: the nodes to rescore in the current refresh
    tie: npt.NDArray[np.int32]  # N: larger is earlier in the node order
    scal: IntArray  # [changes so far, current stamp, P]


def placer_arrays(shapes: int, tie: IntArray) -> PlacerArrays:
    n = len(tie)
    if n > MAX_COMPILED_NODES:
        raise ValueError(f"the compiled placer handles at most {MAX_COMPILED_NODES} nodes")
    p = 1
    while p < max(n, 1):
        p *= 2
    return PlacerArrays(
        tree=np.empty((shapes, 2 * p), dtype=np.int32),  # written whole by a shape's first refresh
        position=np.full(shapes, -1, dtype=np.int64),
        ring=np.zeros(2 * n + 1, dtype=np.int64),
        stamp=np.zeros(n, dtype=np.int64),
        todo=np.zeros(n, dtype=np.int64),
        tie=np.ascontiguousarray(tie, dtype=np.int32),  # compact: read at random
        scal=np.array([0, 0, p], dtype=np.int64),
    )


@inline
def _leaf(kind, c, sh, f, p, pl, s, n):
    """The key of node ``n`` for shape ``s``, with the GPU a sharing task would take."""
    if not fits(c, sh, s, n):
        return NONE
    value, gpu = score(kind, c, sh, f, p, s, n)
    return ((value * len(pl.tie) + pl.tie[n]) << 4) | (gpu + 1)


@inline
def _set(pl: PlacerArrays, s: int, n: int, key: int) -> None:
    tree = pl.tree[s]
    i = pl.scal[2] + n
    if tree[i] == key:
        return
    tree[i] = key
    i >>= 1
    while i >= 1:
        top = max(tree[2 * i], tree[2 * i + 1])
        if tree[i] == top:
            return
        tree[i] = top
        i >>= 1


@kernel
def refresh(kind, c, sh, f, p, pl, s):
    """Bring shape ``s``'s tree up to date with every change since it was last refreshed.

    A shape seen for the first time, or so far behind that the ring no longer holds its
    changes, scores every node. Otherwise it rescores each changed node once: one by one up
    the tree when they are few, or all leaves first and the tree rebuilt once when they are
    many (then in node order, so that memory is read in order).
    """
    changes = pl.scal[0]
    behind = changes - pl.position[s]
    if behind == 0:
        return
    n_nodes, ring = len(pl.tie), pl.ring
    every = pl.position[s] < 0 or behind > len(ring)
    count = n_nodes
    if not every:  # the changed nodes, each once
        pl.scal[1] += 1
        mark, count = pl.scal[1], 0
        for change in range(pl.position[s], changes):
            n = ring[change % len(ring)]
            if pl.stamp[n] != mark:
                pl.stamp[n] = mark
                pl.todo[count] = n
                count += 1
        if count * 16 >= n_nodes:
            count = 0
            for n in range(n_nodes):
                if pl.stamp[n] == mark:
                    pl.todo[count] = n
                    count += 1
    tree, leaves = pl.tree[s], pl.scal[2]
    rebuild = every or count * 8 >= n_nodes
    for i in range(count):
        n = i if every else pl.todo[i]
        key = _leaf(kind, c, sh, f, p, pl, s, n)
        if rebuild:
            tree[leaves + n] = key
        else:
            _set(pl, s, n, key)
    if rebuild:
        if every:
            for i in range(leaves + n_nodes, 2 * leaves):
                tree[i] = NONE
        for i in range(leaves - 1, 0, -1):
            tree[i] = max(tree[2 * i], tree[2 * i + 1])
    pl.position[s] = changes


@inline
def best_node(pl: PlacerArrays, s: int) -> int:
    """The node with the largest key for shape ``s`` (-1 when none fits)."""
    tree = pl.tree[s]
    if tree[1] == NONE:
        return -1
    i, leaves = 1, pl.scal[2]
    while i < leaves:
        i = 2 * i if tree[2 * i] == tree[i] else 2 * i + 1
    return i - leaves


@inline
def gpu_mask(c: ClusterArrays, sh: ShapeArraysK, pl: PlacerArrays, s: int, n: int) -> int:
    """GPUs shape ``s`` takes on node ``n``: the stored sharing GPU, or the lowest free ones."""
    if sh.cls[s] < 0:
        return 0
    if sh.cls[s] == 0:
        return 1 << ((pl.tree[s, pl.scal[2] + n] & 15) - 1)
    return whole_gpus_mask(c, n, sh.k[s])


@kernel
def select(kind, c, sh, f, p, pl, s):
    """Node and GPU mask for shape ``s`` (node -1 when nothing fits); nothing is placed."""
    refresh(kind, c, sh, f, p, pl, s)
    n = best_node(pl, s)
    if n < 0:
        return -1, 0
    return n, gpu_mask(c, sh, pl, s, n)


@kernel
def select_drawn(kind, c, sh, f, p, pl, rng, s):
    """Random-fit's selection, drawing (from the PCG64 state ``rng``) what the reference
    draws: one random integer in [0, 2**40) per
    feasible node (ascending node index), then one uniform number per GPU of each. The
    largest integer wins (ties: the node order); a sharing task takes the chosen node's
    fitting GPU with the largest number."""
    refresh(kind, c, sh, f, p, pl, s)
    tree, leaves, n_nodes = pl.tree[s], pl.scal[2], len(pl.tie)
    best, best_key, count = -1, np.iinfo(np.int64).min, 0
    for n in range(n_nodes):
        if tree[leaves + n] != NONE:
            key = draw_int40(rng) * n_nodes + pl.tie[n]
            count += 1
            if key > best_key:
                best, best_key = n, key
    if best < 0:
        return -1, 0
    width = c.gpu_free.shape[1]
    choice, top = 0, -2.0
    for n in range(n_nodes):
        if tree[leaves + n] == NONE:
            continue
        for g in range(width):
            value = draw_uniform(rng)
            if n == best and sh.cls[s] == 0:
                value = value if c.gpu_free[n, g] >= sh.milli[s] else -1.0
                if value > top:
                    choice, top = g, value
    if sh.cls[s] != 0:
        return best, gpu_mask(c, sh, pl, s, best)
    return best, 1 << choice


@kernel
def commit(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, pl: PlacerArrays, s: int, n: int, mask: int, sign: int
) -> None:
    """Place (``sign = -1``) or release (``+1``) shape ``s`` on node ``n`` and log the change."""
    apply(c, sh, f, s, n, mask, sign)
    ring = pl.ring
    ring[pl.scal[0] % len(ring)] = n
    pl.scal[0] += 1


def unused_params() -> PolicyParams:
    """Parameters for kernels that need none."""
    return PolicyParams(np.ones(2, dtype=np.int64), np.zeros(1, dtype=np.int64))
