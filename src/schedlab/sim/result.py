"""The typed result of a replay: per-task records, attempts, time series and the summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from schedlab.metrics.breakdown import MAX_USERS, breakdown, several
from schedlab.metrics.latency import latency_stats
from schedlab.sim.config import ReplayConfig
from schedlab.trace.columns import text_column
from schedlab.trace.tables import BoolArray, FloatArray, IntArray
from schedlab.workload.classes import GPU_CLASSES, gpu_class_index
from schedlab.workload.gangs import gang_layout
from schedlab.workload.timed import TimedWorkload

WAITING, RUNNING, DONE, REJECTED, FUTURE = 0, 1, 2, 3, 4
#: What a task is reported as: completed, unfinished or rejected (a categorical column).
REPORTED = pd.CategoricalDtype(["completed", "unfinished", "rejected"])
#: The reported category of each internal task state, indexed by state.
REPORTED_CODE = np.array([1, 1, 0, 2, 1], dtype=np.int8)


@dataclass
class ReplayResult:
    """Per-task records, every run attempt, time series and the summary of one simulation."""

    config: ReplayConfig
    tasks: pd.DataFrame
    attempts: pd.DataFrame
    series: pd.DataFrame
    frag_series: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    #: Per-user outcomes (:func:`schedlab.metrics.fairness.user_table`) when there are several users.
    users: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class TaskOutcome:
    """Per task, as the simulation left it (arrays indexed by task)."""

    status: IntArray
    start: FloatArray
    end: FloatArray
    node: IntArray
    gpu_mask: IntArray
    preemptions: IntArray
    ran: FloatArray

    @classmethod
    def before_start(cls, n: int) -> TaskOutcome:
        """``n`` tasks yet to arrive: no start or end, no node, no run time."""
        return cls(
            status=np.full(n, FUTURE, dtype=np.int64),
            start=np.full(n, np.nan),
            end=np.full(n, np.nan),
            node=np.full(n, -1, dtype=np.int64),
            gpu_mask=np.zeros(n, dtype=np.int64),
            preemptions=np.zeros(n, dtype=np.int64),
            ran=np.zeros(n),
        )


def task_table(
    workload: TimedWorkload, shape_of: IntArray, is_ls: np.ndarray, out: TaskOutcome
) -> pd.DataFrame:
    """One row per task: its facts, times, placement and status."""
    done = out.status == DONE
    jct = np.where(done, out.end - workload.arrival, np.nan)
    wait = np.where(done, jct - out.ran, np.nan)
    frame = pd.DataFrame(
        {
            "task": np.arange(len(workload)),
            "name": text_column(workload.tasks.name),
            "qos": workload.tasks.qos,
            "ls": is_ls,
            "shape": shape_of,
            "num_gpu": workload.tasks.num_gpu,
            "gpu_milli": workload.tasks.gpu_milli,
            "cpu_milli": workload.tasks.cpu_milli,
            "memory_mib": workload.tasks.memory_mib,
            "gpu_spec": workload.tasks.gpu_spec,
            "user": workload.user,
            "arrival": workload.arrival,
            "duration": workload.duration,
            "start": out.start,
            "end": out.end,
            "node": out.node,
            "gpu_mask": out.gpu_mask.view(np.uint64),  # bit g: GPU g (up to 64)
            "preemptions": out.preemptions,
            "run_time": out.ran,
            "jct": jct,
            "wait": wait,
            "status": pd.Categorical.from_codes(REPORTED_CODE[out.status], dtype=REPORTED),
        },
        copy=False,
    )
    if workload.warmup is not None:
        frame["warmup"] = workload.warmup
    if workload.gang is not None:
        frame["gang"] = workload.gang
    return frame


def summarize(
    tasks: pd.DataFrame,
    workload: TimedWorkload,
    config: ReplayConfig,
    lost_gpu_s: float,
    events: int,
    wall_s: float,
) -> dict[str, Any]:
    """The summary document: counts, JCT, wait and bounded slowdown statistics overall and per QoS class,
    preemptions, lost GPU-seconds, makespan, events, wall time and the configuration."""
    counted = ~workload.is_warmup  # a warm start's warm-up tasks are not measured
    status = tasks["status"]
    done = (status == "completed").to_numpy(dtype=bool) & counted
    ls = tasks["ls"].to_numpy(dtype=bool)
    times = {name: tasks[name].to_numpy() for name in ("jct", "wait")}
    times["slowdown"] = bounded_slowdown(times["jct"], tasks["duration"].to_numpy())
    doc: dict[str, Any] = {
        "tasks": int(counted.sum()),
        "completed": int(done.sum()),
        "unfinished": int(((status == "unfinished").to_numpy() & counted).sum()),
        "rejected": int(((status == "rejected").to_numpy() & counted).sum()),
        "excluded": dict(workload.excluded),
        "warmup_tasks": int((~counted).sum()),
    }
    for name, values in times.items():
        for stat, value in latency_stats(values[done]).items():
            doc[f"{name}_{stat}"] = value
    m = measured(workload)
    doc["by_class"] = class_breakdown(workload, done[m], {k: v[m] for k, v in times.items()})
    for label, mask in (("ls", done & ls), ("be", done & ~ls)):
        doc[label] = {"completed": int(mask.sum())} | {
            f"{name}_{stat}": value
            for name, values in times.items()
            for stat, value in latency_stats(values[mask]).items()
        }
    end = float(np.nanmax(tasks["end"].to_numpy()[done])) if done.any() else 0.0
    first = float(tasks["arrival"].to_numpy()[counted].min()) if counted.any() else 0.0
    doc |= {
        "preemptions": int(tasks["preemptions"].to_numpy()[counted].sum()),
        "lost_gpu_s": lost_gpu_s,
        "makespan": end - first,
        "events": events,
        "wall_s": round(wall_s, 4),
        "tasks_per_s": round(len(tasks) / wall_s, 1) if wall_s > 0 else None,
        "config": asdict(config),
        "workload": workload.source,
    }
    return doc


#: Run times below this many seconds count as this long in :func:`bounded_slowdown`.
SLOWDOWN_FLOOR_S = 10.0


def bounded_slowdown(jct: FloatArray, duration: FloatArray) -> FloatArray:
    """Bounded slowdown per task: max(1, JCT / max(run time, 10 s)), the run time being the
    task's own (on a speed-1 GPU); the floor keeps seconds-long tasks from dominating."""
    with np.errstate(invalid="ignore"):
        result: FloatArray = np.maximum(1.0, jct / np.maximum(duration, SLOWDOWN_FLOOR_S))
    return np.where(np.isnan(jct), np.nan, result)


