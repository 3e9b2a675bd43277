"""Best-fit: prefer the node with the least CPU and GPU left after placement.

``s = 0.5 (CPU left - request) / 128000 + 0.5 (free GPU milli - requested) / 8000``,
raw score ``trunc(100 (1 - s))``, rescaled over the feasible nodes of the step with integer
division. A sharing task takes the GPU with the least free amount that fits.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy, best_fit_gpu, register
from schedlab.trace.tables import IntArray


@register
class BestFit(PlacementPolicy):
    """``bestfit``: tightest node first."""

    name = "bestfit"
    rescales = True

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        free = cluster.gpu_free[nodes]
        cpu_left = cluster.cpu_left[nodes] - shape.cpu
        gpu_left = free.sum(axis=1) - shape.total_gpu_milli
        s = 0.5 * cpu_left / 128000 + 0.5 * gpu_left / 8000
        raw = np.trunc(100 * (1 - s)).astype(np.int64)
        return raw, best_fit_gpu(free, shape.gpu_milli)

    def normalize(self, scores: IntArray) -> IntArray:
        low, high = int(scores.min()), int(scores.max())
        if high == low:
            return np.zeros_like(scores)
        return (scores - low) * 100 // (high - low)

    def order_preserved(self, low: int, high: int) -> bool:
        # floor((s - low) * 100 / (high - low)) is strictly increasing in s iff the span is <= 100.
        return high - low <= 100
