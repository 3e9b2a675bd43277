"""Microsoft Philly trace (``philly-traces``, ATC'19).

- ``cluster_machine_list`` (``--nodes``): ``machineId, number of GPUs, single GPU mem`` (a
  space after each comma, memory as `` 12GB``): one node per machine with its GPUs, of a
  model named by their memory (``philly-12GB``, ``philly-24GB``). CPU and memory are not in
  the trace: nodes get enough never to limit placement.
- ``cluster_job_log`` (``--jobs``): one JSON array of jobs. A job's placement is its last
  attempt with both times (earlier attempts were retries): run time = that attempt's end -
  start, GPUs = all ``gpus`` of its ``detail`` (one entry per server). A job on one server
  is one task of that many GPUs; on S servers, a gang of S tasks of ceil(GPUs / S) each.
  Arrival: ``submitted_time`` (``YYYY-MM-DD HH:MM:SS``, read as given, zone unknown).
  Missing times are JSON null, "" or "None". Left out (counted by reason): jobs with no
  attempt, or no attempt with both times. Status (Pass / Killed / Failed) is not used: a
  killed job still held its GPUs for the time it ran.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.formats.base import Format, register, tasks_of
from schedlab.formats.spot_gpu import UNKNOWN_MEMORY_MIB
from schedlab.trace.columns import check_unique, read_integers, read_strings
from schedlab.trace.csvfile import read_rows
from schedlab.trace.tables import GPU_MILLI, Nodes
from schedlab.workload.gangs import expand_gangs
from schedlab.workload.timed import TimedWorkload

MACHINE_COLUMNS = ("machineId", "number of GPUs", "single GPU mem")
#: CPU of a Philly node (milli): not in the trace, large enough never to bind.
UNKNOWN_CPU_MILLI = 1 << 30
MISSING = (None, "", "None")
Row = tuple[str, str, float, float, int, int]  # name, user, submitted, run time, GPUs, servers


def _given(value: Any) -> bool:
    return value not in MISSING


def load_machines(path: Path) -> Nodes:
    frame = read_rows(path, MACHINE_COLUMNS)
    names = read_strings(frame, "machineId")
    check_unique(path, names, "machineId", "machine id")
    memory = read_strings(frame, "single GPU mem")
    n = len(frame)
    return Nodes(
        name=names,
        cpu_milli=np.full(n, UNKNOWN_CPU_MILLI, dtype=np.int64),
        memory_mib=np.full(n, UNKNOWN_MEMORY_MIB, dtype=np.int64),
        num_gpu=read_integers(path, frame, "number of GPUs", high=64),
        model=np.array([f"philly-{m}" for m in memory], dtype=object),
        source=str(path),
    )


def load_jobs(path: Path) -> TimedWorkload:
    """The job log as a workload (see the module's text)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise TraceError(path, err.lineno, None, f"not valid JSON: {err.msg}") from None
    except UnicodeDecodeError:
        raise TraceError(path, 0, None, "not UTF-8 text") from None
    jobs = doc if isinstance(doc, list) else [doc]
    rows: list[Row] = []
    dropped = {"no attempt": 0, "no attempt with start and end times": 0}
    for i, job in enumerate(jobs):
        if not isinstance(job, dict):
            raise TraceError(path, 0, None, f"job {i}: expected an object, got {type(job).__name__}")
        name = _text(path, i, job, "jobid")
        attempts = job.get("attempts") or []
        if not attempts:
            dropped["no attempt"] += 1
            continue
        done = [
            a for a in attempts if a.get("start_time") not in MISSING and a.get("end_time") not in MISSING
        ]
        if not done:
            dropped["no attempt with start and end times"] += 1
            continue
        last = done[-1]
        start, end = _time(path, i, last["start_time"]), _time(path, i, last["end_time"])
        if end < start:
            raise TraceError(path, 0, "end_time", f"job {name}: the attempt ends before it starts")
        servers = last.get("detail") or []
        gpus = sum(len(server.get("gpus") or []) for server in servers)
        submitted = _time(path, i, job.get("submitted_time"))
        rows.append((name, str(job.get("user") or ""), submitted, end - start, gpus, max(len(servers), 1)))
    return _workload(path, rows, {k: v for k, v in dropped.items() if v})


def _text(path: Path, i: int, job: dict[str, Any], key: str) -> str:
    value = job.get(key)
    if not isinstance(value, str) or not value:
        raise TraceError(path, 0, key, f"job {i}: missing or not a string")
    return value


def _time(path: Path, i: int, value: Any) -> float:
    """Seconds since the epoch of a ``YYYY-MM-DD HH:MM:SS`` string (zone as given)."""
    if value in MISSING:
        raise TraceError(path, 0, "submitted_time", f"job {i}: missing time")
    try:
        stamp = pd.Timestamp(str(value))
    except ValueError:
        raise TraceError(path, 0, "time", f"job {i}: not a time: {value!r}") from None
    return float(stamp.value) / 1e9


def _workload(
    path: Path, rows: list[tuple[str, str, float, float, int, int]], dropped: dict[str, int]
) -> TimedWorkload:
    rows.sort(key=lambda r: r[2])
    n = len(rows)
    if not n:
        raise TraceError(path, 0, None, f"no job to replay ({dropped or 'empty log'})")
    submitted = np.array([r[2] for r in rows])
    servers = np.array([r[5] for r in rows], dtype=np.int64)
    gpus = np.array([r[4] for r in rows], dtype=np.int64)
    per_task = np.array([math.ceil(g / s) for g, s in zip(gpus, servers, strict=True)], dtype=np.int64)
    names = np.array([r[0] for r in rows], dtype=object)
    milli = np.where(per_task > 0, GPU_MILLI, 0)
    tasks = tasks_of(names, np.full(n, 100), np.zeros(n), per_task, milli, submitted - submitted[0], path)
    users = np.array([r[1] for r in rows], dtype=object)
    workload = TimedWorkload(
        tasks, submitted - submitted[0], np.array([r[3] for r in rows]), users, str(path), dropped
    )
    return expand_gangs(workload, servers)


register(
    Format(
        "philly-machines",
        "nodes",
        "Microsoft Philly machine list",
        lambda peek: set(MACHINE_COLUMNS) <= peek.columns,
        load_machines,
        "one node per machine with its GPUs (model philly-<GPU memory>); CPU and memory unconstrained",
    )
)
register(
    Format(
        "philly-jobs",
        "jobs",
        "Microsoft Philly job log (JSON)",
        lambda peek: peek.is_json and ("jobid" in peek.head or "attempts" in peek.head),
        load_jobs,
        "one job per entry, placed as its last attempt with times: one task of its GPUs, or a"
        " gang of one task per server; arrival submitted_time; jobs without attempts left out",
    )
)
