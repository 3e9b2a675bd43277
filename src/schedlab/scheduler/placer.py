"""The placement framework: filter, score (cached), break ties, commit.

For each task shape the placer keeps, per node, a selection key computed at the node's last
seen :attr:`~schedlab.cluster.ClusterState.version` (the cluster's change log says which
nodes changed since a shape was last refreshed): ``score * N + tie`` for a feasible node
(``tie`` is larger for nodes earlier in the node order), the minimum int64 otherwise. A step
recomputes only the nodes that changed since the shape was last placed, then takes one
argmax. Placing and releasing both go through the placer's cluster state, so caches stay
valid as tasks come and go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy
from schedlab.trace.tables import IntArray

NONE = np.iinfo(np.int64).min
HIGH = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Placement:
    """Where a task went: the node and the GPUs it holds (empty for CPU-only tasks)."""

    node: int
    gpus: tuple[int, ...]

    @property
    def gpu_mask(self) -> int:
        return sum(1 << g for g in self.gpus)


class _ShapeCache:
    __slots__ = ("gpu", "key", "low", "position", "seen")

    def __init__(self, n: int) -> None:
        self.position = -1  # length of the cluster's change log when last refreshed
        self.seen: IntArray = np.full(n, -1, dtype=np.int64)
        self.key: IntArray = np.full(n, NONE, dtype=np.int64)
        self.low: IntArray = np.full(n, HIGH, dtype=np.int64)  # raw score, for rescaling policies
        self.gpu: IntArray = np.full(n, -1, dtype=np.int64)


class Placer:
    """Places tasks on a :class:`ClusterState` with one :class:`PlacementPolicy`.

    ``node_order`` is the tie order: a permutation of node indices, earliest wins among the
    nodes with the top score.
    """

    def __init__(self, cluster: ClusterState, policy: PlacementPolicy, node_order: IntArray) -> None:
        n = len(cluster)
        if sorted(node_order.tolist()) != list(range(n)):
            raise ValueError("node_order must be a permutation of the node indices")
        self.cluster = cluster
        self.policy = policy
        rank = np.empty(n, dtype=np.int64)
        rank[node_order] = np.arange(n)
        self._tie = (n - 1) - rank  # larger is earlier in the order
        self._n = n
        self._caches: dict[Shape, _ShapeCache] = {}

    def _refresh(self, shape: Shape) -> _ShapeCache:
        cache = self._caches.get(shape)
        if cache is None:
            cache = self._caches[shape] = _ShapeCache(self._n)
        version = self.cluster.version
        changes = len(self.cluster.changes)
        if cache.position == changes:
            return cache
        if cache.position < 0 or changes - cache.position > self._n // 8:
            dirty = np.flatnonzero(cache.seen != version)
        else:
            dirty = self.cluster.changed_since(cache.position)
        cache.position = changes
        if len(dirty):
            cache.seen[dirty] = version[dirty]
            ok = self.cluster.feasible(shape, dirty)
            cache.key[dirty] = NONE
            fit = dirty[ok]
            if not len(fit):
                return cache
            if not self.policy.node_local:
                cache.key[fit] = 0  # feasible; scored at selection time
                return cache
            scores, gpus = self.policy.score(self.cluster, shape, fit)
            cache.key[fit] = scores * self._n + self._tie[fit]
            cache.gpu[fit] = gpus
            if self.policy.rescales:
                cache.low[dirty] = HIGH
                cache.low[fit] = scores
        return cache

    def select(self, shape: Shape) -> Placement | None:
        """Choose a node and GPUs for ``shape`` without placing it; None when nothing fits."""
        cache = self._refresh(shape)
        best = int(cache.key.argmax())
        top = int(cache.key[best])
        if top == NONE:
            return None
        if not self.policy.node_local:
            nodes = np.flatnonzero(cache.key != NONE)
            scores, gpus = self.policy.score(self.cluster, shape, nodes)
            i = int((self.policy.normalize(scores) * self._n + self._tie[nodes]).argmax())
            node, gpu = int(nodes[i]), int(gpus[i])
        elif self.policy.rescales and not self.policy.order_preserved(int(cache.low.min()), top // self._n):
            nodes = np.flatnonzero(cache.key != NONE)
            scores = (cache.key[nodes] - self._tie[nodes]) // self._n
            i = int((self.policy.normalize(scores) * self._n + self._tie[nodes]).argmax())
            node = int(nodes[i])
            gpu = int(cache.gpu[node])
        else:
            node, gpu = best, int(cache.gpu[best])
        chosen = self.cluster.gpus_for(node, shape, gpu)
        return Placement(node, tuple(int(g) for g in chosen))

    def place(self, shape: Shape) -> Placement | None:
        """Select and commit a placement for ``shape``; None (and no change) when nothing fits."""
        placement = self.select(shape)
        if placement is not None:
            self.cluster.place(placement.node, shape, placement.gpus, check=False)
        return placement

    def release(self, shape: Shape, placement: Placement) -> None:
        """Free what a task of ``shape`` holds at ``placement``."""
        self.cluster.release(placement.node, shape, placement.gpus)
