"""Workloads with time: each task has an arrival time and a run time (on a speed-1 GPU).

Sources: an openb pod list on its own timeline (:func:`from_openb`), a generic job CSV
(:func:`schedlab.workload.jobs.load_jobs`), or a synthetic workload (:mod:`schedlab.workload.synth`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.trace.tables import BoolArray, FloatArray, IntArray, StrArray, Tasks

log = logging.getLogger(__name__)

#: QoS values of latency-sensitive tasks; every other value is best-effort.
LS_QOS = frozenset({"LS", "Guaranteed"})


@dataclass(frozen=True, eq=False)
class LlmServices:
    """Per task: the LLM model card it serves ("" for any other task), its mean request
    rate, and its TTFT and TBT targets (ms; NaN for other tasks)."""

    model: StrArray
    rate_rps: FloatArray
    ttft_ms: FloatArray
    tbt_ms: FloatArray

    def take(self, idx: IntArray) -> LlmServices:
        return LlmServices(self.model[idx], self.rate_rps[idx], self.ttft_ms[idx], self.tbt_ms[idx])

    @property
    def is_llm(self) -> BoolArray:
        result: BoolArray = self.model != ""
        return result


@dataclass(frozen=True, eq=False)
class TimedWorkload:
    """Tasks with ``arrival`` and ``duration`` (seconds), sorted by arrival, and a ``user`` each.

    ``excluded`` counts source rows left out, by reason.
    """

    tasks: Tasks
    arrival: FloatArray
    duration: FloatArray
    user: StrArray
    source: str
    excluded: dict[str, int] = field(default_factory=dict)
    #: Each task's configuration for interference models (``resnet50/8``; "" = none), if any.
    profile: StrArray | None = None
    #: Inference services: mean request rate (NaN for a batch job) and latency target (ms).
    rate_rps: FloatArray | None = None
    slo_ms: FloatArray | None = None
    #: Warm start: tasks already running when the run begins (their metrics are not counted).
    warmup: BoolArray | None = None
    #: Gang jobs: per task, the number of its gang (-1: none); a gang's tasks are consecutive.
    gang: IntArray | None = None
    #: Anti-affinity: at most this many tasks of the task's user (service) on one node (-1: no limit).
    max_per_node: IntArray | None = None
    #: LLM serving replicas (each task one replica of a model card on its GPUs), if any.
    llm: LlmServices | None = None
    #: Kueue: each task's LocalQueue (``namespace/name``; "" = none) and priority (a class
    #: name or an integer; "" = none), if the source has them.
    queue: StrArray | None = None
    priority: StrArray | None = None

    @property
    def is_llm(self) -> BoolArray:
        """True for LLM serving replicas (rows with an ``llm_model``)."""
        return np.zeros(len(self), dtype=bool) if self.llm is None else self.llm.is_llm

    @property
    def has_spread(self) -> bool:
        return self.max_per_node is not None and bool((self.max_per_node >= 0).any())

    @property
    def is_warmup(self) -> BoolArray:
        """True for the warm-up tasks of a warm start (none without one)."""
        if self.warmup is None:
            return np.zeros(len(self), dtype=bool)
        return self.warmup

    @property
    def is_service(self) -> BoolArray:
        """True for inference services (rows with a ``rate_rps``)."""
        if self.rate_rps is None:
            return np.zeros(len(self), dtype=bool)
        result: BoolArray = ~np.isnan(self.rate_rps)
        return result

    @property
    def serves_requests(self) -> BoolArray:
        """True for inference services and LLM replicas with a ``profile`` (those that share
        a GPU): they live their run time whatever their slowdown (it slows their requests,
        not their life)."""
        profiled = self.profile != "" if self.profile is not None else np.zeros(len(self), dtype=bool)
        result: BoolArray = self.is_service | (self.is_llm & profiled)
        return result

    @property
    def has_gangs(self) -> bool:
        return self.gang is not None and bool((self.gang >= 0).any())

    def __post_init__(self) -> None:
        if len(self.arrival) > 1 and (np.diff(self.arrival) < 0).any():
            raise ValueError("a timed workload must be sorted by arrival")
        if (self.duration < 0).any() or np.isnan(self.duration).any():
            raise ValueError("run times must be >= 0")

    def __len__(self) -> int:
        return len(self.arrival)

    @property
    def is_ls(self) -> BoolArray:
        """True for latency-sensitive tasks (QoS LS or Guaranteed)."""
        codes, values = pd.factorize(self.tasks.qos)
        result: BoolArray = np.array([v in LS_QOS for v in values], dtype=bool)[codes]
        return result


def select(workload: TimedWorkload, idx: np.ndarray, **changes: Any) -> TimedWorkload:
    """The tasks of ``workload`` at ``idx`` (every per-task column picked), with ``changes``
    (new columns for the result, e.g. ``arrival``) applied before the order is checked."""
    columns: dict[str, Any] = {
        "tasks": workload.tasks.take(idx),
        "arrival": workload.arrival[idx],
        "duration": workload.duration[idx],
        "user": workload.user[idx],
        "source": workload.source,
        "excluded": workload.excluded,
    }
    for name in ("profile", "rate_rps", "slo_ms", "warmup", "gang", "max_per_node", "queue", "priority"):
        values = getattr(workload, name)
        columns[name] = None if values is None else values[idx]
    columns["llm"] = None if workload.llm is None else workload.llm.take(idx)
    return TimedWorkload(**(columns | changes))


def in_arrival_order(
    tasks: Tasks,
    arrival: FloatArray,
    duration: FloatArray,
    user: StrArray,
    source: str,
    excluded: dict[str, int],
    profile: StrArray | None = None,
    rate_rps: FloatArray | None = None,
    slo_ms: FloatArray | None = None,
    warmup: BoolArray | None = None,
    gang: IntArray | None = None,
    max_per_node: IntArray | None = None,
    llm: LlmServices | None = None,
    queue: StrArray | None = None,
    priority: StrArray | None = None,
) -> TimedWorkload:
    """A workload of these columns, sorted by arrival (stable; no copies when in order)."""
    if len(arrival) < 2 or bool((arrival[1:] >= arrival[:-1]).all()):  # already in order: no copies
        return TimedWorkload(
            tasks, arrival, duration, user, source, excluded, profile, rate_rps, slo_ms, warmup, gang,
            max_per_node, llm, queue, priority,
        )  # fmt: skip
    order = np.argsort(arrival, kind="stable")

    def pick(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[order]

    return TimedWorkload(
        tasks.take(order),
        arrival[order],
        duration[order],
        user[order],
        source,
        excluded,
        pick(profile),
        pick(rate_rps),
        pick(slo_ms),
        pick(warmup),
        pick(gang),
        pick(max_per_node),
        None if llm is None else llm.take(order),
        pick(queue),
        pick(priority),
    )


def from_openb(tasks: Tasks, keep_unrun: bool = False) -> TimedWorkload:
    """An openb pod list on its own timeline: arrival = ``creation_time``, run time =
    ``deletion_time - scheduled_time``.

    Rows without ``scheduled_time`` never ran in the trace (Pending at its end): their run
    time is unknown, so they are left out and counted in ``excluded["never_ran"]``; with
    ``keep_unrun`` they stay, with run time 0 (for a mix whose run times are drawn anew).
    """
    if np.isnan(tasks.creation_time).all():
        raise TraceError(
            tasks.source,
            1,
            "creation_time",
            "this pod list has no timeline (use `schedlab synth` to make one)",
        )
    missing_arrival = np.isnan(tasks.creation_time)
    never_ran = np.isnan(tasks.scheduled_time) | np.isnan(tasks.deletion_time)
    duration = tasks.deletion_time - tasks.scheduled_time
    bad = ~never_ran & ~missing_arrival & (duration < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(tasks.source, i + 2, "deletion_time", "is before scheduled_time")
    if keep_unrun:
        duration = np.where(never_ran, 0.0, duration)
        never_ran = np.zeros(len(tasks), dtype=bool)
    keep = ~never_ran & ~missing_arrival
    excluded = {}
    if never_ran.any():
        excluded["never_ran"] = int(never_ran.sum())
    if (missing_arrival & ~never_ran).any():
        excluded["no_creation_time"] = int((missing_arrival & ~never_ran).sum())
    for reason, count in excluded.items():
        log.info("%s: left out %d task(s): %s", tasks.source, count, reason.replace("_", " "))
    idx = np.flatnonzero(keep)
    if not len(idx):
        what = f"none of its {len(tasks)} pods has creation_time, scheduled_time and deletion_time"
        raise TraceError(tasks.source, 2, "scheduled_time", f"nothing to replay: {what} (they never ran)")
    users = np.full(len(idx), "", dtype=object)
    arrival = tasks.creation_time[idx] - tasks.creation_time[idx].min()  # from the first arrival
    return in_arrival_order(tasks.take(idx), arrival, duration[idx], users, tasks.source, excluded)
