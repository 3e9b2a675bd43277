"""Alibaba GPU-disaggregated DLRM serving trace v2025 (``disaggregated_DLRM_trace.csv``,
NSDI'25): long-running, latency-sensitive inference instances.

One task per instance: ``cpu_request`` cores x 1000 milli, ``memory_request`` GiB x 1024
MiB, ``gpu_request`` whole GPUs (0 for the CPU nodes' instances, role CN; 1 for the GPU
nodes', role HN); QoS LS; user = ``app_name`` (the service). Arrival ``creation_time``
(empty: before the trace began, so at its start), run time until ``deletion_time`` (empty:
after the trace ended, so until its last recorded time). RDMA and disk requests are not
modelled. ``max_instance_per_node`` (per-service anti-affinity, -1 = none) is honoured: the
placer never puts more instances of one service on a node (reference path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.errors import TraceError
from schedlab.formats.base import Format, register, tasks_of
from schedlab.trace.columns import check_unique, line, read_caps, read_numbers, read_strings
from schedlab.trace.csvfile import read_rows
from schedlab.trace.tables import GPU_MILLI
from schedlab.workload.timed import TimedWorkload

COLUMNS = (
    "instance_sn", "role", "app_name", "cpu_request", "gpu_request", "memory_request",
    "max_instance_per_node", "creation_time", "deletion_time",
)  # fmt: skip


def load_instances(path: Path) -> TimedWorkload:
    frame = read_rows(path, COLUMNS)
    names = read_strings(frame, "instance_sn")
    check_unique(path, names, "instance_sn", "instance")
    cpu, mem = read_numbers(path, frame, "cpu_request"), read_numbers(path, frame, "memory_request")
    gpu = read_numbers(path, frame, "gpu_request")
    for col, values in (("cpu_request", cpu), ("memory_request", mem), ("gpu_request", gpu)):
        missing = np.isnan(values)
        if missing.any():
            raise TraceError(path, line(frame, int(np.flatnonzero(missing)[0])), col, "missing value")
    whole = gpu == np.floor(gpu)
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise TraceError(path, line(frame, i), "gpu_request", f"not a whole number of GPUs: {gpu[i]}")
    created, deleted = read_numbers(path, frame, "creation_time"), read_numbers(path, frame, "deletion_time")
    end = float(np.nanmax(np.r_[created, deleted]))
    arrival = np.nan_to_num(created, nan=0.0)
    leave = np.where(np.isnan(deleted), end, deleted)
    if (leave < arrival).any():
        i = int(np.flatnonzero(leave < arrival)[0])
        raise TraceError(path, line(frame, i), "deletion_time", "before creation_time")
    num_gpu = gpu.astype(np.int64)
    order = np.argsort(arrival, kind="stable")
    milli = np.where(num_gpu > 0, GPU_MILLI, 0)
    cpu_milli, mem_mib = np.round(cpu * 1000), np.round(mem * 1024)
    tasks = tasks_of(names, cpu_milli, mem_mib, num_gpu, milli, arrival, path, qos="LS")
    users = read_strings(frame, "app_name")
    limit = read_caps(path, frame, "max_instance_per_node")
    return TimedWorkload(
        tasks.take(order),
        arrival[order],
        (leave - arrival)[order],
        users[order],
        str(path),
        {},
        max_per_node=limit[order],
    )


register(
    Format(
        "dlrm-2025",
        "jobs",
        "Alibaba DLRM serving 2025 instances",
        lambda peek: set(COLUMNS) <= peek.columns,
        load_instances,
        "one LS task per instance: cpu_request cores, memory_request GiB, gpu_request GPUs;"
        " arrival creation_time (empty: trace start), leaves at deletion_time (empty: trace end);"
        " at most max_instance_per_node instances of a service on a node",
    )
)
