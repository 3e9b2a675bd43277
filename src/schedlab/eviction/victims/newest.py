"""``newest``: evict the most recently started tasks first."""

from __future__ import annotations

import numpy as np

from schedlab.eviction.victims.base import VictimPolicy, newest_first, register
from schedlab.trace.tables import FloatArray, IntArray


@register
class Newest(VictimPolicy):
    """``newest``: the most recently started first; ties: the lower task index."""

    name = "newest"

    def order(self, tasks: IntArray, started: FloatArray, gpu_milli: IntArray, now: float) -> IntArray:
        return newest_first(tasks, started)

    def weights(self, gpu_milli: IntArray) -> FloatArray:
        return np.zeros(len(gpu_milli))
