"""``sjf-est``: shortest estimated run time first, learned online from finished tasks only.

The estimate of a task is the mean run time of the finished tasks of the same shape and
user; failing that, of the same shape; failing that, of all finished tasks; 0 before any
task has finished (unknown tasks go first). It is taken when the task enters the queue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedlab.sim.queues.base import QueueContext, QueuePolicy, register
from schedlab.trace.tables import IntArray


@register
class ShortestEstimatedJobFirst(QueuePolicy):
    """``sjf-est``: shortest estimated run time first (estimates from finished tasks only)."""

    name = "sjf-est"

    def __init__(self, context: QueueContext) -> None:
        super().__init__(context)
        self.groups = estimate_groups(context)
        size = int(self.groups.max(initial=-1)) + 1
        self.total = np.zeros(size)
        self.count = np.zeros(size, dtype=np.int64)

    def key(self, task: int) -> tuple[float, ...]:
        for group in self.groups[task].tolist():
            if self.count[group]:
                return (float(self.total[group] / self.count[group]),)
        return (0.0,)

    def estimate_groups(self) -> IntArray:
        return self.groups

    def observe(self, task: int, run_time: float) -> None:
        groups = self.groups[task]
        self.total[groups] += run_time
        self.count[groups] += 1


def estimate_groups(context: QueueContext) -> IntArray:
    """Per task, the ids of its three estimate groups, most specific first: (shape, user),
    shape, and everyone (ids are unique across the three levels)."""
    n = len(context.shape)
    pairs = pd.MultiIndex.from_arrays([context.shape, context.user])
    by_user = pd.factorize(pairs)[0].astype(np.int64)
    by_shape = pd.factorize(context.shape)[0].astype(np.int64) + (int(by_user.max(initial=-1)) + 1)
    everyone = np.full(n, int(by_shape.max(initial=int(by_user.max(initial=-1)))) + 1, dtype=np.int64)
    return np.stack([by_user, by_shape, everyone], axis=1)
