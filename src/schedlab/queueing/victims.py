"""Victim policies: which best-effort tasks to evict first when a latency-sensitive task
needs room. Registered by name (``schedlab replay --victim NAME``)."""

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
        """Return ``tasks`` (BE tasks running on one node) in eviction order.

        ``started`` and ``gpu_milli`` (total milli-GPU held) are given per task of ``tasks``.
        """


VICTIM_POLICIES: Registry[type[VictimPolicy]] = Registry("victim policy")
register = VICTIM_POLICIES.register


@register
class LeastLost(VictimPolicy):
    """``least-lost``: evict the tasks whose eviction wastes the fewest GPU-seconds first
    (elapsed run time x GPUs held; CPU-only tasks count as 0.001 GPU), newest first on ties."""

    name = "least-lost"

    def order(self, tasks: IntArray, started: FloatArray, gpu_milli: IntArray, now: float) -> IntArray:
        lost = (now - started) * np.maximum(gpu_milli, 1)
        result: IntArray = tasks[np.lexsort((-started, lost))]
        return result


@register
class Newest(VictimPolicy):
    """``newest``: evict the most recently started tasks first."""

    name = "newest"

    def order(self, tasks: IntArray, started: FloatArray, gpu_milli: IntArray, now: float) -> IntArray:
        result: IntArray = tasks[np.argsort(-started, kind="stable")]
        return result
