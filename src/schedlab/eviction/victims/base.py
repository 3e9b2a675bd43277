"""The victim-policy protocol: which preemptible tasks of a node to evict first.

Registered by name (``schedlab replay --victim NAME``). A policy whose order is "least
``(now - start) x weight`` first, then the most recently started, then the lower task
index" may say so through :meth:`VictimPolicy.weights`; the compiled replay then runs it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from schedlab.registry import Registry
from schedlab.trace.tables import FloatArray, IntArray


class VictimPolicy(ABC):
    """Orders candidate victims on one node, most preferred first."""

    name: ClassVar[str]

    @abstractmethod
    def order(self, tasks: IntArray, started: FloatArray, gpu_milli: IntArray, now: float) -> IntArray:
        """Return ``tasks`` (preemptible tasks running on one node) in eviction order.

        ``started`` and ``gpu_milli`` (total milli-GPU held) are given per task of ``tasks``.
        """

    def weights(self, gpu_milli: IntArray) -> FloatArray | None:
        """Per task (from its total milli-GPU), the weight w of an order by ``(now - start) x w``
        (ties: later start first, then lower task index); None if the order is not of that form."""
        return None


def newest_first(tasks: IntArray, started: FloatArray) -> IntArray:
    """``tasks`` by start time, latest first; equal starts by task index, lowest first."""
    result: IntArray = tasks[np.lexsort((tasks, -started))]
    return result


VICTIM_POLICIES: Registry[type[VictimPolicy]] = Registry("victim policy")
register = VICTIM_POLICIES.register
