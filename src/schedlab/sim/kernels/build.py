"""Building the compiled replay's state from a :class:`~schedlab.sim.model.ReplayModel`
(its output buffers grow between slices of the loop: :mod:`schedlab.sim.kernels.buffers`).

A feature the run does not use gets arrays of length one (the kernels never read them), so
a plain replay carries no per-task cost for gangs, anti-affinity, node events, the
starvation guard, ``drf`` or an admit step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.cluster.kernels import cluster_arrays, frag_arrays, owned, shape_arrays
from schedlab.cluster.partition import SHARE_UNITS
from schedlab.engine.kernels import event_heap
from schedlab.policies.base import CompiledPolicy
from schedlab.scheduler.kernels import placer_arrays
from schedlab.sim.kernels.buffers import records
from schedlab.sim.kernels.evict import evict_arrays
from schedlab.sim.kernels.gangs import gang_room
from schedlab.sim.kernels.parts import (
    defrag_arrays,
    fair_arrays,
    guard_arrays,
    outage_arrays,
    reslice_arrays,
    spread_arrays,
)
from schedlab.sim.kernels.rates import RateArrays, no_rates
from schedlab.sim.kernels.state import (
    ADMIT,
    CAP_ROWS,
    CAP_UP,
    CAPACITY,
    DEFRAG,
    DEFRAG_ABOVE,
    DEFRAG_AT,
    DEFRAG_COST,
    DEFRAG_EVERY,
    DEFRAG_GANGS,
    DEFRAG_ORIGIN,
    DRAINS,
    DT,
    ESTIMATE,
    FAIR,
    FLOATS,
    FRAG_SCALE,
    GANG_MAX,
    GANGS,
    GROUP_MAX,
    GUARD,
    INTS,
    MOVE_ROOM,
    PREEMPTS,
    RATES,
    READY_AT,
    RECONFIG_S,
    RESLICE,
    RESLICE_AT,
    RESLICE_EVERY,
    SAMPLE_AT,
    SAMPLE_ON,
    SAMPLES,
    SLICED,
    SPREAD,
    STRICT,
    TRACKED,
    Exclusions,
    Model,
    Outcome,
    Running,
    Safety,
    State,
)
from schedlab.sim.kernels.waiting import waiting_arrays
from schedlab.sim.model import ReplayModel
from schedlab.sim.queues.base import FairShares
from schedlab.sim.reslice import drain_limit
from schedlab.sim.result import TaskOutcome


@dataclass(frozen=True, eq=False)
class Plan:
    """The compiled forms of a replay's policies and features (:mod:`schedlab.sim.compiled`)."""

    form: CompiledPolicy
    strict: bool
    weights: FloatArray  # the victim policy's
    keys: tuple[FloatArray, FloatArray] | None  # fixed queue keys (None: sjf-est or drf)
    groups: IntArray | None  # sjf-est's estimate groups
    rates: RateArrays | None  # progress rates (interference)
    fair: FairShares | None  # drf
    tier: int  # key parts a starving task keeps (the queue policy's tier)
    limits: FloatArray | None  # slo-aware: each service's largest safe slowdown


def _sized(n: int, used: bool, fill: float = 0, dtype: type = np.int64) -> np.ndarray:
    return np.full(n if used else 1, fill, dtype=dtype)


