"""SenseTime Helios traces (``HeliosData``, SC'21).

- ``cluster_log.csv`` (``--jobs``): ``job_id, user, vc, gpu_num, cpu_num, node_num, state,
  submit_time, start_time, end_time, duration, queue``. One job per row: arrival
  ``submit_time`` (``YYYY-MM-DD HH:MM:SS``, zone not given), run time ``duration`` as given
  (seconds). A job on one node is one task of ``gpu_num`` GPUs and ``cpu_num`` cores; on
  ``node_num`` nodes, a gang of ``node_num`` tasks of ceil(gpu_num / node_num) GPUs and
  ceil(cpu_num / node_num) cores each. The user is ``user``; ``vc`` and ``state`` are not
  used (every final state held its GPUs for its duration). Left out (counted): CPU-only jobs
  (``gpu_num`` 0; about half of all jobs: these are GPU clusters' batch CPU work).
- ``cluster_gpu_number.csv`` (``--nodes``): per day, each VC's GPU count and ``total``;
  the cluster at its largest day, as ``total / 8`` nodes of 8 GPUs (every Helios node has 8).
  CPU and memory unconstrained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.formats.base import Format, register, tasks_of
from schedlab.formats.philly import UNKNOWN_CPU_MILLI
from schedlab.formats.spot_gpu import UNKNOWN_MEMORY_MIB
from schedlab.trace.columns import check_unique, line, read_integers, read_strings
from schedlab.trace.csvfile import read_rows
from schedlab.trace.tables import GPU_MILLI, Nodes
from schedlab.workload.gangs import MAX_GANG, expand_gangs
from schedlab.workload.timed import TimedWorkload

LOG_COLUMNS = ("job_id", "user", "gpu_num", "cpu_num", "node_num", "submit_time", "duration")
GPUS_PER_NODE = 8


def load_log(path: Path) -> TimedWorkload:
    frame = read_rows(path, LOG_COLUMNS)
    names = read_strings(frame, "job_id")
    check_unique(path, names, "job_id", "job id")
    gpus = read_integers(path, frame, "gpu_num")
    cpus = read_integers(path, frame, "cpu_num")
    nodes = read_integers(path, frame, "node_num", high=MAX_GANG)
    duration = read_integers(path, frame, "duration").astype(np.float64)
    submitted = pd.to_datetime(frame["submit_time"].str.strip(), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    bad = submitted.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = frame["submit_time"].iloc[i]
        raise TraceError(path, line(frame, i), "submit_time", f"not a YYYY-MM-DD HH:MM:SS time: '{text}'")
    keep = gpus > 0
    servers = np.maximum(nodes, 1)[keep]
    per_gpu = -(-gpus[keep] // servers)
    if (per_gpu > GPUS_PER_NODE * 8).any():
        i = int(np.flatnonzero(keep)[int(np.flatnonzero(per_gpu > GPUS_PER_NODE * 8)[0])])
        raise TraceError(path, line(frame, i), "gpu_num", f"{gpus[i]} GPUs on {nodes[i]} node(s)")
    seconds = (submitted.to_numpy()[keep] - submitted.to_numpy()[keep].min()) / np.timedelta64(1, "s")
    order = np.argsort(seconds, kind="stable")
    cpu_milli = -(-cpus[keep] // servers) * 1000
    tasks = tasks_of(names[keep], cpu_milli, 0 * per_gpu, per_gpu, per_gpu * 0 + GPU_MILLI, seconds, path)
    dropped = {"CPU-only job": int((~keep).sum())} if (~keep).any() else {}
    users = read_strings(frame, "user")[keep]
    workload = TimedWorkload(
        tasks.take(order), seconds[order], duration[keep][order], users[order], str(path), dropped
    )
    return expand_gangs(workload, servers[order])


def load_gpu_numbers(path: Path) -> Nodes:
    frame = read_rows(path, ("date", "total"))
    total = read_integers(path, frame, "total")
    nodes = int(total.max()) // GPUS_PER_NODE
    if nodes < 1:
        raise TraceError(path, 2, "total", "no day has a GPU")
    return Nodes(
        name=np.array([f"helios-{i:04d}" for i in range(nodes)], dtype=object),
        cpu_milli=np.full(nodes, UNKNOWN_CPU_MILLI, dtype=np.int64),
        memory_mib=np.full(nodes, UNKNOWN_MEMORY_MIB, dtype=np.int64),
        num_gpu=np.full(nodes, GPUS_PER_NODE, dtype=np.int64),
        model=np.full(nodes, "helios", dtype=object),
        source=str(path),
    )


register(
    Format(
        "helios-jobs",
        "jobs",
        "SenseTime Helios cluster log",
        lambda peek: set(LOG_COLUMNS) <= peek.columns,
        load_log,
        "one job per row: a task of gpu_num GPUs, or a gang of node_num tasks; arrival"
        " submit_time, run time duration; CPU-only jobs left out",
    )
)
register(
    Format(
        "helios-gpus",
        "nodes",
        "SenseTime Helios daily GPU counts",
        lambda peek: {"date", "total"} <= peek.columns,
        load_gpu_numbers,
        "the cluster at its largest day: total / 8 nodes of 8 GPUs; CPU and memory unconstrained",
    )
)
