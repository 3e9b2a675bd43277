"""``sjf``: shortest true run time first (an oracle: it knows the future)."""

from __future__ import annotations

import numpy as np

from schedlab.sim.queues.base import QueuePolicy, register
from schedlab.trace.tables import FloatArray


@register
class ShortestJobFirst(QueuePolicy):
    """``sjf``: shortest true run time first (an oracle: it knows the future)."""

    name = "sjf"

    def key(self, task: int) -> tuple[float, ...]:
        return (float(self.context.duration[task]),)

    def static_keys(self) -> tuple[FloatArray, FloatArray]:
        return self.context.duration, np.zeros_like(self.context.duration)
