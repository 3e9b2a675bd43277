"""GPU clustering: keep tasks of the same class together.

A task is tagged "share" (sharing) or "k-gpu"; a node's tags are those of the GPU tasks on it.
``t = 25 (8000 - free GPU milli) div 8000``; score 75+t if the node holds only the task's tag,
50+t if that tag among others, 25+t if no GPU task, t if only other tags. CPU-only: 0.
Sharing GPU: best-fit rule.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy, best_fit_gpu, register
from schedlab.trace.tables import IntArray


@register
class GpuClustering(PlacementPolicy):
    """``clustering``: same-class GPU tasks share nodes."""

    name = "clustering"

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        free = cluster.gpu_free[nodes]
        gpu = best_fit_gpu(free, shape.gpu_milli)
        if shape.is_cpu_only:
            return np.zeros(len(nodes), dtype=np.int64), gpu
        counts = cluster.class_count[nodes]
        mine = counts[:, shape.task_class] > 0
        others = counts.sum(axis=1) > counts[:, shape.task_class]
        t = 25 * (8000 - free.sum(axis=1)) // 8000
        base = np.where(mine, np.where(others, 50, 75), np.where(others, 0, 25))
        return (base + t).astype(np.int64), gpu
