"""Workloads with time: each task has an arrival time and a run time (on a speed-1 GPU).

Sources: an openb pod list on its own timeline (:func:`from_openb`), a generic job CSV
(:func:`load_jobs`), or a synthetic workload (:mod:`schedlab.workload.synth`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.trace.csvfile import (
    check_unique,
    concat,
    line,
    read_csv_chunks,
    read_integers,
    read_positive,
    read_qos,
    read_strings,
    read_times,
    release_memory,
    time_origin,
)
from schedlab.trace.openb import MAX_NODE_GPUS, check_gpu_request
from schedlab.trace.tables import GPU_MILLI, BoolArray, FloatArray, StrArray, Tasks, effective_cpu

log = logging.getLogger(__name__)

JOB_COLUMNS = ("id", "submit_time", "duration", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
JOB_OPTIONAL = ("gpu_spec", "qos", "user", "profile", "rate_rps", "slo_ms", "warmup")
#: QoS values of latency-sensitive tasks; every other value is best-effort.
LS_QOS = frozenset({"LS", "Guaranteed"})


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

    def head(self, n: int) -> TimedWorkload:
        idx = np.arange(min(n, len(self)))
        return TimedWorkload(
            self.tasks.take(idx),
            self.arrival[idx],
            self.duration[idx],
            self.user[idx],
            self.source,
            self.excluded,
            None if self.profile is None else self.profile[idx],
            None if self.rate_rps is None else self.rate_rps[idx],
            None if self.slo_ms is None else self.slo_ms[idx],
            None if self.warmup is None else self.warmup[idx],
        )


def _sorted(
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
) -> TimedWorkload:
    if len(arrival) < 2 or bool((arrival[1:] >= arrival[:-1]).all()):  # already in order: no copies
        return TimedWorkload(
            tasks, arrival, duration, user, source, excluded, profile, rate_rps, slo_ms, warmup
        )
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
    )


def from_openb(tasks: Tasks) -> TimedWorkload:
    """An openb pod list on its own timeline: arrival = ``creation_time``, run time =
    ``deletion_time - scheduled_time``.

    Rows without ``scheduled_time`` never ran in the trace (Pending at its end): their run
    time is unknown, so they are left out and counted in ``excluded["never_ran"]``.
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
    return _sorted(tasks.take(idx), arrival, duration[idx], users, tasks.source, excluded)


def load_jobs(path: str | Path) -> TimedWorkload:
    """Load a generic job CSV.

    Required columns: ``id, submit_time, duration`` (seconds), ``cpu_milli, memory_mib,
    num_gpu, gpu_milli``; optional: ``gpu_spec`` (models separated by ``|``), ``qos`` (LS or
    Guaranteed = latency-sensitive, anything else best-effort), ``user``, ``profile`` (the
    task's configuration for interference models, e.g. ``resnet50/8``; empty = none).
    """
    workload = _parse_jobs(Path(path))
    release_memory()
    return workload


