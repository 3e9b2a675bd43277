"""The compiled placer: per-shape candidate trees over the nodes.

The compiled twin of :class:`~schedlab.scheduler.Placer`. For every task shape it keeps a
16-ary max-tree over the nodes' scores (int8: the built-in kernels score 0..100; -1 where
the shape does not fit), its leaves in the node order that breaks ties, so the best node is
the leftmost leaf of the largest score: choosing a node costs O(log N) and rescoring a
changed node mostly one cache line, whatever the cluster size, and a shape's tree takes a
byte a node (so that many shapes' trees stay in the CPU caches). A
ring of changed nodes says which nodes each shape must rescore when it is next placed (each
at most once); a shape far behind rebuilds its tree whole. The GPU a sharing task takes is
scored again for the chosen node only.

Policies come as score kernels (:mod:`schedlab.policies.kernels`), named by their number in
:mod:`schedlab.policies.kernels.table`. A policy whose normalise step draws random numbers
(random-fit) is selected by :mod:`schedlab.scheduler.kernels_drawn`.
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
from schedlab.jit import inline, step
from schedlab.policies.kernels import PolicyParams
from schedlab.policies.kernels.table import score

#: The leaf of a node where the shape does not fit (scores are 0..100).
NONE = -1


#: Children per node of the candidate trees.
FAN = 16
#: :func:`commit`'s signs (typed constants: numba compiles once per literal argument value).
PLACE, RELEASE = np.int64(-1), np.int64(1)


class PlacerArrays(NamedTuple):
    """Per shape a 16-ary max-tree of scores (see :data:`NONE`), stored level by level: the
    leaves (one per node, node ``n`` at ``pos[n]``) from 0, then each level's maxima of 16
    entries of the level below, up to the root, alone on the last level; ``levels`` holds
    each level's start."""

    tree: npt.NDArray[np.int8]  # S x (total size of the levels)
    levels: IntArray
    position: IntArray  # S: changes seen when the shape was last refreshed (-1: never)
    ring: IntArray  # 2N + 1: changed nodes, by change number modulo its length
    stamp: IntArray  # N: marks a node as rescored in the current refresh
    todo: IntArray  # N: the nodes to rescore in the current refresh
    pos: npt.NDArray[np.int32]  # N: the node's leaf, its place in the node order
    node_at: npt.NDArray[np.int32]  # N: the node of each leaf
    scal: IntArray  # [changes so far, current stamp]
    kind_mark: IntArray  # per node kind: the stamp of the refresh that scored the kind,
    kind_score: IntArray  # and its score then (-1: does not fit)


