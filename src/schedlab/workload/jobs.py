"""Generic job CSVs: reading them strictly (:func:`load_jobs`) and writing them
(:func:`write_jobs`, the format ``schedlab synth`` writes and ``replay --jobs`` reads)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.trace.columns import (
    check_unique,
    line,
    read_caps,
    read_integers,
    read_names,
    read_positive,
    read_qos,
    read_strings,
    read_times,
    text_column,
    time_origin,
)
from schedlab.trace.csvfile import concat, read_csv_chunks, release_memory
from schedlab.trace.openb import MAX_NODE_GPUS, check_gpu_request
from schedlab.trace.tables import GPU_MILLI, Tasks, effective_cpu
from schedlab.workload.gangs import MAX_GANG, expand_gangs, gang_sizes
from schedlab.workload.timed import LlmServices, TimedWorkload, in_arrival_order

log = logging.getLogger(__name__)

JOB_COLUMNS = ("id", "submit_time", "duration", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
JOB_OPTIONAL = (
    "gpu_spec", "qos", "user", "profile", "rate_rps", "slo_ms", "warmup", "gang_size", "max_per_node",
    "llm_model", "llm_rate_rps", "ttft_ms", "tbt_ms", "queue", "priority",
)  # fmt: skip
LLM_COLUMNS = ("llm_model", "llm_rate_rps", "ttft_ms", "tbt_ms")


def load_jobs(path: str | Path) -> TimedWorkload:
    """Load a generic job CSV.

    Required columns: ``id, submit_time, duration`` (seconds), ``cpu_milli, memory_mib,
    num_gpu, gpu_milli``; optional: ``gpu_spec`` (models separated by ``|``), ``qos`` (LS or
    Guaranteed = latency-sensitive, anything else best-effort), ``user``, ``profile`` (the
    task's configuration for interference models, e.g. ``resnet50/8``; empty = none),
    ``gang_size`` (a row of N > 1 is a gang of N tasks of its shape, named ``<id>/0`` ..),
    ``max_per_node`` (anti-affinity: at most this many running tasks of the row's user on one
    node; -1 or empty: no cap), ``llm_model`` (an LLM serving replica of this model card on
    the row's whole GPUs, with ``llm_rate_rps`` requests/s and ``ttft_ms``, ``tbt_ms``
    targets; see docs/llm.md), ``queue`` and ``priority`` (a Kueue LocalQueue
    ``namespace/name`` and a priority class name or integer; see docs/kueue.md). Another
    column is a warning (it is ignored).
    """
    workload = _parse_jobs(Path(path))
    release_memory()
    return workload


def _parse_jobs(path: Path) -> TimedWorkload:
    parts = []
    origin = None
    for frame in read_csv_chunks(path, JOB_COLUMNS):
        if origin is None:
            _warn_unknown(path, frame)
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
                "name": read_names(frame, "id"),
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
                "gang_size": _read_gang_sizes(path, frame),
                "max_per_node": read_caps(path, frame, "max_per_node")
                if "max_per_node" in frame.columns
                else np.full(len(frame), -1, dtype=np.int64),
                "llm_model": read_strings(frame, "llm_model"),
                "queue": read_strings(frame, "queue"),
                "priority": read_strings(frame, "priority"),
                **{col: read_positive(path, frame, col) for col in LLM_COLUMNS[1:]},
            }
        )
        _check_services(path, frame, parts[-1])
        _check_llm(path, frame, parts[-1])
    release_memory()  # the parser's buffers, before the columns are joined
    cols = concat(parts)
    check_unique(path, cols["name"], "id", "job id")
    cols["submit"] -= cols["submit"].min()  # rebased to the first arrival (exact: see read_times)
    n = len(cols["submit"])
    nan = np.full(n, np.nan)
    submit, duration, user = cols.pop("submit"), cols.pop("duration"), cols.pop("user")
    profile, rate, slo = cols.pop("profile"), cols.pop("rate_rps"), cols.pop("slo_ms")
    warm = cols.pop("warmup").astype(bool)
    sizes = cols.pop("gang_size")
    caps = cols.pop("max_per_node")
    llm = LlmServices(*(cols.pop(col) for col in LLM_COLUMNS))
    queue, priority = cols.pop("queue"), cols.pop("priority")
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
    ordered = in_arrival_order(
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
        sizes,  # as the gang column for now: sorted with the rows, then expanded
        caps if (caps >= 0).any() else None,
        llm if llm.is_llm.any() else None,
        queue if (queue != "").any() else None,
        priority if (priority != "").any() else None,
    )
    return expand_gangs(replace(ordered, gang=None), ordered.gang) if ordered.gang is not None else ordered


def _warn_unknown(path: Path, frame: pd.DataFrame) -> None:
    """One warning naming the columns that are not job-CSV columns (they are ignored)."""
    unknown = [c for c in frame.columns if c not in JOB_COLUMNS and c not in JOB_OPTIONAL]
    if unknown:
        log.warning(
            "%s: column%s %s ignored (a job CSV has %s)",
            path,
            "s" if len(unknown) > 1 else "",
            ", ".join(repr(c) for c in unknown),
            ", ".join(JOB_COLUMNS + JOB_OPTIONAL),
        )


def _read_gang_sizes(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """The optional ``gang_size`` column: tasks per row, 1 to :data:`MAX_GANG` (empty: 1)."""
    if "gang_size" not in frame.columns:
        return np.ones(len(frame), dtype=np.int64)
    sized = frame.assign(gang_size=frame["gang_size"].str.strip().replace("", "1"))
    return read_integers(path, sized, "gang_size", low=1, high=MAX_GANG)


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


def _check_llm(path: Path, frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    """An LLM replica (a row with ``llm_model``) needs its rate and both targets and a GPU
    (whole GPUs, or a share of one that it time-slices with others), and is no other kind of
    service; its ``profile`` (the measured configuration that stands in for it in the
    interference model) only on a shared GPU; the LLM columns belong to such rows only."""
    llm = cols["llm_model"] != ""
    checks = [
        (llm & np.isnan(cols[col]), col, f"an LLM replica (a row with llm_model) needs {col}")
        for col in LLM_COLUMNS[1:]
    ]
    checks += [(~llm & ~np.isnan(cols[col]), col, f"{col} without llm_model") for col in LLM_COLUMNS[1:]]
    checks += [
        (llm & (cols["num_gpu"] < 1), "num_gpu", "an LLM replica needs a GPU (num_gpu >= 1)"),
        (llm & ~np.isnan(cols["rate_rps"]), "llm_model",
         "an LLM replica has no rate_rps (that describes M/D/1 services: llm_rate_rps is its rate)"),
        (llm & (cols["profile"] != "") & (cols["gpu_milli"] >= GPU_MILLI), "profile",
         "a profile stands in for an LLM replica that shares its GPU (gpu_milli < 1000); a replica"
         " on whole GPUs has no co-runners"),
    ]  # fmt: skip
    for bad, col, why in checks:
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
    if workload.max_per_node is not None:
        extra["max_per_node"] = workload.max_per_node
    for name in ("queue", "priority"):
        if getattr(workload, name) is not None:
            extra[name] = getattr(workload, name)
    if workload.llm is not None:
        extra |= dict(
            zip(
                LLM_COLUMNS,
                (workload.llm.model, workload.llm.rate_rps, workload.llm.ttft_ms, workload.llm.tbt_ms),
                strict=True,
            )
        )
    rows = np.arange(len(workload))
    if workload.has_gangs:  # one row per gang, named as before expansion
        sizes = gang_sizes(workload)
        rows = np.flatnonzero(sizes)
        extra["gang_size"] = sizes
        workload = replace(workload, tasks=replace(t, name=_gang_names(t.name, sizes)))
        t = workload.tasks
    pd.DataFrame(
        {
            "id": text_column(t.name),
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
    ).iloc[rows].to_csv(path, index=False, float_format="%.6f")


def _gang_names(names: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Names with the member suffix ``/0`` of gang leaders taken off."""
    result = names.copy()
    ganged = sizes > 1
    result[ganged] = [str(name).rsplit("/", 1)[0] for name in names[ganged]]
    return result
