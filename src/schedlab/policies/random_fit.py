"""Random-fit: a uniformly random feasible node; a sharing task gets a random fitting GPU.

Scores are all equal; the normalise step draws one random integer per feasible node (the
largest wins) and one uniform number per GPU of every feasible node (the GPU step takes the
fitting GPU with the largest), in the order of the node index.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import SCORE_LIMIT, CompiledPolicy, PlacementPolicy, register
from schedlab.trace.tables import FloatArray, IntArray


@register
class RandomFit(PlacementPolicy):
    """``random``: i.i.d. random scores, so the winner is uniform over feasible nodes."""

    name = "random"
    _nodes: IntArray
    _keys: FloatArray

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        return np.zeros(len(nodes), dtype=np.int64)

    def normalize(self, view: ClusterView, shape: Shape, nodes: IntArray, scores: IntArray) -> IntArray:
        rng = self.context.rng
        drawn: IntArray = rng.integers(0, SCORE_LIMIT, size=len(nodes), dtype=np.int64)
        self._nodes, self._keys = nodes, rng.random((len(nodes), view.width))
        return drawn

    def choose_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        if not shape.is_sharing:
            return super().choose_gpus(view, shape, node)
        keys = self._keys[int(np.searchsorted(self._nodes, node))]
        fitting = np.where(view.gpu_free[node] >= shape.gpu_milli, keys, -1.0)
        return np.array([int(fitting.argmax())], dtype=np.int64)

    def compiled(self, view: ClusterView) -> CompiledPolicy | None:
        from schedlab.policies.kernels import params
        from schedlab.policies.kernels.random_fit import constant, pcg64_state

        if pcg64_state(self.context.rng) is None:
            return None  # the kernel steps PCG64 only
        return CompiledPolicy(constant, params(view), draws=True, rng=self.context.rng)
