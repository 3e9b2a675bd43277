"""Jobs of a trace as Kueue workloads: queue, priority and resource requests.

A job-CSV row's ``queue`` names its LocalQueue (``namespace/name``), whose ClusterQueue
admits it; ``priority`` is a WorkloadPriorityClass (or PriorityClass) name or an integer
(empty: 0). A gang's tasks are one workload whose pod set asks for all of them. Requests, in
Kueue's units: ``cpu`` (milli-cores), ``memory`` (bytes), ``nvidia.com/gpu`` (whole GPUs; a
task sharing a GPU counts one) and ``alibabacloud.com/gpu-milli`` (thousandths of a GPU).
Only resources that some ClusterQueue covers are requested (as Kueue's
``excludeResourcePrefixes`` would leave the others out): a configuration that covers
``cpu`` and ``nvidia.com/gpu`` admits by those. Rows without a queue are not managed by
Kueue (they start at once in the quota-only view) and are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.errors import ConfigError
from schedlab.kueue.admission import Workload
from schedlab.kueue.objects import KueueConfig
from schedlab.trace.tables import GPU_MILLI, IntArray
from schedlab.workload import TimedWorkload

RESOURCES = ("cpu", "memory", "nvidia.com/gpu", "alibabacloud.com/gpu-milli")


@dataclass(frozen=True)
class Workloads:
    """The managed workloads, each one's first task and task count, its LocalQueue, and the
    number of tasks (rows) left unmanaged (no ``queue``)."""

    items: list[Workload]
    first_task: IntArray
    tasks: IntArray
    local_queue: list[str]
    unmanaged: int
    resources: tuple[str, ...]


def covered(config: KueueConfig) -> tuple[str, ...]:
    """The resources of :data:`RESOURCES` that some ClusterQueue covers."""
    names = {r for q in config.cluster_queues.values() for g in q.groups for r in g.covered}
    return tuple(r for r in RESOURCES if r in names)


def workloads(workload: TimedWorkload, config: KueueConfig) -> Workloads:
    """The Kueue workloads of ``workload`` (its ``queue`` and ``priority`` columns)."""
    if workload.queue is None:
        raise ConfigError(
            f"{workload.source}: no `queue` column: give each job its LocalQueue (namespace/name)"
        )
    resources = covered(config)
    tasks = workload.tasks
    milli = tasks.num_gpu * tasks.gpu_milli
    per_task = {
        "cpu": tasks.cpu_milli,
        "memory": tasks.memory_mib * 2**20,
        "nvidia.com/gpu": np.where(milli > 0, np.maximum(milli // GPU_MILLI, 1), 0),
        "alibabacloud.com/gpu-milli": milli,
    }
    gang = workload.gang if workload.gang is not None else np.full(len(workload), -1)
    starts = (
        np.flatnonzero(np.r_[True, (gang[1:] < 0) | (gang[1:] != gang[:-1])])
        if len(workload)
        else np.empty(0, int)
    )
    counts = np.diff(np.r_[starts, len(workload)])
    items, firsts, sizes, locals_ = [], [], [], []
    unmanaged = 0
    priorities = (
        workload.priority if workload.priority is not None else np.full(len(workload), "", dtype=object)
    )
    for first, count in zip(starts.tolist(), counts.tolist(), strict=True):
        local = str(workload.queue[first])
        if not local:
            unmanaged += count
            continue
        name = str(tasks.name[first])
        found = config.local_queues.get(local)
        if found is None:
            known = ", ".join(sorted(config.local_queues)) or "none"
            raise ConfigError(
                f"{workload.source}: job {name}: queue {local!r} is not a LocalQueue of the configuration"
                f" ({known})"
            )
        rows = slice(first, first + count)
        requests = {r: int(per_task[r][rows].sum()) for r in resources}
        items.append(
            Workload(
                found.cluster_queue,
                _priority(str(priorities[first]), config, workload.source, name),
                float(workload.arrival[first]),
                float(workload.duration[first]),
                {r: v for r, v in requests.items() if v > 0},
            )
        )
        firsts.append(first)
        sizes.append(count)
        locals_.append(local)
    return Workloads(
        items,
        np.array(firsts, dtype=np.int64),
        np.array(sizes, dtype=np.int64),
        locals_,
        unmanaged,
        resources,
    )


def _priority(text: str, config: KueueConfig, source: str, name: str) -> int:
    if not text:
        return 0
    if text in config.priorities:
        return config.priorities[text].value
    try:
        return int(text)
    except ValueError:
        known = ", ".join(sorted(config.priorities)) or "none"
        raise ConfigError(
            f"{source}: job {name}: priority {text!r} is neither an integer nor a priority class ({known})"
        ) from None
