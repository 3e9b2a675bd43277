"""GPU packing: fill partly used GPUs first, then partly used nodes, then empty nodes.

CPU-only task: 0. A node with all G GPUs free: ``max(33 - G, G)``. Otherwise take, in
ascending order of free amount, the first k GPUs that fit: with j > 0 of them fully free,
``max(50 - j, 33)``; with none, ``max(100 - (sum floor(free * 100 / 1000)) div 10, 50)``.
Sharing GPU: best-fit rule.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import GPU_MILLI, IntArray


@register
class GpuPacking(PlacementPolicy):
    """``packing``: pack GPU tasks onto GPUs already in use."""

    name = "packing"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        if shape.is_cpu_only:
            return np.zeros(len(nodes), dtype=np.int64)
        free = view.gpu_free[nodes]
        count = view.num_gpu[nodes]
        all_free = free.sum(axis=1) == count * GPU_MILLI
        fitting = np.sort(np.where(free >= shape.gpu_milli, free, GPU_MILLI + 1), axis=1)
        chosen = fitting[:, : shape.num_gpu]
        j = (chosen == GPU_MILLI).sum(axis=1)
        used = np.maximum(100 - (chosen * 100 // GPU_MILLI).sum(axis=1) // 10, 50)
        scores = np.where(
            all_free, np.maximum(33 - count, count), np.where(j > 0, np.maximum(50 - j, 33), used)
        )
        result: IntArray = scores.astype(np.int64)
        return result

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.packing import packing

        return CompiledPolicy(packing, params(view))
