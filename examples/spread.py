"""A user placement policy: spread GPU tasks, preferring the node with the most free GPU
left after placement (the opposite of best-fit). Load it with ``--plugin examples/spread.py``."""

from __future__ import annotations

from schedlab.arrays import IntArray
from schedlab.cluster import ClusterView, Shape
from schedlab.policies import PlacementPolicy, register


@register
class Spread(PlacementPolicy):
    """``spread``: the node with the most free GPU milli after placement scores highest (0..100)."""

    name = "spread"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        left = view.gpu_free[nodes].sum(axis=1) - shape.total_gpu_milli
        result: IntArray = left * 100 // view.gpu_scale
        return result
