"""Running a replay model on the compiled kernels (:mod:`schedlab.sim.kernels`).

:func:`compiled_runner` finds the compiled form of every policy and feature of a model (or
says why the reference path must run it); the runner builds the kernel state, runs the
event loop in slices (growing output buffers as needed, reporting progress) and returns the
same outcome, tables and counts as the reference :class:`~schedlab.sim.reference.Replay`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from schedlab import jit
from schedlab.cluster.partition import SHARE_UNITS
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import compiled_form
from schedlab.sim.interference_inputs import rate_inputs, safe_limits
from schedlab.sim.model import ReplayModel
from schedlab.sim.queues.base import QueuePolicy
from schedlab.sim.recorder import ATTEMPT_COLUMNS, FRAG_COLUMNS, SERIES_COLUMNS
from schedlab.sim.result import TaskOutcome

if TYPE_CHECKING:
    from schedlab.sim.kernels.build import Plan

#: Events per slice of the loop between progress reports.
SLICE = 200_000
#: ``progress(arrived, tasks, now)``: tasks arrived so far, all tasks, the simulated time.
Progress = Callable[[int, int, float], None] | None
_ready: list[float] = []


def ready() -> float:
    """Load the kernels (compiling them the first time on this machine) by replaying two
    tasks on one node; the seconds spent compiling now (0 if cached, or loaded earlier in
    this process: only the run that triggered the compilation counts it)."""
    if not _ready:
        from schedlab.sim.config import ReplayConfig
        from schedlab.sim.kernels.loop import run_events
        from schedlab.trace import Nodes, Tasks
        from schedlab.workload import TimedWorkload

        jit.compile_notice("run_events")
        start = time.perf_counter()
        tasks = Tasks.build([(1000, 1000, 1, 1000, ""), (1000, 1000, 1, 1000, "")])
        tasks = replace(tasks, qos=np.array(["BE", "LS"], dtype=object))
        users = np.array(["", ""], dtype=object)
        workload = TimedWorkload(tasks, np.array([0.0, 1.0]), np.array([5.0, 1.0]), users, "warm-up")
        node = Nodes.build([("n", 8000, 8000, 1, "T4")])
        model = ReplayModel.build(workload, node, ReplayConfig(policy="bestfit", preemption="ls-over-be"))
        runner = compiled_runner(model)
        assert not isinstance(runner, str), runner
        runner(None)
        compiled = any(run_events.stats.cache_misses.values())
        _ready.append(time.perf_counter() - start if compiled else 0.0)
        return _ready[0]
    return 0.0


def loaded() -> bool:
    """Whether :func:`ready` loaded the kernels in this process already."""
    return bool(_ready)


@dataclass(frozen=True)
class CompiledRun:
    """What a compiled replay returns (as the reference's attributes after ``run``)."""

    outcome: TaskOutcome
    attempts: pd.DataFrame
    series: pd.DataFrame
    frag_series: pd.DataFrame
    events: int
    lost_gpu_s: float
    segments: list[tuple[int, float, float, float, float]] | None  # services' spans (interference)
    #: With node events: the GPU capacity in service after each, the tasks restarted and
    #: the GPU-seconds their failures lost.
    capacity: list[tuple[float, int]]
    failure_restarts: int
    failure_lost_gpu_s: float
    #: Defragmentation: the tasks moved and the GPU-seconds the moves cost.
    moves: int = 0
    move_lost_gpu_s: float = 0.0
    #: Dynamic MIG: the GPUs re-partitioned.
    reconfigs: int = 0


def compiled_runner(model: ReplayModel) -> Callable[[Progress], CompiledRun] | str:
    """A function that runs ``model`` compiled, or why the reference path must run it."""
    plan = _plan(model)
    if isinstance(plan, str):
        return plan

    def run(progress: Progress) -> CompiledRun:
        return _run(model, plan, progress)

    return run


def _plan(model: ReplayModel) -> Plan | str:
    """The compiled forms of ``model``'s policies and features, or why one is missing."""
    from schedlab.sim.kernels.build import Plan

    rates = rate_inputs(model) if model.interference is not None else None
    if model.defrag is not None and model.defrag.kind is None:
        return f"defragmentation policy {model.defrag.name!r} has no compiled form"
    if model.interference is not None and rates is None:
        return f"interference model {model.config.interference!r} has its own group rule"
    form = compiled_form(model.policy, ClusterView(model.cluster))
    if form is None:
        return f"placement policy {model.policy.name!r} has no compiled form"
    strict = model.admission.compiled_strict()
    if strict is None:
        return f"admission policy {model.admission.name!r} has no compiled form"
    weights = model.victims.weights(model.shapes.total_gpu_milli[model.shape_of])
    if weights is None:
        return f"victim policy {model.victims.name!r} has no compiled form"
    queue = model.queue
    keys, groups, fair = queue.static_keys(), queue.estimate_groups(), queue.fair_shares()
    if keys is None and groups is None and fair is None:
        return f"queue policy {queue.name!r} has no compiled form"
    if model.config.reserve_after is not None and (
        type(queue).tier is not QueuePolicy.tier or queue.tier_parts not in (0, 1 if keys is not None else 0)
    ):
        return f"queue policy {queue.name!r} has its own tier for the starvation guard"
    limits = None
    if form.admit and rates is not None:
        limits = safe_limits(model)
    return Plan(form, strict, weights, keys, groups, rates, fair, queue.tier_parts, limits)


def _run(model: ReplayModel, plan: Plan, progress: Progress) -> CompiledRun:
    from schedlab.policies.kernels.random_fit import pcg64_words, set_pcg64_state
    from schedlab.policies.kernels.table import kernel_id
    from schedlab.sim.kernels.buffers import grown
    from schedlab.sim.kernels.build import build_state
    from schedlab.sim.kernels.loop import run_events
    from schedlab.sim.kernels.state import FINISHED, GROW, NOW

    form = plan.form
    st = build_state(model, plan)._replace(rng=pcg64_words(form))
    kind, draws = kernel_id(form.score), bool(form.draws)
    n = len(model.workload)
    while True:
        code = run_events(kind, draws, st, SLICE)
        if code == FINISHED:
            break
        if code == GROW:
            st = grown(st)
        if progress is not None:
            progress(int(st.ints[0]), n, float(st.floats[NOW]))
    if form.rng is not None:
        set_pcg64_state(form.rng, st.rng)
    return _collect(model, st)


def _collect(model: ReplayModel, st: object) -> CompiledRun:
    from schedlab.sim.kernels.state import (
        ATTEMPTS,
        CAP_ROWS,
        EVENTS,
        FAIL_LOST,
        LOST,
        MOVE_LOST,
        MOVES,
        RATES,
        RECONFIGS,
        RESTARTS,
        SAMPLES_DONE,
        SERIES,
        State,
    )

    assert isinstance(st, State)
    o, r = st.o, st.r
    outcome = TaskOutcome(o.status, o.start, o.end, o.node, o.mask, o.preemptions, o.ran)

    def table(names: tuple[str, ...], columns: tuple[np.ndarray, ...], used: int) -> pd.DataFrame:
        return pd.DataFrame(
            {name: column[:used] for name, column in zip(names, columns, strict=True)}, copy=False
        )

    attempts = table(
        tuple(name for name, _ in ATTEMPT_COLUMNS),
        (r.task, r.node, r.mask, r.start, r.end, r.attempt),
        int(st.ints[ATTEMPTS]),
    )
    series = table(
        tuple(name for name, _ in SERIES_COLUMNS),
        (r.time, r.allocated, r.queued, r.running),
        int(st.ints[SERIES]),
    )
    frag = table(
        FRAG_COLUMNS,
        (
            r.sample_time,
            r.sample_frag / model.frag.scale,
            r.sample_free,
            r.sample_frag_compute / (SHARE_UNITS * model.frag.scale),
            r.sample_free_compute / SHARE_UNITS,
        ),
        int(st.ints[SAMPLES_DONE]),
    )
    segments = None
    if st.ints[RATES]:
        q, used = st.q, int(st.q.segs[0])
        segments = list(
            zip(
                q.seg_task[:used].tolist(),
                q.seg_start[:used].tolist(),
                q.seg_end[:used].tolist(),
                q.seg_slowdown[:used].tolist(),
                q.seg_speed[:used].tolist(),
                strict=True,
            )
        )
    rows = int(st.ints[CAP_ROWS])
    capacity = list(zip(st.ne.cap_time[:rows].tolist(), st.ne.cap_milli[:rows].tolist(), strict=True))
    return CompiledRun(
        outcome,
        attempts,
        series,
        frag,
        int(st.ints[EVENTS]),
        float(st.floats[LOST]),
        segments,
        capacity,
        int(st.ints[RESTARTS]),
        float(st.floats[FAIL_LOST]),
        int(st.ints[MOVES]),
        float(st.floats[MOVE_LOST]),
        int(st.ints[RECONFIGS]),
    )
