"""The state of the compiled replay: what the kernels read and write, as NamedTuples of
arrays, and how it is built from a :class:`~schedlab.sim.model.ReplayModel`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from schedlab.arrays import BoolArray, FloatArray, IntArray
from schedlab.cluster.kernels import (
    ClusterArrays,
    FragArrays,
    ShapeArraysK,
    cluster_arrays,
    frag_arrays,
    owned,
    shape_arrays,
)
from schedlab.engine.kernels import EventHeap, event_heap
from schedlab.engine.kernels import grown as grown_heap
from schedlab.policies.base import CompiledPolicy
from schedlab.policies.kernels import PolicyParams
from schedlab.scheduler.kernels import PlacerArrays, placer_arrays
from schedlab.sim.kernels.evict import EvictArrays, evict_arrays
from schedlab.sim.kernels.rates import RateArrays, no_rates
from schedlab.sim.kernels.waiting import WaitingArrays, waiting_arrays
from schedlab.sim.model import ReplayModel
from schedlab.sim.result import TaskOutcome

WAITING, RUNNING, DONE, REJECTED = 0, 1, 2, 3
# Integer state: where things are in ``ints``.
NEXT, EVENTS, RUNNING_NOW, ATTEMPTS, SERIES, SAMPLES_DONE, SAMPLE_I, SAMPLE_ON = range(8)
STRICT, ESTIMATE, PREEMPTS, SAMPLES, CAPACITY, RATES, GROUP_MAX = range(8, 15)
# Float state: where things are in ``floats``.
NOW, DT, SAMPLE_AT, LOST = range(4)
# Why run_events returned.
FINISHED, GROW, BUDGET = 0, 1, 2


class Model(NamedTuple):
    """What the loop reads (and the sjf-est estimates it learns)."""

    arrival: FloatArray
    duration: FloatArray
    shape_of: IntArray
    preemptor: BoolArray
    preemptible: BoolArray
    schedulable: BoolArray  # per shape
    speed: FloatArray  # per model x speed class
    speed_class: IntArray  # per shape
    rank: IntArray  # per node: position in the tie order
    groups: IntArray  # n x 3: sjf-est estimate groups
    est_total: FloatArray
    est_count: IntArray


class Outcome(NamedTuple):
    """Per task: what happened to it (as the reference's :class:`TaskOutcome`)."""

    status: IntArray
    start: FloatArray
    end: FloatArray
    node: IntArray
    mask: IntArray
    preemptions: IntArray
    ran: FloatArray
    attempt: IntArray


class Records(NamedTuple):
    """Output buffers: attempts, the series after each event, fragmentation samples."""

    task: IntArray
    node: IntArray
    mask: IntArray
    start: FloatArray
    end: FloatArray
    attempt: IntArray
    time: FloatArray
    allocated: IntArray
    queued: npt.NDArray[np.int32]
    running: npt.NDArray[np.int32]
    sample_time: FloatArray
    sample_frag: IntArray
    sample_free: IntArray


class State(NamedTuple):
    c: ClusterArrays
    sh: ShapeArraysK
    f: FragArrays
    p: PolicyParams
    pl: PlacerArrays
    m: Model
    o: Outcome
    w: WaitingArrays
    e: EvictArrays
    h: EventHeap
    r: Records
    q: RateArrays
    ints: IntArray
    floats: FloatArray
    rng: IntArray


def build_state(
    model: ReplayModel,
    form: CompiledPolicy,
    strict: bool,
    weights: FloatArray,
    keys: tuple[FloatArray, FloatArray] | None,
    groups: IntArray | None,
    rates: RateArrays | None = None,
) -> State:
    """The kernel state at time zero (the model's cluster must be empty); ``rates`` with an
    interference model (:func:`schedlab.sim.kernels.rates.rate_arrays`)."""
    w, cluster = model.workload, model.cluster
    n, shapes, nodes = len(w), len(model.table), len(cluster)
    f = frag_arrays(model.frag)
    estimate = keys is None
    if groups is None:  # read only for sjf-est
        groups = np.zeros((1, 1), dtype=np.int64)
    levels = int(groups.max(initial=0)) + 1
    m = owned(
        Model(
            arrival=w.arrival,
            duration=w.duration,
            shape_of=model.shape_of,
            preemptor=np.array(model.preemptors, dtype=bool),
            preemptible=np.array(model.preemptible, dtype=bool),
            schedulable=np.array(model.schedulable, dtype=bool),
            speed=np.array(model.speed_by_model, dtype=np.float64),
            speed_class=np.array(model.speed_class, dtype=np.int64),
            rank=np.array(model.rank, dtype=np.int64),
            groups=np.array(groups, dtype=np.int64),
            est_total=np.zeros(levels),
            est_count=np.zeros(levels, dtype=np.int64),
        )
    )
    key0, key1 = (np.zeros(n), np.zeros(n)) if keys is None else keys
    before = TaskOutcome.before_start(n)
    o = Outcome(
        before.status,
        before.start,
        before.end,
        before.node,
        before.gpu_mask,
        before.preemptions,
        before.ran,
        attempt=np.zeros(n, dtype=np.int64),
    )
    ints = np.zeros(15, dtype=np.int64)
    ints[STRICT], ints[ESTIMATE], ints[PREEMPTS] = strict, estimate, model.preempts
    ints[RATES] = rates is not None
    ints[GROUP_MAX] = len(rates.scratch) if rates is not None else 0
    ints[SAMPLES], ints[CAPACITY], ints[SAMPLE_ON] = model.config.samples, cluster.gpu_capacity, n > 0
    floats = np.zeros(4)
    if n:
        horizon = float(w.arrival[-1])
        floats[DT] = horizon / model.config.samples if horizon > 0 else 0.0
        floats[SAMPLE_AT] = float(w.arrival[0])
    c = cluster_arrays(cluster, f)
    return State(
        c=c,
        sh=shape_arrays(model.shapes),
        f=f,
        p=form.params,
        pl=placer_arrays(shapes, (nodes - 1) - model.rank, int(c.kind.max(initial=0)) + 1),
        m=m,
        o=o,
        w=owned(waiting_arrays(m.shape_of, shapes, key0, key1)),
        e=evict_arrays(nodes, cluster.width, weights) if model.preempts else evict_arrays(0, 1, np.zeros(0)),
        h=event_heap(min(n, 1 << 16) + 16),
        r=records(n + 16, 2 * n + 16, 3 * model.config.samples + 16),
        q=rates if rates is not None else no_rates(n),
        ints=ints,
        floats=floats,
        rng=np.zeros(4, dtype=np.uint64),
    )


def records(attempts: int, series: int, samples: int) -> Records:
    i, f = np.int64, np.float64
    return Records(
        *(np.zeros(attempts, dtype=d) for d in (i, i, i, f, f, i)),
        *(np.zeros(series, dtype=d) for d in (f, i, np.int32, np.int32)),  # as the recorder
        *(np.zeros(samples, dtype=d) for d in (f, i, i)),
    )


def headroom(st: State) -> tuple[int, int, int, int, int]:
    """Room each growable buffer needs for one more event: attempts (a departure stops one
    task; a preemption may stop every running task), the series and the samples (one row),
    the event heap (every waiting task and every victim may start; with progress rates each
    start or stop pushes a departure for every member of its GPU's group) and the services'
    segments (each start or stop closes at most one per member)."""
    busy = int(st.ints[RUNNING_NOW] + st.w.tally[1]) + 2
    stops = 1 + (int(st.ints[RUNNING_NOW]) if st.ints[PREEMPTS] else 0)
    touched = busy * (int(st.ints[GROUP_MAX]) + 1) if st.ints[RATES] else busy
    return (
        int(st.ints[ATTEMPTS]) + stops,
        int(st.ints[SERIES]) + 2,
        int(st.ints[SAMPLES_DONE]) + 2,
        int(st.h.size[0]) + touched,
        int(st.q.segs[0]) + (touched if st.ints[RATES] else 0),
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
    return st
