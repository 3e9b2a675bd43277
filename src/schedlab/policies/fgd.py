"""Fragmentation Gradient Descent (Weng et al., ATC'23).

Place the task hypothetically and score ``trunc(100 * sigmoid((F_before - F_after) / 1000))``
with F the node's fragmentation (milli-GPU) against the typical workload. A sharing task tries
every GPU that fits; the node's score is its best GPU's, and the GPU chosen is the lowest index
reaching it. Whole-GPU tasks take the lowest-indexed free GPUs.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.fragmentation import NodeFragmentation
from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import GPU_MILLI, IntArray


def sigmoid_score(delta: IntArray, scale: int) -> IntArray:
    """``trunc(100 * sigmoid(delta / scale / 1000))`` for integer fragmentation numerators."""
    x = delta.astype(np.float64) / (scale * 1000.0)
    with np.errstate(over="ignore"):  # exp(-x) = inf: the score is 0
        result: IntArray = np.floor(100.0 / (1.0 + np.exp(-x))).astype(np.int64)
    return result


def sigmoid_thresholds(scale: int) -> IntArray:
    """For k = 1..100, the least integer delta whose :func:`sigmoid_score` is at least k
    (int64 max where none is): the score of a delta is the number of thresholds at or below
    it. Found by bisection on :func:`sigmoid_score` itself, so a kernel that counts
    thresholds gives exactly its numbers without computing an exponential."""
    levels = np.arange(1, 101, dtype=np.int64)
    low = np.full(100, -(2**61), dtype=np.int64)  # score(low) < k
    high = np.full(100, 2**61, dtype=np.int64)  # score(high) >= k, or no delta reaches k
    with np.errstate(over="ignore"):
        reached = sigmoid_score(high, scale) >= levels
        for _ in range(63):
            mid = low + (high - low) // 2
            above = sigmoid_score(mid, scale) >= levels
            high = np.where(above, mid, high)
            low = np.where(above, low, mid)
    result: IntArray = np.where(reached, high, np.iinfo(np.int64).max)
    return result


@register
class FragmentationGradientDescent(PlacementPolicy):
    """``fgd``: pick the node whose fragmentation grows least (or shrinks most)."""

    name = "fgd"
    _now: tuple[ClusterView, NodeFragmentation] | None = None

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        if shape.is_sharing:
            return self._sharing(view, shape, nodes)[0]
        frag = self.context.fragmentation
        cpu, free, model = view.cpu_left[nodes], view.gpu_free[nodes], view.model[nodes]
        before = self._before(view, nodes)
        after_free = free
        if not shape.is_cpu_only:
            whole = free == GPU_MILLI
            take = whole & (np.cumsum(whole, axis=1) <= shape.num_gpu)
            after_free = np.where(take, 0, free)
        after = frag.node_frag(cpu - shape.cpu, after_free, model)
        return sigmoid_score(before - after, frag.scale)

    def choose_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        if not shape.is_sharing:
            return super().choose_gpus(view, shape, node)
        return self._sharing(view, shape, np.array([node], dtype=np.int64))[1]

    def compiled(self, view: ClusterView) -> CompiledPolicy:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.fgd import fgd

        return CompiledPolicy(fgd, params(view, sigmoid_thresholds(self.context.fragmentation.scale)))

    def _before(self, view: ClusterView, nodes: IntArray) -> IntArray:
        """The fragmentation of ``nodes`` as they are: the same for every shape, remembered
        per node until the node changes (a new shape's first scoring of every node, or the
        nodes another shape rescored already, cost nothing more)."""
        if self._now is None or self._now[0] is not view:
            self._now = (view, NodeFragmentation(self.context.fragmentation, len(view)))
        return self._now[1].of(view, nodes)

    def _sharing(self, view: ClusterView, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        """Per node: the best score over its GPUs that fit, and the lowest GPU reaching it."""
        frag = self.context.fragmentation
        cpu, free, model = view.cpu_left[nodes], view.gpu_free[nodes], view.model[nodes]
        before = self._before(view, nodes)
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
