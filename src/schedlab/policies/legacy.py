"""The adapter that runs round-1 placement policies under the current protocol.

A round-1 policy implements ``score(cluster, shape, nodes)`` and returns its scores and,
for a sharing shape, the GPU each node would give the task; it may set ``node_local =
False`` (score every feasible node at every decision) and ``rescales = True`` with
``normalize(scores)``. The adapter maps these onto ``score_nodes``, ``normalize`` and
``choose_gpus``; the policy itself is handed the read-only cluster view.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import PlacementPolicy, default_gpus
from schedlab.trace.tables import IntArray


def is_legacy(policy: PlacementPolicy) -> bool:
    """Whether ``policy`` follows the round-1 protocol (``score`` instead of ``score_nodes``)."""
    cls = type(policy)
    return hasattr(cls, "score") and cls.score_nodes is PlacementPolicy.score_nodes


def adapt(policy: PlacementPolicy) -> PlacementPolicy:
    """``policy`` itself, or an adapter for a round-1 policy, named as the policy (so that
    errors and warnings name the user's policy, not the adapter)."""
    if not is_legacy(policy):
        return policy
    named = type(LegacyAdapter.__name__, (LegacyAdapter,), {"name": policy.name})
    adapted: PlacementPolicy = named(policy)
    return adapted


class LegacyAdapter(PlacementPolicy):
    """A round-1 policy behind the three-step protocol (:func:`adapt` names it)."""

    name = "round-1 adapter"

    def __init__(self, legacy: PlacementPolicy) -> None:
        super().__init__(legacy.context)
        self.legacy = legacy
        self._node_local = bool(getattr(legacy, "node_local", True))
        self._rescales = bool(getattr(legacy, "rescales", False))
        self._gpus: dict[Shape, IntArray] = {}

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        scores, gpus = self.legacy.score(view, shape, nodes)  # type: ignore[attr-defined]
        remembered = self._gpus.setdefault(shape, np.full(len(view), -1, dtype=np.int64))
        remembered[nodes] = gpus
        return np.asarray(scores)

    def normalize(self, view: ClusterView, shape: Shape, nodes: IntArray, scores: IntArray) -> IntArray:
        if not self._node_local:
            scores = self.score_nodes(view, shape, nodes)
        if self._rescales:
            rescaled: IntArray = self.legacy.normalize(scores)  # type: ignore[call-arg,arg-type]
            return rescaled
        return scores

    def choose_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        if shape.is_sharing:
            return self._gpus[shape][node : node + 1].copy()
        return default_gpus(view, shape, node)
