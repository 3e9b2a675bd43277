"""The admission-policy protocol: when waiting tasks are tried, and in which order.

An admission policy reacts to three moments: a task arrives, a task was evicted (and must
start again), resources were freed on a node. It acts only through :class:`Actions`: try to
start a task (the placement policy picks the node), try to preempt for it, queue it.
Registered by name (``schedlab replay --admission NAME``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from schedlab.registry import Registry
from schedlab.sim.waiting import Item, WaitingQueue


class Actions(Protocol):
    """What an admission policy may do to the simulation."""

    queue: WaitingQueue
    #: Whether the workload has gang jobs (a task standing for several that start together).
    has_gangs: bool

    def start(self, task: int) -> bool:
        """Start ``task`` now if it fits somewhere (a gang's leader: the whole gang, all or
        nothing); False (and no change) if not."""

    def gang_size(self, task: int) -> int:
        """How many tasks ``task`` starts: its gang's size, 1 for a task alone."""

    def preempt_for(self, task: int) -> bool:
        """Evict running tasks so that ``task`` starts; False (and no change) if not allowed
        or impossible. On success the freed node has been offered to the queue."""

    def enqueue(self, task: int) -> None:
        """Put ``task`` in the waiting queue (its key is taken now)."""

    def requeue(self, item: Item) -> None:
        """Put an item taken off the queue back, with its key unchanged."""


class AdmissionPolicy(ABC):
    """Decides what to try when tasks arrive and when resources are freed."""

    name: ClassVar[str]

    @abstractmethod
    def arrive(self, task: int, act: Actions) -> None:
        """``task`` arrived (it fits the empty cluster)."""

    @abstractmethod
    def evicted(self, task: int, act: Actions) -> None:
        """``task`` was evicted to make room and must start again."""

    @abstractmethod
    def freed(self, node: int, act: Actions) -> None:
        """Resources were freed on ``node``: start what should start."""

    def compiled_strict(self) -> bool | None:
        """For the compiled replay: True for head-of-line blocking, False for backfill, None
        (the default) for a rule it does not know (the pure-Python replay runs then)."""
        return None


ADMISSION_POLICIES: Registry[type[AdmissionPolicy]] = Registry("admission policy")
register = ADMISSION_POLICIES.register
