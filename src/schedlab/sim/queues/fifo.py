"""``fifo``: first come, first served."""

from __future__ import annotations

import numpy as np

from schedlab.sim.queues.base import QueuePolicy, register
from schedlab.trace.tables import FloatArray


@register
class Fifo(QueuePolicy):
    """``fifo``: first come, first served."""

    name = "fifo"

    def key(self, task: int) -> tuple[float, ...]:
        return (float(self.context.arrival[task]),)

    def static_keys(self) -> tuple[FloatArray, FloatArray]:
        return self.context.arrival, np.zeros_like(self.context.arrival)