def _parse_jobs(path: Path) -> TimedWorkload:
    parts = []
    origin = None
    for frame in read_csv_chunks(path, JOB_COLUMNS):
        origin = time_origin(frame, "submit_time") if origin is None else origin
        submit = read_times(path, frame, "submit_time", origin)
        duration = read_times(path, frame, "duration")
        for col, values in (("submit_time", submit), ("duration", duration)):
            if np.isnan(values).any():
                raise TraceError(
                    path, line(frame, int(np.flatnonzero(np.isnan(values))[0])), col, "missing value"
                )
        num_gpu = read_integers(path, frame, "num_gpu", high=MAX_NODE_GPUS)
        milli = read_integers(path, frame, "gpu_milli", high=GPU_MILLI)
        check_gpu_request(path, num_gpu, milli, int(frame.index[0]))
        parts.append(
            {
                "name": read_strings(frame, "id"),
                "cpu_milli": effective_cpu(read_integers(path, frame, "cpu_milli")),
                "memory_mib": read_integers(path, frame, "memory_mib"),
                "num_gpu": num_gpu,
                "gpu_milli": milli,
                "gpu_spec": read_strings(frame, "gpu_spec"),
                "qos": read_qos(path, frame),
                "submit": submit,
                "duration": duration,
                "user": read_strings(frame, "user"),
                "profile": read_strings(frame, "profile"),
                "rate_rps": read_positive(path, frame, "rate_rps"),
                "slo_ms": read_positive(path, frame, "slo_ms"),
                "warmup": _read_flag(path, frame, "warmup"),
            }
        )
        _check_services(path, frame, parts[-1])
    cols = concat(parts)
    check_unique(path, cols["name"], "id", "job id")
    cols["submit"] -= cols["submit"].min()  # rebased to the first arrival (exact: see read_times)
    n = len(cols["submit"])
    nan = np.full(n, np.nan)
    submit, duration, user = cols.pop("submit"), cols.pop("duration"), cols.pop("user")
    profile, rate, slo = cols.pop("profile"), cols.pop("rate_rps"), cols.pop("slo_ms")
    warm = cols.pop("warmup").astype(bool)
    services = bool((~np.isnan(rate)).any())
    tasks = Tasks(
        **cols,
        pod_phase=np.full(n, "", dtype=object),  # one shared empty string
        creation_time=submit,
        deletion_time=nan,  # never written: one array serves both
        scheduled_time=nan,
        source=str(path),
    )
    has_profile = bool((profile != "").any())
    return _sorted(
        tasks,
        submit,
        duration,
        user,
        str(path),
        {},
        profile if has_profile else None,
        rate if services else None,
        slo if services else None,
        warm if warm.any() else None,
    )


def _read_flag(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """An optional 0/1 column (empty: 0)."""
    if col not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64)
    raw = frame[col].str.strip()
    bad = ~raw.isin(["", "0", "1"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(frame, i), col, f"must be 0 or 1: '{raw.iloc[i]}'")
    return (raw == "1").to_numpy().astype(np.int64)


def _check_services(path: Path, frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    """A service (a row with ``rate_rps``) needs ``slo_ms`` and an inference ``profile``;
    a batch job has neither a rate nor an SLO."""
    service = ~np.isnan(cols["rate_rps"])
    for bad, col, why in (
        (service & np.isnan(cols["slo_ms"]), "slo_ms", "a service (a row with rate_rps) needs slo_ms"),
        (service & (cols["profile"] == ""), "profile", "a service (a row with rate_rps) needs a profile"),
        (
            ~service & ~np.isnan(cols["slo_ms"]),
            "rate_rps",
            "slo_ms without rate_rps: give the service's rate",
        ),
    ):
        if bad.any():
            raise TraceError(path, line(frame, int(np.flatnonzero(bad)[0])), col, why)


def write_jobs(workload: TimedWorkload, path: Path) -> None:
    """Write a workload as a generic job CSV (readable by :func:`load_jobs`)."""
    t = workload.tasks
    extra: dict[str, np.ndarray] = {}
    if workload.profile is not None:
        extra["profile"] = workload.profile
    if workload.rate_rps is not None and workload.slo_ms is not None:
        extra |= {"rate_rps": workload.rate_rps, "slo_ms": workload.slo_ms}
    if workload.warmup is not None:
        extra["warmup"] = workload.warmup.astype(np.int64)
    pd.DataFrame(
        {
            "id": t.name,
            "submit_time": workload.arrival,
            "duration": workload.duration,
            "cpu_milli": t.cpu_milli,
            "memory_mib": t.memory_mib,
            "num_gpu": t.num_gpu,
            "gpu_milli": t.gpu_milli,
            "gpu_spec": t.gpu_spec,
            "qos": t.qos,
            "user": workload.user,
        }
        | extra
    ).to_csv(path, index=False, float_format="%.6f")
