"""``qos``: latency-sensitive (LS) tasks before best-effort (BE), first come first served within."""

from __future__ import annotations

import numpy as np

from schedlab.sim.queues.base import QueuePolicy, register
from schedlab.trace.tables import FloatArray


@register
class QosFirst(QueuePolicy):
    """``qos``: LS before BE, first come first served within each class."""

    name = "qos"
    tier_parts = 1  # a BE task that starved stays behind waiting LS tasks

    def key(self, task: int) -> tuple[float, ...]:
        return (0.0 if self.context.is_ls[task] else 1.0, float(self.context.arrival[task]))

    def static_keys(self) -> tuple[FloatArray, FloatArray]:
        return np.where(self.context.is_ls, 0.0, 1.0), self.context.arrival
