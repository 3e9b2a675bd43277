"""Fragmentation Gradient Descent (Weng et al., ATC'23).

Place the task hypothetically and score ``trunc(100 * sigmoid((F_before - F_after) / 1000))``
with F the node's fragmentation (milli-GPU) against the typical workload. A sharing task tries
every GPU that fits; the node's score is its best GPU's, and the GPU chosen is the lowest index
reaching it. Whole-GPU tasks take the lowest-indexed free GPUs.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy, no_gpu, register
from schedlab.trace.tables import GPU_MILLI, IntArray


def sigmoid_score(delta: IntArray, scale: int) -> IntArray:
    """``trunc(100 * sigmoid(delta / scale / 1000))`` for integer fragmentation numerators."""
    x = delta.astype(np.float64) / (scale * 1000.0)
    return np.floor(100.0 / (1.0 + np.exp(-x))).astype(np.int64)


@register
class FragmentationGradientDescent(PlacementPolicy):
    """``fgd``: pick the node whose fragmentation grows least (or shrinks most)."""

    name = "fgd"

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        frag = self.context.fragmentation
        cpu = cluster.cpu_left[nodes]
        free = cluster.gpu_free[nodes]
        model = cluster.model[nodes]
        before = frag.node_frag(cpu, free, model)
        if not shape.is_sharing:
            after_free = free
            if not shape.is_cpu_only:
                whole = free == GPU_MILLI
                take = whole & (np.cumsum(whole, axis=1) <= shape.num_gpu)
                after_free = np.where(take, 0, free)
            after = frag.node_frag(cpu - shape.cpu, after_free, model)
            return sigmoid_score(before - after, frag.scale), no_gpu(nodes)

        width = free.shape[1]
        # One hypothetical per distinct free amount on a node: equal amounts give equal
        # results, and the lowest index among them is the one that can win.
        earlier_equal = (free[:, :, None] == free[:, None, :]) & np.tri(width, width, -1, dtype=bool)
        row, gpu = np.nonzero((free >= shape.gpu_milli) & ~earlier_equal.any(axis=2))
        after_free = free[row]
        after_free[np.arange(len(row)), gpu] -= shape.gpu_milli
        after = frag.node_frag(cpu[row] - shape.cpu, after_free, model[row])
        scores = sigmoid_score(before[row] - after, frag.scale)
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        best = np.maximum.reduceat(scores, starts)
        choice = np.minimum.reduceat(np.where(scores == best[row], gpu, width), starts)
        return best, choice
