"""Running a replay model on the compiled kernels (:mod:`schedlab.sim.kernels`).

:func:`compiled_runner` says whether the model's policies all have compiled forms (and
numba is there); the runner builds the kernel state from the model, runs the event loop in
slices (growing output buffers as needed, reporting progress) and returns the same outcome,
tables and counts as the reference :class:`~schedlab.sim.reference.Replay`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from schedlab import jit
from schedlab.cluster.view import ClusterView
from schedlab.policies.base import CompiledPolicy, compiled_form
from schedlab.scheduler.placer import compiled_fits
from schedlab.sim.model import ReplayModel
from schedlab.sim.recorder import ATTEMPT_COLUMNS, FRAG_COLUMNS, SERIES_COLUMNS
from schedlab.sim.result import TaskOutcome

if TYPE_CHECKING:
    from schedlab.sim.kernels.rates import RateArrays

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
        assert runner is not None
        runner(None)
        compiled = any(run_events.stats.cache_misses.values())
        _ready.append(time.perf_counter() - start if compiled else 0.0)
        return _ready[0]
    return 0.0


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


def compiled_runner(model: ReplayModel) -> Callable[[Progress], CompiledRun] | None:
    """A function that runs ``model`` compiled, or None when a policy has no compiled form."""
    if not (model.config.compiled and jit.enabled()) or not compiled_fits(model.cluster):
        return None
    w = model.workload
    reserving = model.config.reserve_after is not None
    if w.has_gangs or w.has_spread or model.node_events or reserving:  # these run on the reference path
        return None
    rates = _rate_arrays(model) if model.interference is not None else None
    if model.interference is not None and rates is None:
        return None
    form = compiled_form(model.policy, ClusterView(model.cluster))
    strict = model.admission.compiled_strict()
    total = model.shapes.total_gpu_milli[model.shape_of]
    weights = model.victims.weights(total)
    keys = model.queue.static_keys()
    groups = model.queue.estimate_groups()
    if form is None or strict is None or weights is None or (keys is None and groups is None):
        return None

    def run(progress: Progress) -> CompiledRun:
        return _run(model, form, strict, weights, keys, groups, progress, rates)

    return run


def _rate_arrays(model: ReplayModel) -> RateArrays | None:
    """The progress-rate arrays of an interference run, or None when its model does not
    follow the additive group rule (a plugin model with its own ``slowdowns`` runs on the
    reference path)."""
    from schedlab.interference import InterferenceModel
    from schedlab.sim.kernels.rates import rate_arrays

    interference, w = model.interference, model.workload
    assert interference is not None
    if type(interference).slowdowns is not InterferenceModel.slowdowns:
        return None
    n = len(w)
    profile = w.profile if w.profile is not None else np.full(n, "", dtype=object)
    names = sorted({str(p) for p in profile if p})
    index = {name: i for i, name in enumerate(names)}
    config = np.array([index[str(p)] if p else -1 for p in profile], dtype=np.int64)
    sharing = model.sharing
    for name in names:
        interference.profiles.config(name)  # unknown names: the reference's clear error
    pair = np.array([[interference.pair(a, b, sharing) for b in names] for a in names]).reshape(
        len(names), len(names)
    )
    alone = np.array([interference.alone(a, sharing) for a in names], dtype=np.float64)
    milli = model.shapes.gpu_milli[model.shape_of[config >= 0]]
    sharing_milli = milli[(milli > 0) & (milli < 1000)]
    per_gpu = 1000 // int(sharing_milli.min()) if len(sharing_milli) else 1
    group_max = max(min(int((config >= 0).sum()), per_gpu), 1)
    services = int(w.is_service.sum())
    return rate_arrays(
        len(model.cluster),
        model.cluster.width,
        config,
        w.is_service,
        pair if names else np.ones((1, 1)),
        alone if names else np.ones(1),
        group_max,
        4 * services + 16,
    )


def _run(
    model: ReplayModel,
    form: CompiledPolicy,
    strict: bool,
    weights: np.ndarray,
    keys: tuple[np.ndarray, np.ndarray] | None,
    groups: np.ndarray | None,
    progress: Progress,
    rates: RateArrays | None,
) -> CompiledRun:
    from schedlab.policies.kernels.random_fit import pcg64_words, set_pcg64_state
    from schedlab.policies.kernels.table import kernel_id
    from schedlab.sim.kernels.loop import run_events
    from schedlab.sim.kernels.state import FINISHED, GROW, NOW, build_state, grown

    st = build_state(model, form, strict, weights, keys, groups, rates)._replace(rng=pcg64_words(form))
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
    from schedlab.sim.kernels.state import ATTEMPTS, EVENTS, LOST, RATES, SAMPLES_DONE, SERIES, State

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
        (r.sample_time, r.sample_frag / model.frag.scale, r.sample_free),
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
    return CompiledRun(
        outcome, attempts, series, frag, int(st.ints[EVENTS]), float(st.floats[LOST]), segments
    )
