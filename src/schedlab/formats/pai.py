"""Alibaba PAI GPU cluster trace 2020 (``cluster-trace-gpu-v2020``): headerless CSVs whose
column names are in ``.header`` files (read from beside the CSV when present, else the
documented ones).

- ``pai_machine_spec.csv`` (``--nodes``): one node per machine, ``cap_cpu`` cores x 1000
  milli, ``cap_mem`` GB x 1024 MiB, ``cap_gpu`` GPUs of ``gpu_type`` (``CPU`` machines have
  none; ``MISC`` = older K40m/K80/M60).
- ``pai_task_table.csv`` (``--jobs``): one job per task row with ``inst_num`` instances: a
  gang of that many tasks when there are several (distributed training starts them
  together), each asking ``plan_cpu`` % of a core (x 10 milli), ``plan_mem`` GB and
  ``plan_gpu`` % of a GPU (below 100: a share of one GPU; else ceil(plan_gpu / 100) whole
  GPUs). Arrival: the job's submission (``pai_job_table.csv`` beside it, whose ``start_time``
  is the submission) or else the task's ``start_time``; run time ``end_time - start_time``.
  Left out (counted by reason): tasks not ``Terminated`` or ``Failed`` (no end), rows
  without both times. ``gpu_type`` is the model the task got, not a constraint: not kept.
- ``pai_instance_table.csv`` and the other tables are recognised (``trace inspect`` counts
  their rows and statuses) but not replayed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.formats.base import Format, Peek, register, tasks_of
from schedlab.trace.columns import check_unique, line, read_integers, read_numbers, read_strings
from schedlab.trace.csvfile import read_headerless
from schedlab.trace.tables import GPU_MILLI, Nodes
from schedlab.workload.gangs import MAX_GANG, expand_gangs
from schedlab.workload.timed import TimedWorkload

HEADERS = {
    "pai_machine_spec": ("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu"),
    "pai_task_table": (
        "job_name", "task_name", "inst_num", "status", "start_time", "end_time",
        "plan_cpu", "plan_mem", "plan_gpu", "gpu_type",
    ),
    "pai_job_table": ("job_name", "inst_id", "user", "status", "start_time", "end_time"),
    "pai_instance_table": (
        "job_name", "task_name", "inst_name", "worker_name", "inst_id", "status",
        "start_time", "end_time", "machine",
    ),
}  # fmt: skip
FINISHED = ("Terminated", "Failed")


def table_of(path: Path) -> str | None:
    """Which PAI table a file holds, by its name (``pai_task_table.csv``, ``...-sample.csv``)."""
    return next((name for name in HEADERS if path.name.startswith(name)), None)


def read_table(path: Path, table: str) -> pd.DataFrame:
    """A headerless PAI table, its columns named by the ``.header`` file beside it (checked
    against the documented ones) or the documented names."""
    names = HEADERS[table]
    header = path.with_name(f"{table}.header")
    if header.is_file():
        given = tuple(c.strip() for c in header.read_text().strip().split(","))
        if given != names:
            raise TraceError(header, 1, None, f"expected the columns {', '.join(names)}")
    frame = read_headerless(path, names)
    if not len(frame):
        raise TraceError(path, 1, None, "no data rows")
    return frame


def load_machines(path: Path) -> Nodes:
    frame = read_table(path, "pai_machine_spec")
    names = read_strings(frame, "machine")
    check_unique(path, names, "machine", "machine name")
    gpus = read_integers(path, frame, "cap_gpu", high=64)
    model = read_strings(frame, "gpu_type")
    return Nodes(
        name=names,
        cpu_milli=read_integers(path, frame, "cap_cpu", low=1) * 1000,
        memory_mib=read_integers(path, frame, "cap_mem") * 1024,
        num_gpu=gpus,
        model=np.where(gpus > 0, model, "").astype(object),
        source=str(path),
    )


def load_tasks(path: Path) -> TimedWorkload:
    """The task table as a workload (see the module's text)."""
    frame = read_table(path, "pai_task_table")
    status = read_strings(frame, "status")
    start, end = read_numbers(path, frame, "start_time"), read_numbers(path, frame, "end_time")
    unfinished = ~np.isin(status, FINISHED)
    no_times = ~unfinished & (np.isnan(start) | np.isnan(end))
    keep = ~(unfinished | no_times)
    backwards = keep & (end < start)
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0])
        raise TraceError(path, line(frame, i), "end_time", "before start_time")
    rows = frame[keep]
    instances = read_numbers(path, rows, "inst_num")
    bad = (
        ~np.isfinite(instances)
        | (instances < 1)
        | (instances != np.floor(instances))
        | (instances > MAX_GANG)
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(rows, i), "inst_num", f"must be a whole number from 1 to {MAX_GANG}")
    cpu = np.nan_to_num(read_numbers(path, rows, "plan_cpu")) * 10
    mem = np.nan_to_num(read_numbers(path, rows, "plan_mem")) * 1024
    gpu = np.nan_to_num(read_numbers(path, rows, "plan_gpu"))
    whole = gpu >= 100
    num_gpu = np.where(whole, np.ceil(gpu / 100), np.where(gpu > 0, 1, 0)).astype(np.int64)
    milli = np.where(whole, GPU_MILLI, np.round(gpu * 10)).astype(np.int64)
    milli = np.where((gpu > 0) & (milli == 0), 1, milli)
    jobs = read_strings(rows, "job_name")
    arrival = start[keep]
    user = np.full(len(rows), "", dtype=object)
    job_table = path.with_name("pai_job_table.csv")
    if job_table.is_file():
        arrival, user = _submissions(job_table, jobs, arrival)
    n = len(rows)
    tasks_names = [f"{j}/{t}" for j, t in zip(jobs, read_strings(rows, "task_name"), strict=True)]
    names = np.array(tasks_names, dtype=object)
    tasks = tasks_of(names, np.round(cpu), np.round(mem), num_gpu, milli, arrival, path)
    reasons = (("not finished", unfinished.sum()), ("no start or end time", no_times.sum()))
    excluded = {reason: int(count) for reason, count in reasons if count}
    order = np.argsort(arrival, kind="stable")
    origin = float(arrival.min()) if n else 0.0
    workload = TimedWorkload(
        tasks.take(order),
        arrival[order] - origin,
        (end[keep] - start[keep])[order],
        user[order],
        str(path),
        excluded,
    )
    return expand_gangs(workload, instances.astype(np.int64)[order])