def allocation_stats(series: pd.DataFrame, capacity_milli: int, until: float) -> dict[str, float]:
    """``alloc_mean_pct`` (time average from the first event to ``until``, the last arrival:
    while the workload plays, not while the last tasks drain) and ``alloc_peak_pct`` of the
    allocated GPU share, in % of the cluster's GPU capacity."""
    if not len(series) or capacity_milli <= 0:
        return {"alloc_mean_pct": 0.0, "alloc_peak_pct": 0.0}
    times = series["time"].to_numpy(dtype=np.float64)
    allocated = series["allocated_milli"].to_numpy()
    playing = int(np.searchsorted(times, until, side="right"))  # the rows are in time order
    if until > times[0]:
        mean = time_average(times[:playing], allocated[:playing], until)
    else:
        mean = float(allocated[0])
    return {
        "alloc_mean_pct": 100.0 * mean / capacity_milli,
        "alloc_peak_pct": 100.0 * float(allocated.max()) / capacity_milli,
    }


def time_average(times: FloatArray, values: FloatArray | IntArray, end: float) -> float:
    """Time average of a step function (``values[i]`` holds from ``times[i]`` to the next time)."""
    if not len(times) or end <= times[0]:
        return 0.0
    spans = np.diff(times, append=end)
    spans *= values  # in place: one temporary of the series' length, not three
    return float(spans.sum() / (end - times[0]))


def jct_inflation(tasks: pd.DataFrame, baseline: pd.DataFrame, service: BoolArray) -> float | None:
    """Batch jobs' mean JCT over their mean JCT in ``baseline`` (the same workload replayed
    without interference), over the jobs that completed in both; None if there are none."""
    both = (
        (tasks["status"] == "completed").to_numpy()
        & (baseline["status"] == "completed").to_numpy()
        & ~service
    )
    if not both.any():
        return None
    base = float(baseline["jct"].to_numpy()[both].mean())
    return float(tasks["jct"].to_numpy()[both].mean()) / base if base > 0 else None


def measured(workload: TimedWorkload) -> np.ndarray | slice:
    """Selects the measured tasks (not a warm start's warm-up ones): a slice when they are
    all of them, so that selecting makes views, not copies of a million rows."""
    counted = ~workload.is_warmup
    return slice(None) if counted.all() else counted


def class_breakdown(
    workload: TimedWorkload, done: np.ndarray, times: dict[str, FloatArray]
) -> dict[str, Any]:
    """:func:`~schedlab.metrics.breakdown.breakdown` of the measured tasks by GPU demand, QoS,
    user (up to :data:`~schedlab.metrics.breakdown.MAX_USERS`) and gang size (with gangs)."""
    counted = measured(workload)
    codes = gpu_class_index(workload.tasks)[counted]
    gpu = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(GPU_CLASSES)))
    classes: dict[str, Any] = {"gpu": gpu, "qos": workload.tasks.qos[counted]}
    users = workload.user[counted]
    if several(users) and len(pd.unique(users)) <= MAX_USERS:
        classes["user"] = users
    if workload.has_gangs:
        classes["gang_size"] = gang_layout(workload)[1][counted]
    return breakdown(classes, done, times)
