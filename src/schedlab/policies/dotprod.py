"""Dot-product: prefer the node whose free resources align least with the request.

Node vector (CPU left / C, free GPU milli / G), task vector (CPU request / C, total GPU
milli / G), with C and G the CPU and GPU capacity of the largest node (128000 and 8000 on
openb); score ``trunc(100 (1 - dot / 2))``. Sharing GPU: best-fit rule.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import IntArray


@register
class DotProduct(PlacementPolicy):
    """``dotprod``: smallest dot product of free resources and request wins."""

    name = "dotprod"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        c, g = view.cpu_scale, view.gpu_scale
        free = view.gpu_free[nodes].sum(axis=1)
        dot = (view.cpu_left[nodes] / c) * (shape.cpu / c) + (free / g) * (shape.total_gpu_milli / g)
        result: IntArray = np.trunc(100 * (1 - dot / 2)).astype(np.int64)
        return result

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.dotprod import dotprod

        return CompiledPolicy(dotprod, params(view))
