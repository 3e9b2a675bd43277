"""Offered load: how much GPU work a workload asks of a cluster, and rescaling a workload's
clock to offer a chosen load.

The offered GPU load (:func:`gpu_load`) is the GPU milli-seconds the tasks request (per-GPU
milli x GPUs x run time) over the arrival span, x the cluster's GPU capacity: the arrival
rate times the mean work, the rate ``synth`` sets. A real trace replayed as recorded may
offer almost nothing to a model cluster (the openb default trace spreads its tasks over 149
days: 0.002 of the embedded nodes' capacity); compressing its inter-arrival times keeps its
burst pattern and raises its load (``replay --time-scale`` / ``--target-load``). With
heavy-tailed run times the allocation reached while the trace plays stays well below the
offered load (much of the work is done by a few long tasks after the last arrival): the
replay reports both and warns.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from schedlab.errors import ConfigError
from schedlab.trace.tables import GPU_MILLI, Nodes
from schedlab.workload.timed import TimedWorkload

#: Below this offered load (x capacity) or this peak allocation (%), a replay says it means little.
LOW_LOAD, LOW_PEAK_PCT = 0.05, 10.0


def gpu_load(workload: TimedWorkload, nodes: Nodes) -> float:
    """Offered GPU load of a workload: GPU milli-seconds requested per second / capacity
    (NaN when all tasks arrive at once). A warm start's warm-up tasks do not count: they
    are the load's past, not what it offers."""
    counted = ~workload.is_warmup
    arrival = workload.arrival[counted]
    span = float(arrival[-1] - arrival[0]) if len(arrival) > 1 else 0.0
    if span <= 0:
        return float("nan")
    work = float((workload.tasks.total_gpu_milli[counted] * workload.duration[counted]).sum())
    return work / span / (nodes.gpu_capacity_milli or GPU_MILLI)


def time_scaled(workload: TimedWorkload, factor: float) -> TimedWorkload:
    """``workload`` with its inter-arrival times multiplied by ``factor`` (< 1 compresses:
    more load; run times unchanged)."""
    if not (math.isfinite(factor) and factor > 0):
        raise ConfigError(f"--time-scale must be a positive number, not {factor}")
    if factor == 1 or not len(workload):
        return workload
    first = float(workload.arrival[0])
    arrival = first + (workload.arrival - first) * factor
    return replace(workload, arrival=arrival, source=f"{workload.source} (time scale {factor:g})")


def scale_for_load(workload: TimedWorkload, nodes: Nodes, target: float) -> float:
    """The time scale at which ``workload`` offers ``target`` x the GPU capacity of ``nodes``
    (:func:`gpu_load` scales as 1 / the time scale)."""
    if not (math.isfinite(target) and target > 0):
        raise ConfigError(f"--target-load must be a positive number, not {target}")
    now = gpu_load(workload, nodes)
    if not (math.isfinite(now) and now > 0):
        raise ConfigError(
            f"{workload.source}: cannot set a load (its tasks ask no GPU time, or all arrive at once)"
        )
    return now / target


def resource_loads(workload: TimedWorkload, nodes: Nodes) -> dict[str, float | None]:
    """Offered load on each resource (as :func:`gpu_load`): ``gpu``, ``cpu`` and ``memory``,
    each the resource-seconds the tasks request per second over the cluster's capacity
    (None without an arrival span, or for a resource the cluster has none of)."""
    counted = ~workload.is_warmup
    arrival = workload.arrival[counted]
    span = float(arrival[-1] - arrival[0]) if len(arrival) > 1 else 0.0
    tasks, duration = workload.tasks, workload.duration[counted]
    asks = {
        "gpu": (tasks.total_gpu_milli[counted], nodes.gpu_capacity_milli),
        "cpu": (tasks.cpu_milli[counted], int(nodes.cpu_milli.sum())),
        "memory": (tasks.memory_mib[counted], int(nodes.memory_mib.sum())),
    }
    loads: dict[str, float | None] = {}
    for name, (request, capacity) in asks.items():
        work = float((request.astype(float) * duration).sum())
        loads[name] = work / span / capacity if span > 0 and capacity > 0 else None
    return loads


def fit_no_node(workload: TimedWorkload, nodes: Nodes) -> np.ndarray:
    """Per task: whether no node of ``nodes`` could hold it even empty (CPU, memory, GPUs,
    GPU model), judged once per distinct request."""
    t = workload.tasks
    gpus = np.where(t.gpu_milli > 0, np.maximum(t.num_gpu, 1), 0)
    requests = pd.DataFrame({"cpu": t.cpu_milli, "mem": t.memory_mib, "gpus": gpus, "spec": t.gpu_spec})
    codes, unique = pd.factorize(pd.MultiIndex.from_frame(requests))
    models = nodes.model.astype(str)
    fits = np.empty(len(unique), dtype=bool)
    for i, (cpu, mem, k, spec) in enumerate(unique):
        ok = (nodes.cpu_milli >= cpu) & (nodes.memory_mib >= mem) & (nodes.num_gpu >= k)
        if k > 0 and spec:
            ok &= np.isin(models, str(spec).split("|"))
        fits[i] = bool(ok.any())
    return ~fits[codes]
