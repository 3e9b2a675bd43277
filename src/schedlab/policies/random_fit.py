"""Random-fit: a uniformly random feasible node; a sharing task gets a random fitting GPU."""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.policies.base import PlacementPolicy, register
from schedlab.trace.tables import IntArray


@register
class RandomFit(PlacementPolicy):
    """``random``: i.i.d. random scores, so the winner is uniform over feasible nodes."""

    name = "random"
    node_local = False

    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        rng = self.context.rng
        scores = rng.integers(0, 2**40, size=len(nodes), dtype=np.int64)
        free = cluster.gpu_free[nodes]
        keys = np.where(free >= shape.gpu_milli, rng.random(free.shape), -1.0)
        return scores, keys.argmax(axis=1).astype(np.int64)