def build_state(model: ReplayModel, plan: Plan) -> State:
    """The kernel state at time zero (the model's cluster must be empty)."""
    w, cluster, config = model.workload, model.cluster, model.config
    n, shapes, nodes, width = len(w), len(model.table), len(cluster), cluster.width
    f = frag_arrays(model.frag)
    groups = plan.groups if plan.groups is not None else np.zeros((1, 1), dtype=np.int64)
    levels = int(groups.max(initial=0)) + 1
    key0, key1 = (np.zeros(n), np.zeros(n)) if plan.keys is None else plan.keys
    events, guarded = model.node_events, config.reserve_after is not None
    settings = config.defrag_settings
    tracked = guarded or bool(events) or settings.on
    gangs = w.has_gangs
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
            key0=np.ascontiguousarray(key0, dtype=np.float64),
            key1=np.ascontiguousarray(key1, dtype=np.float64),
            groups=np.array(groups, dtype=np.int64),
            est_total=np.zeros(levels),
            est_count=np.zeros(levels, dtype=np.int64),
            leader=model.leader,
            gang_size=model.gang_size,
            gang_fits=model.gang_fits,
            node_cpu=cluster.nodes.cpu_milli,
            node_mem=cluster.nodes.memory_mib,
            node_units=model.node_units,
        )
    )
    b = TaskOutcome.before_start(n)
    o = Outcome(
        b.status, b.start, b.end, b.node, b.gpu_mask, b.preemptions, b.ran, np.zeros(n, dtype=np.int64)
    )
    rates = plan.rates
    ints = np.zeros(INTS, dtype=np.int64)
    ints[STRICT], ints[ESTIMATE], ints[PREEMPTS] = plan.strict, plan.groups is not None, model.preempts
    ints[RATES] = rates is not None
    ints[GROUP_MAX] = len(rates.scratch) if rates is not None else 0
    ints[SAMPLES], ints[CAPACITY], ints[SAMPLE_ON] = config.samples, cluster.gpu_capacity, n > 0
    ints[GANGS], ints[SPREAD], ints[GUARD] = gangs, w.has_spread, guarded
    ints[FAIR], ints[ADMIT], ints[TRACKED] = plan.fair is not None, plan.limits is not None, tracked
    ints[GANG_MAX] = int(model.gang_size.max(initial=1))
    ints[SLICED] = bool((m.node_units != SHARE_UNITS).any())
    floats = np.zeros(FLOATS)
    floats[DEFRAG_AT] = floats[RESLICE_AT] = floats[READY_AT] = np.inf
    ints[RESLICE] = model.reslicing is not None
    ints[DRAINS] = drain_limit(model) if model.reslicing is not None else 0
    floats[RESLICE_EVERY], floats[RECONFIG_S] = config.mig_every, config.mig_reconfig
    if model.defrag is not None:
        assert model.defrag.kind is not None
        ints[DEFRAG], ints[MOVE_ROOM] = model.defrag.kind + 1, settings.moves_per_hour
        ints[DEFRAG_GANGS] = settings.gangs
        floats[DEFRAG_EVERY], floats[DEFRAG_COST] = settings.every_s, settings.cost_s
        floats[DEFRAG_ORIGIN] = float(w.arrival[0]) if n else 0.0
        floats[DEFRAG_ABOVE], floats[FRAG_SCALE] = settings.above_pct, model.frag.scale
    if n:
        horizon = float(w.arrival[-1])
        floats[DT] = horizon / config.samples if horizon > 0 else 0.0
        floats[SAMPLE_AT] = float(w.arrival[0])
    c = cluster_arrays(cluster, f)
    ne, rz = outage_arrays(model, c.up), reslice_arrays(model, c.up)
    c.pristine[~c.up] = False
    ints[CAP_UP] = int(cluster.num_gpu[c.up].sum()) * 1000
    if events or ints[RESLICE]:
        ne.cap_time[0], ne.cap_milli[0] = (float(w.arrival[0]) if n else 0.0), ints[CAP_UP]
        ints[CAP_ROWS] = 1
    evicting = model.preempts or bool(events)
    return State(
        c=c,
        sh=shape_arrays(model.shapes),
        f=f,
        p=plan.form.params,
        pl=placer_arrays(shapes, (nodes - 1) - model.rank, int(c.kind.max(initial=0)) + 1),
        m=m,
        o=o,
        w=owned(waiting_arrays(m.shape_of, shapes, np.zeros(n), np.zeros(n))),
        e=evict_arrays(nodes, width, plan.weights, shapes)
        if model.preempts
        else evict_arrays(0, 1, np.zeros(0), 0),
        h=event_heap(min(n, 1 << 16) + 16),
        r=records(n + 16, 2 * n + 16, 3 * config.samples + 16),
        q=rates if rates is not None else no_rates(n),
        x=Exclusions(
            np.zeros(max(nodes, 1), dtype=np.int64),
            np.zeros(max(nodes, 1), dtype=np.int32),
            np.zeros(max(nodes, 1), dtype=np.int64),
            np.zeros(2, dtype=np.int64),
        ),
        run=Running(
            head=_sized(nodes, tracked, -1),
            tail=_sized(nodes, tracked, -1),
            prev=_sized(n, tracked, -1),
            next=_sized(n, tracked, -1),
            end=_sized(n, guarded, 0.0, np.float64),
            finished=_sized(n, gangs and rates is not None, False, np.bool_),
            done=_sized(n, gangs and rates is not None, 0),
            nodes=np.zeros(max(nodes, 1), dtype=np.int64),
            node_mark=np.zeros(max(nodes, 1), dtype=np.int64),
            tasks=_sized(n, evicting),
            task_mark=_sized(n, evicting),
            order=_sized(n, bool(events)),
            gang_node=np.zeros(ints[GANG_MAX], dtype=np.int64),
            gang_mask=np.zeros(ints[GANG_MAX], dtype=np.int64),
            marks=np.zeros(2, dtype=np.int64),
        ),
        gr=gang_room(gangs, nodes),
        sp=spread_arrays(model, nodes),
        ne=ne,
        fa=fair_arrays(plan.fair, model.shape_of),
        gd=guard_arrays(model, plan.tier, width),
        sf=_safety(plan, n, nodes, width, int(ints[GROUP_MAX])),
        dg=defrag_arrays(settings.on, settings.moves_per_hour, n, shapes, nodes, width),
        rz=rz,
        ints=ints,
        floats=floats,
        rng=np.zeros(4, dtype=np.uint64),
    )


def _safety(plan: Plan, n: int, nodes: int, width: int, group_max: int) -> Safety:
    admit, rates = plan.limits is not None, plan.rates
    shape = (nodes, width, len(rates.alone)) if admit and rates is not None else (1, 1, 1)
    return Safety(
        limit=np.ascontiguousarray(plan.limits if plan.limits is not None else np.zeros(1)),
        members=np.zeros(group_max + 2, dtype=np.int64),
        free=np.zeros(width, dtype=np.int64),
        skip=np.zeros(n if admit else 1, dtype=np.int64),
        mark=np.zeros(2, dtype=np.int64),
        failed=np.full(n if admit else 1, -1, dtype=np.int64),
        stamp=np.zeros(nodes if admit else 1, dtype=np.int64),
        seen=np.zeros(shape, dtype=np.int64),
        ok=np.zeros(shape, dtype=bool),
        own=np.zeros(shape),
    )
