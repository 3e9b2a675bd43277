"""Best-fit: prefer the node with the least CPU and GPU left after placement.

``s = 0.5 (CPU left - request) / C + 0.5 (free GPU milli - requested) / G`` with C and G the
CPU and GPU capacity of the largest node (128000 and 8000 on openb), raw score
``trunc(100 (1 - s))``, rescaled over the feasible nodes of the step with integer division
(which never changes the winner: only the top raw score maps to 100). A sharing task takes
the GPU with the least free amount that fits.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import IntArray


@register
class BestFit(PlacementPolicy):
    """``bestfit``: tightest node first."""

    name = "bestfit"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        cpu_left = view.cpu_left[nodes] - shape.cpu
        gpu_left = view.gpu_free[nodes].sum(axis=1) - shape.total_gpu_milli
        s = 0.5 * cpu_left / view.cpu_scale + 0.5 * gpu_left / view.gpu_scale
        result: IntArray = np.trunc(100 * (1 - s)).astype(np.int64)
        return result

    def normalize(self, view: ClusterView, shape: Shape, nodes: IntArray, scores: IntArray) -> IntArray:
        return rescale(scores)

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.bestfit import bestfit

        return CompiledPolicy(bestfit, params(view))


def rescale(scores: IntArray) -> IntArray:
    """``(s - min) * 100 // (max - min)``; all zeros when every score is the same."""
    low, high = int(scores.min()), int(scores.max())
    if high == low:
        return np.zeros_like(scores)
    result: IntArray = (scores - low) * 100 // (high - low)
    return result
