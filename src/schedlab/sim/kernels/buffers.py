"""The compiled replay's output buffers (attempts, series, fragmentation samples, the event
heap, services' segments, node capacity rows): their first sizes and how they grow between
slices of the loop, which stops when one could fill during its next event."""

from __future__ import annotations

import numpy as np

from schedlab.engine.kernels import grown as grown_heap
from schedlab.sim.kernels.state import (
    ATTEMPTS,
    CAP_ROWS,
    GANG_MAX,
    GROUP_MAX,
    MOVE_ROOM,
    QUEUED,
    RATES,
    RESLICE,
    RUNNING_NOW,
    SAMPLES_DONE,
    SERIES,
    Records,
    State,
)


def records(attempts: int, series: int, samples: int) -> Records:
    i, f = np.int64, np.float64
    return Records(
        *(np.zeros(attempts, dtype=d) for d in (i, i, i, f, f, i)),
        *(np.zeros(series, dtype=d) for d in (f, i, np.int32, np.int32)),  # as the recorder
        *(np.zeros(samples, dtype=d) for d in (f, i, i, i, i)),
    )


def cap_room(st: State) -> int:
    """Capacity rows one more event may need: a node event one, a re-partitioning step or a
    ready event one per GPU."""
    return int(st.ints[CAP_ROWS]) + (len(st.rz.current) if st.ints[RESLICE] else 0) + 1


def headroom(st: State) -> tuple[int, int, int, int, int]:
    """Room each growable buffer needs for one more event: attempts (an event stops at most
    every running task), the series and the samples (one row), the event heap (every waiting
    task, every task that may restart and the largest gang may start; with progress rates
    each start or stop pushes a departure for every member of its GPU's group) and the
    services' segments (each start or stop closes at most one per member)."""
    ints = st.ints
    busy = int(ints[RUNNING_NOW] + ints[QUEUED] + ints[GANG_MAX] + ints[MOVE_ROOM]) + 2
    touched = busy * (int(ints[GROUP_MAX]) + 1) if ints[RATES] else busy
    return (
        int(ints[ATTEMPTS] + ints[RUNNING_NOW] + ints[MOVE_ROOM]) + 1,
        int(ints[SERIES]) + 2,
        int(ints[SAMPLES_DONE]) + 2,
        int(st.h.size[0]) + touched,
        int(st.q.segs[0]) + (touched if ints[RATES] else 0),
    )


def grown(st: State) -> State:
    """``st`` with each buffer that lacks :func:`headroom` twice as large (or as needed)."""
    attempts, series, samples, heap, segments = headroom(st)
    r = st.r
    sizes = [len(r.task), len(r.time), len(r.sample_time)]
    for i, need in enumerate((attempts, series, samples)):
        if need > sizes[i]:
            sizes[i] = max(2 * sizes[i], need)
    if sizes != [len(r.task), len(r.time), len(r.sample_time)]:
        bigger = records(*sizes)
        for old, new in zip(r, bigger, strict=True):
            np.copyto(new[: len(old)], old)  # type: ignore[index]
        st = st._replace(r=bigger)
    if heap > len(st.h.time):
        st = st._replace(h=grown_heap(st.h, max(2 * len(st.h.time), heap)))
    if segments > len(st.q.seg_task):
        size = max(2 * len(st.q.seg_task), segments)
        columns = {}
        for name in ("seg_task", "seg_start", "seg_end", "seg_slowdown", "seg_speed"):
            old = getattr(st.q, name)
            columns[name] = np.zeros(size, dtype=old.dtype)
            columns[name][: len(old)] = old
        st = st._replace(q=st.q._replace(**columns))
    if cap_room(st) > len(st.ne.cap_time):
        size = max(2 * len(st.ne.cap_time), cap_room(st))
        times, milli = np.zeros(size), np.zeros(size, dtype=np.int64)
        times[: len(st.ne.cap_time)], milli[: len(st.ne.cap_milli)] = st.ne.cap_time, st.ne.cap_milli
        st = st._replace(ne=st.ne._replace(cap_time=times, cap_milli=milli))
    return st
