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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import CapacityError, ClusterState
from schedlab.cluster.view import ClusterView
from schedlab.errors import SchedlabError
from schedlab.policies.base import SCORE_LIMIT, PlacementPolicy
from schedlab.trace.tables import BoolArray, IntArray

NONE = np.iinfo(np.int64).min
#: Nodes asked of an admit step at first (then 4x more each time none is admitted).
ADMIT_BATCH = 16
#: The most GPUs per node (a node list's limit, and the bits of a GPU mask).
MAX_GPUS = 64


def signed_mask(gpus: tuple[int, ...]) -> int:
    """The bit mask of ``gpus`` as a signed 64-bit integer (GPU 63 is the sign bit)."""
    mask = sum(1 << g for g in gpus)
    return mask - (1 << MAX_GPUS) if mask >> (MAX_GPUS - 1) else mask


@dataclass(frozen=True)
class Placement:
    """Where a task went: the node and the GPUs it holds (empty for CPU-only tasks)."""

    node: int
    gpus: tuple[int, ...]

    @property
    def gpu_mask(self) -> int:
        """The GPUs as a bit mask, a signed 64-bit integer (as the tables store it)."""
        return signed_mask(self.gpus)


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
        self._admits = type(policy).admit is not PlacementPolicy.admit
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
                scores = self._ask("score_nodes", self.policy.score_nodes, shape, fit)
                cache.key[fit] = self._checked(scores, fit) * self._n
                cache.key[fit] += self.tie[fit]
        return cache

    def _ask(self, step: str, method: Callable[..., Any], *args: Any) -> Any:
        """Call one step of the policy; whatever it raises becomes a :class:`PolicyError`."""
        try:
            return method(self.view, *args)
        except SchedlabError:
            raise
        except Exception as err:
            raise PolicyError(
                f"placement policy {self.policy.name!r} raised {type(err).__name__} in {step}: {err}"
            ) from err

    def _checked(self, scores: Any, nodes: IntArray) -> IntArray:
        """The scores of ``nodes`` as int64, if they keep the contract."""
        name = self.policy.name
        if not isinstance(scores, np.ndarray) or scores.shape != nodes.shape:
            got = f"shape {scores.shape}" if isinstance(scores, np.ndarray) else type(scores).__name__
            raise PolicyError(
                f"placement policy {name!r} must return one score per node: {len(nodes)} nodes, got {got}"
            )
        if scores.dtype.kind not in "iu":
            what = (
                "non-finite" if scores.dtype.kind == "f" and not np.isfinite(scores).all() else scores.dtype
            )
            raise PolicyError(f"placement policy {name!r} must return integer scores, got {what} scores")
        if len(scores) and (int(scores.max()) > SCORE_LIMIT or int(scores.min()) < -SCORE_LIMIT):
            worst = int(scores.max()) if int(scores.max()) > SCORE_LIMIT else int(scores.min())
            raise PolicyError(f"placement policy {name!r} returned score {worst}, beyond +/- 2**40")
        return scores.astype(np.int64, copy=False)

    def select(self, shape: Shape, exclude: IntArray | None = None) -> Placement | None:
        """Choose a node and GPUs for ``shape`` without placing it; None when nothing fits.
        No node of ``exclude`` is chosen."""
        cache = self._refresh(shape)
        key = cache.key
        if exclude is not None and len(exclude):
            key = key.copy()
            key[exclude] = NONE
        best = int(key.argmax())
        if int(key[best]) == NONE:
            return None
        nodes = np.flatnonzero(key != NONE) if self._admits or self._normalizes else None
        if self._admits and not self._normalizes:
            assert nodes is not None
            found = self._best_admitted(shape, nodes[np.argsort(-key[nodes], kind="stable")])
            if found < 0:
                return None
            best = found
        elif self._admits:
            assert nodes is not None
            nodes = nodes[self._admitted(shape, nodes)]
            if not len(nodes):
                return None
            best = int(nodes[int(key[nodes].argmax())])
        if self._normalizes:
            assert nodes is not None
            raw = (key[nodes] - self.tie[nodes]) // self._n
            scores = self._checked(self._ask("normalize", self.policy.normalize, shape, nodes, raw), nodes)
            best = int(nodes[int((scores * self._n + self.tie[nodes]).argmax())])
        return Placement(best, self.choose(shape, best))

    def _admitted(self, shape: Shape, nodes: IntArray) -> BoolArray:
        admitted = np.asarray(self._ask("admit", self.policy.admit, shape, nodes), dtype=bool)
        if admitted.shape != nodes.shape:
            raise PolicyError(f"placement policy {self.policy.name!r} must admit or refuse each node")
        return admitted

    def _best_admitted(self, shape: Shape, ranked: IntArray) -> int:
        """The first node of ``ranked`` (best key first) that the policy admits, or -1; asked
        in growing batches, since admit decides each node on its own and the best admitted
        node is usually among the first."""
        start, size = 0, ADMIT_BATCH
        while start < len(ranked):
            batch = ranked[start : start + size]
            admitted = self._admitted(shape, batch)
            if admitted.any():
                return int(batch[int(np.argmax(admitted))])
            start, size = start + size, size * 4
        return -1

    def keys(self, shape: Shape, nodes: IntArray) -> IntArray:
        """The keys :meth:`select` compares, for ``nodes`` only: score x nodes + tie order
        (after the policy's admit and normalise steps over ``nodes``), or ``NONE`` where
        ``shape`` does not fit or the policy refuses. Over every node that fits, the largest
        key is the node :meth:`select` picks (the scheduler extender ranks with this)."""
        cache = self._refresh(shape)
        keys: IntArray = cache.key[nodes].copy()
        live = keys != NONE
        if self._admits and live.any():
            admitted = self._admitted(shape, nodes[live])
            refused = np.flatnonzero(live)[~admitted]
            keys[refused] = NONE
            live[refused] = False
        if self._normalizes and live.any():
            fit = nodes[live]
            raw = (keys[live] - self.tie[fit]) // self._n
            scores = self._checked(self._ask("normalize", self.policy.normalize, shape, fit, raw), fit)
            keys[live] = scores * self._n + self.tie[fit]
        return keys

    def choose(self, shape: Shape, node: int) -> tuple[int, ...]:
        """The policy's GPUs for ``shape`` on ``node`` (checked to fit), without placing."""
        chosen = self._ask("choose_gpus", self.policy.choose_gpus, shape, node)
        try:
            gpus = tuple(int(g) for g in chosen)
        except (TypeError, ValueError):
            raise PolicyError(
                f"placement policy {self.policy.name!r} must return GPU indices, got {chosen!r}"
            ) from None
        return gpus

    def admits(self, shape: Shape, node: int) -> bool:
        """Whether the policy's ``admit`` step takes ``node`` for ``shape`` now (True for a
        policy without one)."""
        if not self._admits:
            return True
        nodes = np.array([node], dtype=np.int64)
        return bool(np.asarray(self._ask("admit", self.policy.admit, shape, nodes), dtype=bool)[0])

    def place(self, shape: Shape, exclude: IntArray | None = None) -> Placement | None:
        """Select and commit a placement for ``shape`` (on no node of ``exclude``); None (and
        no change) when nothing fits."""
        placement = self.select(shape, exclude)
        if placement is not None:
            try:
                self.cluster.place(placement.node, shape, placement.gpus)
            except CapacityError as err:
                raise PolicyError(
                    f"placement policy {self.policy.name!r} chose an impossible placement: {err}"
                ) from None
        return placement

    def release(self, shape: Shape, placement: Placement) -> None:
        """Free what a task of ``shape`` holds at ``placement``."""
        self.cluster.release(placement.node, shape, placement.gpus)
