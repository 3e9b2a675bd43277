"""Running a replay: build the model, simulate it, and gather the typed result."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from schedlab import jit
from schedlab.cluster.node_layouts import column_layouts, partitioned
from schedlab.cluster.reslicing import Reslicing
from schedlab.cluster.speeds import SpeedTable
from schedlab.errors import ConfigError
from schedlab.interference import InterferenceModel
from schedlab.llm.requests import LlmRequests
from schedlab.metrics.breakdown import several
from schedlab.metrics.fairness import fairness_summary, user_table
from schedlab.sim.compiled import compiled_runner, loaded, ready
from schedlab.sim.config import AUTO_COMPILED_TASKS, ReplayConfig
from schedlab.sim.model import ReplayModel
from schedlab.sim.nodes import NodeEvent
from schedlab.sim.occupancy import shared_gpu_time_frac
from schedlab.sim.reference import Replay
from schedlab.sim.result import ReplayResult, allocation_stats, bounded_slowdown, summarize, task_table
from schedlab.sim.services import exact_service_metrics, service_metrics
from schedlab.trace.csvfile import release_memory
from schedlab.trace.tables import Nodes
from schedlab.workload.load import gpu_load, resource_loads
from schedlab.workload.requests import RequestTrace
from schedlab.workload.timed import TimedWorkload

log = logging.getLogger(__name__)


def replay(
    workload: TimedWorkload,
    nodes: Nodes,
    config: ReplayConfig | None = None,
    speeds: SpeedTable | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    interference: InterferenceModel | None = None,
    requests: RequestTrace | None = None,
    node_events: list[NodeEvent] | None = None,
    llm_requests: LlmRequests | None = None,
) -> ReplayResult:
    """Simulate ``workload`` on ``nodes``. ``wall_s`` in the summary covers everything from
    here on (building the model, the simulation, the result tables) and compiling the
    kernels when that happens (the first run on a machine); loading them from the on-disk
    cache happens first, once per process, like importing a library.
    ``progress(arrived, tasks, now)`` is called now and then (``now``: the simulated time).
    ``interference``: the model named
    by ``config.interference`` fitted to other profiles than the embedded ones; with an
    interference model following the base group rule the compiled path models progress
    rates too (other models run on the reference path).
    ``requests``: a request trace replayed at each service's rate (request-level latency,
    as ``config.requests_exact`` with Poisson arrivals). ``node_events``: nodes failing,
    draining, coming back or joining (:mod:`schedlab.sim.nodes`). ``llm_requests``: the
    request trace (with token counts) of the workload's LLM replicas
    (:mod:`schedlab.sim.llm_services`), needed when it has any."""
    config = config or ReplayConfig()
    if workload.llm is not None:
        if llm_requests is None:
            raise ConfigError(
                f"{workload.source} has LLM replicas (llm_model): give their request trace (--llm-requests)"
            )
        from schedlab.sim.llm_gpus import restrict_llm_gpus  # numba only for LLM replicas

        workload = restrict_llm_gpus(workload, nodes, dict(config.gpu_cards))
    physical, part, reslicing = nodes, None, None
    partitions = bool(config.mig) or partitioned(nodes)
    if (config.mig_fit or config.mig_alt) and not partitions:
        flag = "--mig-fit" if config.mig_fit else "--mig-alt"
        raise ConfigError(f"{flag} needs --mig MODEL=LAYOUT or a node list with a mig column")
    if partitions:
        from schedlab.cluster.partition import mig_tasks, parse_layouts, partition

        layouts = parse_layouts(config.mig, nodes)
        if config.mig_alt:
            from schedlab.cluster.reslicing import parse_alternatives, reslice

            alternatives = parse_alternatives(layouts, config.mig_alt, nodes)
            part, reslicing = reslice(nodes, layouts, alternatives, config.mig_scope)
        else:
            part = partition(nodes, layouts)
        workload, nodes = mig_tasks(workload, part, config.mig_fit), part.nodes
        if workload.llm is not None:
            from schedlab.sim.llm_gpus import restrict_llm_instances

            workload = restrict_llm_instances(workload, nodes, dict(config.gpu_cards))
    else:
        from schedlab.cluster.unpartitioned import warn_unpartitioned

        warn_unpartitioned(workload)
    limits = None
    if (
        workload.llm is not None
        and llm_requests is not None
        and (config.interference != "none" or interference)
        and _admits(config.policy)
    ):
        from schedlab.sim.llm_limits import llm_limits  # what an admit step weighs

        limits = llm_limits(workload, llm_requests, dict(config.gpu_cards), config.seed)
    use_compiled = _use_compiled(config, len(workload))
    compile_s = ready() if use_compiled else 0.0
    wall = time.perf_counter() - compile_s
    origin = part.origin if part is not None else None
    model = ReplayModel.build(
        workload, nodes, config, speeds, interference, node_events, reslicing, limits, origin
    )
    release_memory()  # the temporaries of interning shapes and typical tasks
    compiled = compiled_runner(model) if use_compiled else None
    if isinstance(compiled, str):
        log.warning("running the pure-Python reference path (slower, same results): %s", compiled)
        compiled = None
    segments, reconfigs = None, 0
    path = "compiled" if compiled is not None else "reference"
    if compiled is not None:
        run, compiled = compiled(progress), None  # its plan's per-task arrays go
        outcome, attempts, series, frag_series = run.outcome, run.attempts, run.series, run.frag_series
        events, lost, segments = run.events, run.lost_gpu_s, run.segments
        capacity, restarts, failure_lost = run.capacity, run.failure_restarts, run.failure_lost_gpu_s
        moves, move_lost, reconfigs = run.moves, run.move_lost_gpu_s, run.reconfigs
    else:
        engine = Replay(model, progress)
        outcome = engine.run()
        attempts, series, frag_series = engine.recorder.frames()
        events, lost = engine.sim.events, engine.lost_gpu_s
        segments = engine.rates.segments if engine.rates is not None else None
        outages = engine.outages
        capacity, restarts, failure_lost = outages.capacity, outages.restarts, outages.lost_gpu_s
        moves, move_lost = (
            (0, 0.0) if engine.defrag is None else (engine.defrag.moves, engine.defrag.lost_gpu_s)
        )
        if engine.reslicer is not None:
            reconfigs = engine.reslicer.reconfigs
        del engine
    # what the tables need of the model: its own per-task arrays go before they are built
    node_events, reslicing, defragging = model.node_events, model.reslicing, model.defrag is not None
    gpu_capacity, interference_model = model.cluster.gpu_capacity, model.interference
    shape_of, is_ls, task_gpu_milli = model.shape_of, model.is_ls, model.shapes.total_gpu_milli
    del model
    extra_nodes: dict[str, Any] = {}
    if node_events or reslicing is not None:
        series = with_capacity(series, capacity)
    if node_events:
        extra_nodes = {
            "node_events": len(node_events)
            if origin is None  # each event of the node list once, not once per MIG node of it
            else len({(e.time, int(origin[e.node]), e.kind) for e in node_events}),
            "failure_restarts": restarts,
            "failure_lost_gpu_s": failure_lost,
            "capacity_min_pct": 100.0 * min(c for _, c in capacity) / max(gpu_capacity, 1),
        }
    if defragging:
        extra_nodes |= {"defrag_moves": moves, "defrag_lost_gpu_s": move_lost}
    if reslicing is not None:
        extra_nodes |= {"mig_reconfigs": reconfigs, "mig_reconfig_gpu_s": reconfigs * config.mig_reconfig}
    release_memory()  # the simulation's buffers are gone: give their pages back before the tables
    attempts["gpu_mask"] = attempts["gpu_mask"].to_numpy().view(np.uint64)  # bit g: GPU g (up to 64)
    shared = shared_gpu_time_frac(attempts)  # before the task table: the peak stays lower
    tasks = task_table(workload, shape_of, is_ls, outcome)
    extra: dict[str, Any] = dict(extra_nodes)
    ends = tasks["end"].to_numpy(dtype=np.float64)  # services' ends, or the run's (horizon)
    horizon = float(np.nanmax(ends)) if np.isfinite(ends).any() else 0.0
    if segments is not None and interference_model is not None:
        profiles = interference_model.profiles
        if config.requests_exact or requests is not None:
            extra |= exact_service_metrics(workload, profiles, segments, ends, horizon, config.seed, requests)
        else:
            extra |= service_metrics(workload, profiles, segments, ends, horizon)
    if workload.llm is not None and llm_requests is not None:
        from schedlab.sim.llm_services import llm_service_metrics

        extra |= llm_service_metrics(
            workload,
            attempts,
            nodes,
            llm_requests,
            ends,
            horizon,
            config.seed,
            dict(config.gpu_cards),
            config.llm_router,
            segments,
        )
    extra["shared_gpu_time_frac"] = shared
    extra["wait_mean_multi_gpu"] = multi_gpu_wait(tasks, workload)
    users = per_user(tasks, workload, task_gpu_milli, shape_of)
    if users is not None:
        extra["fairness"] = fairness_summary(users)
    asked = workload
    if part is not None:  # an instance asks for its compute share of a GPU
        from schedlab.cluster.partition import compute_asked

        asked = compute_asked(workload, part)
    load = gpu_load(asked, physical)
    extra["offered_load"] = load if math.isfinite(load) else None  # None: no arrival span
    extra["offered_loads"] = resource_loads(asked, physical)  # GPU, CPU and memory
    last = float(workload.arrival[-1]) if len(workload) else 0.0
    extra |= allocation_stats(series, gpu_capacity, last)
    extra["compute_alloc_mean_pct"] = extra["alloc_mean_pct"]  # MIG: an instance counts its compute
    if part is not None:
        from schedlab.cluster.partition import compute_alloc_pct

        first = float(series["time"].iloc[0]) if len(series) else 0.0
        extra["mig"] = {
            "layouts": list(config.mig),
            "node_list_layouts": column_layouts(physical),
            "instances": _instances(nodes, part.share, reslicing),
            "compute_alloc_mean_pct": compute_alloc_pct(part, attempts, tasks, first, last),
        }
        extra["compute_alloc_mean_pct"] = extra["mig"]["compute_alloc_mean_pct"]
    summary = summarize(tasks, workload, config, lost, events, time.perf_counter() - wall) | extra
    summary["path"] = path
    return ReplayResult(config, tasks, attempts, series, frag_series, summary, users)


def _instances(nodes: Nodes, share: dict[str, float], reslicing: Reslicing | None) -> int:
    """MIG instances at the start (with ``--mig-alt``: of the initial layouts only)."""
    counted = np.isin(nodes.model, list(share))
    if reslicing is not None:
        counted &= reslicing.layout == 0
    return int(nodes.num_gpu[counted].sum())


def multi_gpu_wait(tasks: pd.DataFrame, workload: TimedWorkload) -> float | None:
    """The mean wait of the measured completed tasks of two GPUs or more (None: none)."""
    done = (tasks["status"] == "completed").to_numpy() & ~workload.is_warmup
    multi = done & (workload.tasks.num_gpu >= 2)
    return float(tasks["wait"].to_numpy()[multi].mean()) if multi.any() else None


def _admits(policy: str) -> bool:
    """Whether the placement policy ``policy`` has an admit step (``slo-aware``)."""
    from schedlab.policies.base import PLACEMENT_POLICIES, PlacementPolicy

    found = getattr(PLACEMENT_POLICIES.get(policy), "admit", PlacementPolicy.admit)
    return found is not PlacementPolicy.admit


def _use_compiled(config: ReplayConfig, tasks: int) -> bool:
    """Whether to run the compiled kernels (``config.compiled``: see :class:`ReplayConfig`;
    numba is imported only when they may run)."""
    if config.compiled is False:
        return False
    if config.compiled is None and tasks < AUTO_COMPILED_TASKS and not loaded():
        return False
    return jit.enabled()


def per_user(
    tasks: pd.DataFrame, workload: TimedWorkload, shape_gpu_milli: np.ndarray, shape_of: np.ndarray
) -> pd.DataFrame | None:
    """The per-user table of the measured tasks, or None when they have a single user
    (``shape_gpu_milli``: each shape's GPU milli, ``shape_of``: each task's shape)."""
    counted = ~workload.is_warmup
    users = workload.user[counted]
    if not several(users):
        return None
    done = (tasks["status"] == "completed").to_numpy()[counted]
    jct = tasks["jct"].to_numpy()[counted]
    slowdown = bounded_slowdown(jct, tasks["duration"].to_numpy()[counted])
    gpu_s = tasks["run_time"].to_numpy()[counted] * shape_gpu_milli[shape_of[counted]] / 1000
    return user_table(users, done, jct, slowdown, gpu_s)


def with_capacity(series: pd.DataFrame, capacity: list[tuple[float, int]]) -> pd.DataFrame:
    """``series`` with ``capacity_milli``: the GPU milli in service at each row's time."""
    times = np.array([t for t, _ in capacity])
    values = np.array([c for _, c in capacity], dtype=np.int64)
    at = np.searchsorted(times, series["time"].to_numpy(), side="right") - 1
    return series.assign(capacity_milli=values[np.maximum(at, 0)])