def _submissions(path: Path, jobs: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per task row: its job's submission time and user from the job table (the task's own
    start where the job is not listed)."""
    frame = read_table(path, "pai_job_table")
    submitted = pd.Series(read_numbers(path, frame, "start_time"), index=read_strings(frame, "job_name"))
    users = pd.Series(read_strings(frame, "user"), index=submitted.index)
    submitted = submitted[~submitted.index.duplicated()]
    users = users[~users.index.duplicated()]
    arrival = submitted.reindex(jobs).to_numpy(dtype=np.float64)
    arrival = np.where(np.isnan(arrival), fallback, np.minimum(arrival, fallback))
    user = users.reindex(jobs).fillna("").to_numpy(dtype=object)
    return arrival, user


register(
    Format(
        "pai-2020-machines",
        "nodes",
        "Alibaba PAI 2020 machine spec",
        lambda peek: _is(peek, "pai_machine_spec"),
        load_machines,
        "one node per machine: cap_cpu cores, cap_mem GB, cap_gpu GPUs of gpu_type",
    )
)
register(
    Format(
        "pai-2020-tasks",
        "jobs",
        "Alibaba PAI 2020 task table",
        lambda peek: _is(peek, "pai_task_table"),
        load_tasks,
        "one job per task row, a gang of inst_num tasks; plan_cpu % of a core, plan_mem GB,"
        " plan_gpu % of a GPU; arrival = job submission (pai_job_table beside it) or task start;"
        " unfinished tasks left out",
    )
)


def _is(peek: Peek, table: str) -> bool:
    return table_of(peek.path) == table and peek.fields == len(HEADERS[table])


def count_statuses(path: Path, table: str) -> dict[str, int]:
    """Rows per status of a PAI table (for ``trace inspect``)."""
    frame = read_table(path, table)
    values, counts = np.unique(read_strings(frame, "status"), return_counts=True)
    return {str(v) or "(empty)": int(c) for v, c in zip(values, counts, strict=True)}


for _table in ("pai_job_table", "pai_instance_table"):
    register(
        Format(
            f"pai-2020-{_table.split('_')[1]}s",
            "table",
            f"Alibaba PAI 2020 {_table.split('_')[1]} table",
            lambda peek, t=_table: _is(peek, t),  # type: ignore[misc]
            lambda path, t=_table: count_statuses(path, t),  # type: ignore[misc]
            "recognised; rows counted by status (not replayed)",
        )
    )
