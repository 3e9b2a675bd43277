"""The preemption-policy protocol: which waiting tasks may evict which running ones.

A task that cannot start may evict running tasks of one node if the policy says it is a
*preemptor* and they are *preemptible*; the simulation then takes, among the nodes where
evicting preemptible tasks in the victim policy's order makes the task fit, the node that
loses the fewest GPU-seconds (ties: the node order). Both are decided per task before the
run, so every preemption policy also runs in the compiled replay. Registered by name
(``schedlab replay --preemption NAME``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from schedlab.registry import Registry
from schedlab.trace.tables import BoolArray


class PreemptionPolicy(ABC):
    """Who may preempt whom: two masks over the tasks of a workload."""

    name: ClassVar[str]

    def __init__(self, is_ls: BoolArray) -> None:
        self.is_ls = is_ls

    @abstractmethod
    def preemptors(self) -> BoolArray:
        """Per task: may it evict running tasks when it cannot start?"""

    @abstractmethod
    def preemptible(self) -> BoolArray:
        """Per task: may it be evicted (to restart from scratch later)?"""


PREEMPTION_POLICIES: Registry[type[PreemptionPolicy]] = Registry("preemption policy")
register = PREEMPTION_POLICIES.register