def placer_arrays(shapes: int, tie: IntArray, kinds: int) -> PlacerArrays:
    """For the nodes of ``tie``, a permutation of them: larger is earlier in the node order."""
    n = len(tie)
    pos = (n - 1) - np.asarray(tie, dtype=np.int64)
    sizes, size = [], max(n, 1)
    while True:  # each level padded to whole groups of FAN, the root alone
        sizes.append(size if size == 1 else -(-size // FAN) * FAN)
        if size == 1:
            break
        size = -(-size // FAN)
    levels = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return PlacerArrays(
        tree=np.empty((shapes, int(levels[-1])), dtype=np.int8),  # written whole by a first refresh
        levels=levels,
        position=np.full(shapes, -1, dtype=np.int64),
        ring=np.zeros(2 * n + 1, dtype=np.int64),
        stamp=np.zeros(n, dtype=np.int64),
        todo=np.zeros(n, dtype=np.int64),
        pos=pos.astype(np.int32),  # compact: read at random
        node_at=np.argsort(pos).astype(np.int32),
        scal=np.array([0, 0], dtype=np.int64),
        kind_mark=np.full(max(kinds, 1), -1, dtype=np.int64),
        kind_score=np.zeros(max(kinds, 1), dtype=np.int64),
    )


@inline
def _leaf(kind, c, sh, f, p, s, n):
    """The score of node ``n`` for shape ``s`` (:data:`NONE`: it does not fit)."""
    if not fits(c, sh, s, n):
        return NONE
    return score(kind, c, sh, f, p, s, n)[0]


@inline
def _pristine(kind, c, sh, f, p, pl, s, n):
    """:func:`_leaf` for a node never changed: like every unchanged node of its kind, whose
    score is computed once per refresh."""
    k = c.kind[n]
    if pl.kind_mark[k] != pl.scal[1]:
        pl.kind_mark[k] = pl.scal[1]
        pl.kind_score[k] = _leaf(kind, c, sh, f, p, s, n)
    return pl.kind_score[k]


@inline
def _group_max(tree: npt.NDArray[np.int8], first: int) -> int:
    top = tree[first]
    for j in range(1, FAN):
        top = max(top, tree[first + j])
    return top


@inline
def leaf(pl: PlacerArrays, s: int, n: int) -> int:
    """Node ``n``'s score for shape ``s`` as the tree holds it."""
    return pl.tree[s, pl.pos[n]]


@inline
def better(pl: PlacerArrays, s: int, a: int, b: int) -> bool:
    """Whether node ``a`` comes before node ``b`` for shape ``s``: a larger score, or the
    same and earlier in the node order."""
    tree = pl.tree[s]
    x, y = tree[pl.pos[a]], tree[pl.pos[b]]
    return x > y or (x == y and pl.pos[a] < pl.pos[b])


@inline
def set_key(pl: PlacerArrays, s: int, n: int, key: int) -> None:
    """Set node ``n``'s score and update the maxima above it (up to where they stay)."""
    tree, levels = pl.tree[s], pl.levels
    at = pl.pos[n]
    if tree[at] == key:
        return
    tree[at] = key
    g = at // FAN
    for level in range(1, len(levels) - 1):
        top = _group_max(tree, levels[level - 1] + g * FAN)
        if tree[levels[level] + g] == top:
            return
        tree[levels[level] + g] = top
        g //= FAN


@inline
def _rebuild(pl: PlacerArrays, s: int) -> None:
    """Recompute every maximum from the leaves (padding groups hold NONE)."""
    tree, levels = pl.tree[s], pl.levels
    for level in range(1, len(levels) - 1):
        below, here = levels[level - 1], levels[level]
        groups = (here - below) // FAN if here - below >= FAN else 1
        for g in range(levels[level + 1] - here):
            tree[here + g] = _group_max(tree, below + g * FAN) if g < groups else NONE


@step
def refresh(kind, c, sh, f, p, pl, s):
    """Bring shape ``s``'s tree up to date with every change since it was last refreshed.

    A shape seen for the first time, or so far behind that the ring no longer holds its
    changes, scores every node (the nodes never changed, once per kind). Otherwise it
    rescores each changed node once: one by one up the tree when they are few, or all
    leaves first and the tree rebuilt once when they are many (then in node order, so that
    memory is read in order).
    """
    changes = pl.scal[0]
    behind = changes - pl.position[s]
    if behind == 0:
        return
    n_nodes, ring = len(pl.pos), pl.ring
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
    tree = pl.tree[s]
    rebuild = every or count * 8 >= n_nodes
    if every:
        pl.scal[1] += 1
    for i in range(count):
        n = i if every else pl.todo[i]
        pristine = every and c.pristine[n]
        key = _pristine(kind, c, sh, f, p, pl, s, n) if pristine else _leaf(kind, c, sh, f, p, s, n)
        if rebuild:
            tree[pl.pos[n]] = key
        else:
            set_key(pl, s, n, key)
    if rebuild:
        if every:
            for n in range(n_nodes, pl.levels[1]):
                tree[n] = NONE
        _rebuild(pl, s)
    pl.position[s] = changes


@inline
def best_node(pl: PlacerArrays, s: int) -> int:
    """The node of the largest score for shape ``s``, the earliest in the node order among
    equals (-1 when none fits): down from the root, into the leftmost child holding the
    maximum."""
    tree, levels = pl.tree[s], pl.levels
    top = tree[levels[len(levels) - 2]]
    if top == NONE:
        return -1
    g = 0
    for level in range(len(levels) - 2, 0, -1):
        first = levels[level - 1] + g * FAN
        j = 0
        while tree[first + j] != top:
            j += 1
        g = g * FAN + j
    return pl.node_at[g]


@inline
def gpu_mask(kind, c, sh, f, p, s, n):
    """GPUs shape ``s`` takes on node ``n`` (where it fits): for a sharing task the GPU its
    score chose, else the lowest free ones."""
    if sh.cls[s] < 0:
        return 0
    if sh.cls[s] == 0:
        return 1 << score(kind, c, sh, f, p, s, n)[1]
    return whole_gpus_mask(c, n, sh.k[s])


@step
def select(kind, c, sh, f, p, pl, s):
    """Node and GPU mask for shape ``s`` (node -1 when nothing fits); nothing is placed."""
    refresh(kind, c, sh, f, p, pl, s)
    n = best_node(pl, s)
    if n < 0:
        return -1, 0
    return n, gpu_mask(kind, c, sh, f, p, s, n)


@step
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
