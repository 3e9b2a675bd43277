"""``least-lost``: evict the tasks whose eviction wastes the fewest GPU-seconds first."""

from __future__ import annotations

import numpy as np

from schedlab.eviction.victims.base import VictimPolicy, register
from schedlab.trace.tables import FloatArray, IntArray


@register
class LeastLost(VictimPolicy):
    """``least-lost``: least elapsed run time x GPUs held first (CPU-only tasks count as
    0.001 GPU); ties: the most recently started, then the lower task index."""

    name = "least-lost"

    def order(self, tasks: IntArray, started: FloatArray, gpu_milli: IntArray, now: float) -> IntArray:
        newest = np.lexsort((tasks, -started))
        lost = (now - started[newest]) * np.maximum(gpu_milli[newest], 1)
        result: IntArray = tasks[newest][np.argsort(lost, kind="stable")]
        return result

    def weights(self, gpu_milli: IntArray) -> FloatArray:
        return np.maximum(gpu_milli, 1).astype(np.float64)
