"""The placement framework: filter, score (cached), normalise, break ties, choose GPUs, commit.

For each task shape the placer keeps, per node, a selection key computed at the node's last
seen :attr:`~schedlab.cluster.ClusterState.version` (the cluster's change log says which
nodes changed since a shape was last refreshed): ``score * N + tie`` for a feasible node
(``tie`` is larger for nodes earlier in the node order), the minimum int64 otherwise. A step
rescores only the nodes that changed since the shape was last placed. A policy without a
normalise step then takes one argmax; one with it is asked to rescale the scores of every
feasible node. The policy's GPU choice is checked before it is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import CapacityError, ClusterState
from schedlab.cluster.view import ClusterView
from schedlab.errors import SchedlabError
from schedlab.policies.base import SCORE_LIMIT, PlacementPolicy
from schedlab.trace.tables import IntArray

NONE = np.iinfo(np.int64).min
#: The largest cluster the compiled placer takes (its keys are int32); larger ones run here.
MAX_COMPILED_NODES = (2**31 - 1) // (101 * 16)


@dataclass(frozen=True)
class Placement:
    """Where a task went: the node and the GPUs it holds (empty for CPU-only tasks)."""

    node: int
    gpus: tuple[int, ...]

    @property
    def gpu_mask(self) -> int:
        return sum(1 << g for g in self.gpus)


class PolicyError(SchedlabError):
    """A placement policy broke its contract (bad scores or an impossible GPU choice)."""


class _ShapeCache:
    __slots__ = ("key", "position", "seen")

    def __init__(self, n: int) -> None:
        self.position = -1  # length of the cluster's change log when last refreshed
        self.seen: IntArray = np.full(n, -1, dtype=np.int64)
        self.key: IntArray = np.full(n, NONE, dtype=np.int64)


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
        self.view = ClusterView(cluster)
        self.policy = policy
        self._normalizes = type(policy).normalize is not PlacementPolicy.normalize
        rank = np.empty(n, dtype=np.int64)
        rank[node_order] = np.arange(n)
        self.tie = (n - 1) - rank  # larger is earlier in the order
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
            cache.key[dirty] = NONE
            fit = dirty[self.cluster.feasible(shape, dirty)]
            if len(fit):
                cache.key[fit] = self._checked(self.policy.score_nodes(self.view, shape, fit), fit) * self._n
                cache.key[fit] += self.tie[fit]
        return cache

    def _checked(self, scores: IntArray, nodes: IntArray) -> IntArray:
        if not isinstance(scores, np.ndarray) or scores.shape != nodes.shape or scores.dtype.kind not in "iu":
            raise PolicyError(f"placement policy {self.policy.name!r} must return one integer score per node")
        if len(scores) and (int(scores.max()) > SCORE_LIMIT or int(scores.min()) < -SCORE_LIMIT):
            raise PolicyError(f"placement policy {self.policy.name!r} returned a score beyond +/- 2**40")
        return scores.astype(np.int64, copy=False)

    def select(self, shape: Shape) -> Placement | None:
        """Choose a node and GPUs for ``shape`` without placing it; None when nothing fits."""
        cache = self._refresh(shape)
        best = int(cache.key.argmax())
        if int(cache.key[best]) == NONE:
            return None
        if self._normalizes:
            nodes = np.flatnonzero(cache.key != NONE)
            raw = (cache.key[nodes] - self.tie[nodes]) // self._n
            scores = self._checked(self.policy.normalize(self.view, shape, nodes, raw), nodes)
            best = int(nodes[int((scores * self._n + self.tie[nodes]).argmax())])
        gpus = tuple(int(g) for g in self.policy.choose_gpus(self.view, shape, best))
        return Placement(best, gpus)

    def place(self, shape: Shape) -> Placement | None:
        """Select and commit a placement for ``shape``; None (and no change) when nothing fits."""
        placement = self.select(shape)
        if placement is not None:
            try:
                self.cluster.place(placement.node, shape, placement.gpus)
            except CapacityError as err:
                raise PolicyError(
                    f"placement policy {self.policy.name!r} chose impossible GPUs: {err}"
                ) from None
        return placement

    def release(self, shape: Shape, placement: Placement) -> None:
        """Free what a task of ``shape`` holds at ``placement``."""
        self.cluster.release(placement.node, shape, placement.gpus)
