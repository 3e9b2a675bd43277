"""Gang jobs: a job of ``gang_size`` N is N tasks of the row's shape that must all start
together (all-or-nothing placement across nodes) and end together.

In a workload a gang is N consecutive tasks sharing a gang number (``TimedWorkload.gang``,
-1 for a task of its own); the first is the gang's leader, which the simulation queues and
places for the whole gang. The rules are in ``docs/replay.md``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.trace.columns import NAMES
from schedlab.trace.tables import IntArray
from schedlab.workload.timed import TimedWorkload, select

#: The largest gang a job may ask for.
MAX_GANG = 4096


def expand_gangs(workload: TimedWorkload, sizes: IntArray) -> TimedWorkload:
    """Each task with size N > 1 becomes N tasks of its shape named ``<name>/0`` .. ``/N-1``,
    one gang (numbered by the row); sizes of 1 leave tasks as they are."""
    if not (sizes > 1).any():
        return workload
    row = np.repeat(np.arange(len(workload)), sizes)
    member = np.arange(len(row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    ganged = sizes[row] > 1
    names = workload.tasks.name[row]
    if names.dtype != NAMES:  # fixed-width text would cut the suffixes off
        names = names.astype(object)
    names[ganged] = [f"{name}/{k}" for name, k in zip(names[ganged].tolist(), member[ganged], strict=True)]
    picked = workload.tasks.take(row)
    return select(
        workload, row, tasks=replace(picked, name=names), gang=np.where(ganged, row, -1).astype(np.int64)
    )


def gang_layout(workload: TimedWorkload) -> tuple[IntArray, IntArray]:
    """Per task: the index of its gang's leader (itself when alone) and its gang's size (1
    when alone)."""
    n = len(workload)
    leader = np.arange(n, dtype=np.int64)
    size = np.ones(n, dtype=np.int64)
    if workload.gang is None or not n:
        return leader, size
    gang = workload.gang
    starts = np.flatnonzero(np.r_[True, gang[1:] != gang[:-1]])
    lengths = np.diff(np.r_[starts, n])
    first = np.repeat(starts, lengths)
    ganged = gang >= 0
    leader[ganged] = first[ganged]
    size[ganged] = np.repeat(lengths, lengths)[ganged]
    return leader, size


def gang_sizes(workload: TimedWorkload) -> IntArray:
    """Per leader (first task of a gang, or a task alone): its gang size; 0 for other members
    (the inverse of :func:`expand_gangs` for writing a job CSV)."""
    leader, size = gang_layout(workload)
    result: IntArray = np.where(leader == np.arange(len(workload)), size, 0)
    return result
