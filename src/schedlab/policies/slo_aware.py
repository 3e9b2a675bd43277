"""``slo-aware``: FGD that never breaks a service's latency target.

It admits a node only if one of its GPUs can take the task without any inference service
on that GPU (the task's own included) exceeding its SLO at its predicted p99 latency, as the
run's interference model predicts (:class:`~schedlab.interference.colocation.Colocation`);
among the admitted nodes it packs as FGD does, and it puts a sharing task on the safe GPU
FGD would pick (else the safe GPU with the least room left). Without an interference model
in the run it is FGD.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, register
from schedlab.policies.fgd import FragmentationGradientDescent
from schedlab.trace.tables import BoolArray, IntArray


@register
class SloAware(FragmentationGradientDescent):
    """FGD restricted to placements that keep every co-located service within its SLO."""

    name = "slo-aware"

    def admit(self, view: ClusterView, shape: Shape, nodes: IntArray) -> BoolArray:
        col = view.colocation
        if col is None or not shape.is_sharing or col.current < 0 or not col.profile[col.current]:
            return np.ones(len(nodes), dtype=bool)
        # A GPU nobody shares is safe when the task alone is; only occupied nodes need a look.
        admitted = np.full(len(nodes), col.safe(-1, -1, col.current))
        for i in np.flatnonzero(np.isin(nodes, col.occupied())).tolist():
            admitted[i] = bool(self._safe_gpus(view, shape, int(nodes[i])).size)
        return admitted

    def choose_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        gpus = super().choose_gpus(view, shape, node)
        col = view.colocation
        if col is None or not shape.is_sharing or col.current < 0 or not col.profile[col.current]:
            return gpus
        safe = self._safe_gpus(view, shape, node)
        if len(gpus) and int(gpus[0]) in safe.tolist():
            return gpus
        free = view.gpu_free[node, safe]
        return safe[np.argsort(free, kind="stable")[:1]]

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        return replace(super().compiled(view), admit=True)

    def _safe_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        col = view.colocation
        room = np.flatnonzero(view.gpu_free[node, : view.num_gpu[node]] >= shape.gpu_milli)
        result: IntArray = np.array(
            [g for g in room.tolist() if col.safe(node, g, col.current)], dtype=np.int64
        )
        return result
