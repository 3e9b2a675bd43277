"""``none``: no task is ever evicted."""

from __future__ import annotations

import numpy as np

from schedlab.sim.preemption.base import PreemptionPolicy, register
from schedlab.trace.tables import BoolArray


@register
class Never(PreemptionPolicy):
    """``none``: no preemption."""

    name = "none"

    def preemptors(self) -> BoolArray:
        return np.zeros(len(self.is_ls), dtype=bool)

    def preemptible(self) -> BoolArray:
        return np.zeros(len(self.is_ls), dtype=bool)
