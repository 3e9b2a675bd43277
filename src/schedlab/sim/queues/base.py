"""The queue-policy protocol: the order in which waiting tasks are tried.

A queue policy gives each task a sort key when it enters the queue (smaller goes first;
ties go to the earlier arrival, then the lower task index). Register a policy with
:func:`register`; the simulation then accepts its name (``schedlab replay --queue NAME``).

A policy whose keys are known before the run (they depend only on task facts) may return
them all from :meth:`QueuePolicy.static_keys`, and one whose key is a learned mean run time
may describe it with :meth:`QueuePolicy.estimate_groups`; the compiled replay then runs it.
Otherwise the pure-Python replay does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from schedlab.registry import Registry
from schedlab.trace.tables import BoolArray, FloatArray, IntArray, StrArray


@dataclass(frozen=True, eq=False)
class QueueContext:
    """Read-only facts about the tasks a queue policy may use (arrays indexed by task)."""

    arrival: FloatArray
    duration: FloatArray  # true run time at speed 1: only `sjf` may look at it
    shape: IntArray
    user: StrArray
    is_ls: BoolArray
    #: Per task, GPU milli (all its GPUs) and CPU milli it holds while it runs; the cluster's
    #: totals; each user's weight (fair-share policies).
    gpu_milli: IntArray | None = None
    cpu_milli: IntArray | None = None
    capacity: tuple[int, int] = (1, 1)  # (GPU milli, CPU milli)
    weights: dict[str, float] | None = None


class QueuePolicy(ABC):
    """Orders waiting tasks."""

    name: ClassVar[str]

    def __init__(self, context: QueueContext) -> None:
        self.context = context

    @abstractmethod
    def key(self, task: int) -> tuple[float, ...]:
        """Sort key of ``task`` as it enters the queue (smaller first)."""

    #: Whether keys change while tasks wait: then the keys of a user's waiting tasks are
    #: taken again whenever one of the user's tasks starts or stops (:meth:`started`, :meth:`stopped`).
    by_user: ClassVar[bool] = False
    #: How many leading parts of a key form the starvation guard's tier (:meth:`tier`).
    tier_parts: ClassVar[int] = 0

    def tier(self, task: int) -> tuple[float, ...]:
        """The part of ``task``'s key that the starvation guard keeps: a task that starved
        goes ahead of the waiting tasks of its tier and below (default: the first
        :attr:`tier_parts` parts of its key; none: one tier for all)."""
        return self.key(task)[: self.tier_parts]

    def observe(self, task: int, run_time: float) -> None:  # noqa: B027 (optional hook)
        """``task`` finished after running ``run_time`` seconds (default: ignored)."""

    def started(self, task: int) -> None:  # noqa: B027 (optional hook)
        """``task`` started running (default: ignored)."""

    def stopped(self, task: int) -> None:  # noqa: B027 (optional hook)
        """``task`` stopped running: finished or evicted (default: ignored)."""

    def static_keys(self) -> tuple[FloatArray, FloatArray] | None:
        """Every task's key as two columns (a second column of zeros for one-part keys),
        when keys are fixed before the run; None (the default) when they are not."""
        return None

    def estimate_groups(self) -> IntArray | None:
        """For a policy whose key is the mean run time of the finished tasks in a task's first
        group that has any (0 if none has), updated as tasks finish: every task's groups,
        most specific first (n x levels, ids unique across levels). None by default."""
        return None

    def fair_shares(self) -> FairShares | None:
        """For a policy whose key is ``(dominant share of the task's user, arrival)``, the
        share re-taken as the user's tasks start and stop: what the compiled replay needs to
        keep the shares (:class:`FairShares`). None by default."""
        return None


#: Per task its user's number, per user number its weight, per task the GPU milli and CPU
#: milli it holds while it runs, and the cluster's GPU and CPU totals (each at least 1).
FairShares = tuple[IntArray, FloatArray, IntArray, IntArray, tuple[int, int]]


QUEUE_POLICIES: Registry[type[QueuePolicy]] = Registry("queue policy")
register = QUEUE_POLICIES.register


def make_queue_policy(name: str, context: QueueContext) -> QueuePolicy:
    return QUEUE_POLICIES.get(name)(context)
