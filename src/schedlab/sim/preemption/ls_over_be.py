"""``ls-over-be``: latency-sensitive tasks may evict best-effort ones (``--preempt``)."""

from __future__ import annotations

from schedlab.sim.preemption.base import PreemptionPolicy, register
from schedlab.trace.tables import BoolArray


@register
class LsOverBe(PreemptionPolicy):
    """``ls-over-be``: an LS task that cannot start may evict BE tasks; BE tasks never evict."""

    name = "ls-over-be"

    def preemptors(self) -> BoolArray:
        return self.is_ls.copy()

    def preemptible(self) -> BoolArray:
        return ~self.is_ls
