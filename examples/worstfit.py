"""A user-defined placement policy: worst-fit (spread tasks over the emptiest nodes).

Use it with ``schedlab --plugin examples/worstfit.py fill --policy worstfit,bestfit``.
"""

from __future__ import annotations

from schedlab.cluster import ClusterState, Shape
from schedlab.policies import PlacementPolicy, register
from schedlab.policies.base import best_fit_gpu
from schedlab.trace.tables import IntArray


@register
class WorstFit(PlacementPolicy):
    """Prefer the node with the most free GPU left after placement (0..100)."""

    name = "worstfit"

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        free = cluster.gpu_free[nodes]  # (len(nodes), G) free milli-GPU per GPU
        left = free.sum(axis=1) - shape.total_gpu_milli
        return left * 100 // 8000, best_fit_gpu(free, shape.gpu_milli)
