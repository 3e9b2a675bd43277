"""Queue policies: the order in which waiting tasks are tried.

A queue policy gives each task a sort key when it enters the queue (smaller goes first;
ties go to the earlier arrival). Register a policy with :func:`register`; the simulation
then accepts its name (``schedlab replay --queue NAME``).
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


class QueuePolicy(ABC):
    """Orders waiting tasks."""

    name: ClassVar[str]

    def __init__(self, context: QueueContext) -> None:
        self.context = context

    @abstractmethod
    def key(self, task: int) -> tuple[float, ...]:
        """Sort key of ``task`` as it enters the queue (smaller first)."""

    def observe(self, task: int, run_time: float) -> None:  # noqa: B027 (optional hook)
        """``task`` finished after running ``run_time`` seconds (default: ignored)."""


QUEUE_POLICIES: Registry[type[QueuePolicy]] = Registry("queue policy")
register = QUEUE_POLICIES.register


@register
class Fifo(QueuePolicy):
    """``fifo``: first come, first served."""

    name = "fifo"

    def key(self, task: int) -> tuple[float, ...]:
        return (float(self.context.arrival[task]),)


@register
class ShortestJobFirst(QueuePolicy):
    """``sjf``: shortest true run time first (an oracle: it knows the future)."""

    name = "sjf"

    def key(self, task: int) -> tuple[float, ...]:
        return (float(self.context.duration[task]),)


@register
class ShortestEstimatedJobFirst(QueuePolicy):
    """``sjf-est``: shortest estimated run time first, learned online from finished tasks only.

    The estimate of a task is the mean run time of the finished tasks of the same shape and
    user; failing that, of the same shape; failing that, of all finished tasks; 0 before
    any task has finished (unknown tasks go first). It is taken when the task enters the
    queue.
    """

    name = "sjf-est"

    def __init__(self, context: QueueContext) -> None:
        super().__init__(context)
        self._by_shape_user: dict[tuple[int, str], tuple[float, int]] = {}
        self._by_shape: dict[int, tuple[float, int]] = {}
        self._all = (0.0, 0)

    def _keys(self, task: int) -> tuple[tuple[int, str], int]:
        shape = int(self.context.shape[task])
        return (shape, str(self.context.user[task])), shape

    def key(self, task: int) -> tuple[float, ...]:
        by_user, by_shape = self._keys(task)
        for total, count in (
            self._by_shape_user.get(by_user, (0.0, 0)),
            self._by_shape.get(by_shape, (0.0, 0)),
            self._all,
        ):
            if count:
                return (total / count,)
        return (0.0,)

    def observe(self, task: int, run_time: float) -> None:
        by_user, by_shape = self._keys(task)
        total, count = self._by_shape_user.get(by_user, (0.0, 0))
        self._by_shape_user[by_user] = (total + run_time, count + 1)
        total, count = self._by_shape.get(by_shape, (0.0, 0))
        self._by_shape[by_shape] = (total + run_time, count + 1)
        self._all = (self._all[0] + run_time, self._all[1] + 1)


@register
class QosFirst(QueuePolicy):
    """``qos``: latency-sensitive (LS) tasks before best-effort (BE), first come first served within."""

    name = "qos"

    def key(self, task: int) -> tuple[float, ...]:
        return (0.0 if self.context.is_ls[task] else 1.0, float(self.context.arrival[task]))


def make_queue_policy(name: str, context: QueueContext) -> QueuePolicy:
    return QUEUE_POLICIES.get(name)(context)
