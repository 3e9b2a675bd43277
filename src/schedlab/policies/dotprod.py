"""Dot-product: prefer the node whose free resources align least with the request.

Node vector (CPU left / 128000, free GPU milli / 8000), task vector (CPU request / 128000,
total GPU milli / 8000); score ``trunc(100 (1 - dot / 2))``. Sharing GPU: best-fit rule.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy, best_fit_gpu, register
from schedlab.trace.tables import IntArray


@register
class DotProduct(PlacementPolicy):
    """``dotprod``: smallest dot product of free resources and request wins."""

    name = "dotprod"

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        free = cluster.gpu_free[nodes]
        dot = (cluster.cpu_left[nodes] / 128000) * (shape.cpu / 128000) + (free.sum(axis=1) / 8000) * (
            shape.total_gpu_milli / 8000
        )
        scores = np.trunc(100 * (1 - dot / 2)).astype(np.int64)
        return scores, best_fit_gpu(free, shape.gpu_milli)
