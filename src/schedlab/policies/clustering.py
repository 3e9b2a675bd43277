"""GPU clustering: keep tasks of the same class together.

A task is tagged "share" (sharing) or "k-gpu"; a node's tags are those of the GPU tasks on it.
``t = 25 (G - free GPU milli) div G`` (G: GPU milli of the largest node, 8000 on openb);
score 75+t if the node holds only the task's tag, 50+t if that tag among others, 25+t if
no GPU task, t if only other tags. CPU-only: 0. Sharing GPU: best-fit rule.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import IntArray


@register
class GpuClustering(PlacementPolicy):
    """``clustering``: same-class GPU tasks share nodes."""

    name = "clustering"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        if shape.is_cpu_only:
            return np.zeros(len(nodes), dtype=np.int64)
        counts = view.class_count[nodes]
        mine = counts[:, shape.task_class] > 0
        others = counts.sum(axis=1) > counts[:, shape.task_class]
        scale = view.gpu_scale
        t = 25 * (scale - view.gpu_free[nodes].sum(axis=1)) // scale
        base = np.where(mine, np.where(others, 50, 75), np.where(others, 0, 25))
        result: IntArray = (base + t).astype(np.int64)
        return result

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.clustering import clustering

        return CompiledPolicy(clustering, params(view))
