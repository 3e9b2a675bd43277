"""Preemption policies, one file each, registered by name (``--preemption NAME``)."""

from schedlab.sim.preemption import ls_over_be, never
from schedlab.sim.preemption.base import PREEMPTION_POLICIES, PreemptionPolicy, register

__all__ = ["PREEMPTION_POLICIES", "PreemptionPolicy", "ls_over_be", "never", "register"]
