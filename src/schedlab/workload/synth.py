"""Synthetic workloads: a trace's task mix, Poisson arrivals at a target offered load.

Tasks are drawn uniformly with replacement from a trace (so shapes, GPU-type constraints,
QoS and, from a job CSV that has them, Kueue queues and priorities follow its mix); with
``durations="trace"`` each drawn task keeps its own run time from the trace's timeline,
otherwise run times come from the named distribution. Arrivals form a Poisson process whose
rate makes the offered GPU load ``load`` x the cluster's GPU capacity:
rate = load x capacity / mean(GPU milli x run time) over the drawn tasks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.errors import ConfigError
from schedlab.trace.columns import MAX_TIME
from schedlab.trace.tables import GPU_MILLI, FloatArray, Nodes
from schedlab.workload.gangs import MAX_GANG, expand_gangs
from schedlab.workload.timed import TimedWorkload, select

DURATIONS_HELP = "trace (each task keeps its run time), exp:MEAN or const:SECONDS"


def _durations(spec: str, trace: TimedWorkload, picks: np.ndarray, rng: np.random.Generator) -> FloatArray:
    kind, _, arg = spec.partition(":")
    if kind == "trace" and not arg:
        if not len(trace):
            raise ConfigError("durations=trace needs a trace with a timeline")
        result: FloatArray = trace.duration[picks]
        return result
    try:
        value = float(arg)
    except ValueError:
        raise ConfigError(f"bad durations {spec!r}: expected {DURATIONS_HELP}") from None
    if not 0 < value < MAX_TIME:
        raise ConfigError(f"bad durations {spec!r}: the value must be positive and below 2^53 seconds")
    if kind == "exp":
        return rng.exponential(value, size=len(picks))
    if kind == "const":
        return np.full(len(picks), value)
    raise ConfigError(f"bad durations {spec!r}: expected {DURATIONS_HELP}")


def synthesize(
    trace: TimedWorkload,
    nodes: Nodes,
    tasks: int,
    load: float,
    seed: int,
    durations: str = "trace",
    warm: bool = False,
    gangs: tuple[float, tuple[int, ...]] | None = None,
    users: int | None = None,
    spread: tuple[float, int, int] | None = None,
) -> TimedWorkload:
    """``tasks`` jobs drawn from ``trace`` arriving as a Poisson process at offered ``load``;
    with ``warm``, preceded by the tasks already running in the workload's steady state
    (:func:`warm_tasks`). ``gangs = (fraction, sizes)``: that fraction of the jobs of whole
    GPUs become gangs of a size drawn uniformly from ``sizes`` (the load counts every task).
    ``users``: each job belongs to one of that many users, ``user-0`` being the most active
    (Zipf: user i has weight 1 / (i + 1)). ``spread = (fraction, cap, instances)``: that
    fraction of the jobs (none of them a gang) are instances of services, ``instances``
    consecutive ones a service (user ``svc-K``), at most ``cap`` of a service on one node."""
    if tasks < 1:
        raise ConfigError("the number of tasks must be at least 1")
    if not load > 0:
        raise ConfigError("the offered load must be positive")
    if not len(trace):
        raise ConfigError(f"{trace.source}: no task to sample from")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(trace), size=tasks)
    run_time = _durations(durations, trace, picks, rng)
    sampled = trace.tasks.take(picks)
    demand = sampled.total_gpu_milli.astype(np.float64)
    capacity = float(nodes.gpu_capacity_milli)
    if not demand.any() or capacity == 0:  # CPU-only workload: offer CPU load instead
        demand, capacity = sampled.cpu_milli.astype(np.float64), float(nodes.cpu_milli.sum())
    sizes = np.ones(tasks, dtype=np.int64)
    if gangs is not None:
        fraction, choices = gangs
        whole = (sampled.num_gpu >= 1) & (sampled.gpu_milli == GPU_MILLI)
        chosen = whole & (rng.random(tasks) < fraction)
        sizes[chosen] = rng.choice(np.asarray(choices, dtype=np.int64), size=int(chosen.sum()))
    work = float((demand * run_time * sizes).mean())
    if work <= 0:
        raise ConfigError("the drawn tasks request no resources over time: cannot set a load")
    rate = load * capacity / work
    arrival = np.cumsum(rng.exponential(1.0 / rate, size=tasks))
    if not arrival[-1] < MAX_TIME:
        raise ConfigError(f"load {load} spreads {tasks} arrivals beyond 2^53 seconds: raise --load")
    source = f"synth({trace.source}, load={load}, seed={seed}{', warm start' if warm else ''})"
    cpu_mode = capacity != float(nodes.gpu_capacity_milli) or not sampled.total_gpu_milli.any()
    held = load * capacity
    warm_picks, residual = (
        warm_tasks(trace, durations, held, cpu_mode, rng) if warm else (picks[:0], run_time[:0])
    )
    n = len(warm_picks)
    every = np.r_[warm_picks, picks]
    names = np.array([f"warm-{i}" for i in range(n)] + [f"synth-{i}" for i in range(tasks)], dtype=object)
    times = np.r_[np.zeros(n), arrival]
    table = replace(trace.tasks.take(every), name=names, creation_time=times)
    flags = np.r_[np.ones(n, dtype=bool), np.zeros(tasks, dtype=bool)] if warm else None
    owner = trace.user[every]
    if users is not None:
        owner = np.array([f"user-{i}" for i in range(users)], dtype=object)[_zipf(rng, users, len(every))]
    caps = None
    if spread is not None:
        fraction, cap, instances = spread
        chosen = n + np.flatnonzero((sizes == 1) & (rng.random(tasks) < fraction))
        owner = owner.copy()
        owner[chosen] = np.array([f"svc-{k // instances}" for k in range(len(chosen))], dtype=object)
        caps = np.full(len(every), -1, dtype=np.int64)
        caps[chosen] = cap
    result = TimedWorkload(
        table,
        times,
        np.r_[residual, run_time],
        owner,
        source,
        warmup=flags,
        max_per_node=caps,
        queue=None if trace.queue is None else trace.queue[every],  # Kueue's LocalQueue, priority
        priority=None if trace.priority is None else trace.priority[every],
    )
    return expand_gangs(result, np.r_[np.ones(n, dtype=np.int64), sizes])


def _zipf(rng: np.random.Generator, users: int, count: int) -> np.ndarray:
    """``count`` draws of user numbers 0..users-1, user i with weight 1 / (i + 1)."""
    weights = 1.0 / np.arange(1, users + 1)
    return rng.choice(users, size=count, p=weights / weights.sum())


def warm_started(workload: TimedWorkload, nodes: Nodes, load: float, seed: int) -> TimedWorkload:
    """``workload`` begun in its steady state at offered ``load`` (x the GPU capacity of
    ``nodes``): the tasks of its own mix that would be running then (:func:`warm_tasks`,
    with their trace run times) arrive first, at the first arrival, as warm-up tasks. Above
    a load of 1 they fill the cluster and queue. A replay does not measure them."""
    if workload.warmup is not None and workload.warmup.any():
        raise ConfigError(f"{workload.source} begins warm already (it has warm-up rows)")
    if not len(workload):
        return workload
    cpu_mode = nodes.gpu_capacity_milli == 0 or not workload.tasks.total_gpu_milli.any()
    capacity = float(nodes.cpu_milli.sum()) if cpu_mode else float(nodes.gpu_capacity_milli)
    rng = np.random.default_rng(seed)
    picks, residual = warm_tasks(workload, "trace", load * capacity, cpu_mode, rng)
    n = len(picks)
    idx = np.r_[picks, np.arange(len(workload))]
    names = np.r_[np.array([f"warm-{i}" for i in range(n)], dtype=object), workload.tasks.name]
    times = np.r_[np.full(n, workload.arrival[0]), workload.arrival]
    picked = workload.tasks.take(idx)
    return select(
        workload,
        idx,
        tasks=replace(picked, name=names, creation_time=times),
        arrival=times,
        duration=np.r_[residual, workload.duration],
        source=f"{workload.source} (warm start)",
        warmup=np.r_[np.ones(n, dtype=bool), np.zeros(len(workload), dtype=bool)],
        gang=None if workload.gang is None else np.r_[np.full(n, -1), workload.gang],
    )


def warm_tasks(
    trace: TimedWorkload, durations: str, held: float, cpu_mode: bool, rng: np.random.Generator
) -> tuple[np.ndarray, FloatArray]:
    """The tasks running at a random instant of the steady state of Poisson arrivals that
    keep ``held`` GPU milli (CPU milli in ``cpu_mode``) busy on average, with no waiting
    (M/G/infinity), as (trace rows, residual run times): their number is Poisson with mean
    rate x mean run time, the rate being ``held`` / mean(demand x run time) over a large
    sample of the mix; each is a run-time-biased draw (a long task is more likely to be
    running), its residual run time uniform over its run time. All arrive at time 0,
    before the first arrival."""
    pool = rng.integers(0, len(trace), size=max(len(trace), 100_000))
    lengths = _durations(durations, trace, pool, rng)
    taken = trace.tasks.take(pool)
    demand = (taken.cpu_milli if cpu_mode else taken.total_gpu_milli).astype(np.float64)
    work = float((demand * lengths).mean())
    mean = float(lengths.mean())
    count = int(rng.poisson(held / work * mean)) if work > 0 and mean > 0 else 0
    if count == 0:
        return pool[:0], lengths[:0]
    chosen = rng.choice(len(pool), size=count, p=lengths / lengths.sum())
    residual: FloatArray = rng.uniform(0.0, 1.0, size=count) * lengths[chosen]
    return pool[chosen], residual


def parse_spread(text: str) -> tuple[float, int, int]:
    """``FRACTION:CAP[:INSTANCES]`` (e.g. ``0.1:1:8``) as (fraction, cap, instances)."""
    parts = text.split(":")
    try:
        fraction, cap = float(parts[0]), int(parts[1])
        instances = int(parts[2]) if len(parts) > 2 else 8
    except (ValueError, IndexError):
        fraction, cap, instances = -1.0, 0, 0
    if len(parts) > 3 or not (0 <= fraction <= 1) or cap < 1 or instances < 1:
        raise ConfigError(
            f"--anti-affinity {text!r}: expected FRACTION:CAP[:INSTANCES], a fraction in [0, 1], a cap"
            " and a number of instances per service of at least 1, e.g. 0.1:1:8"
        )
    return fraction, cap, instances


def parse_gangs(text: str) -> tuple[float, tuple[int, ...]]:
    """``FRACTION:SIZES`` (e.g. ``0.2:2,4,8``) as (fraction, sizes)."""
    fraction_text, _, sizes_text = text.partition(":")
    try:
        fraction = float(fraction_text)
        sizes = tuple(int(s) for s in sizes_text.split(",") if s.strip())
    except ValueError:
        fraction, sizes = -1.0, ()
    if not (0 <= fraction <= 1) or not sizes or any(not 2 <= s <= MAX_GANG for s in sizes):
        raise ConfigError(
            f"--gangs {text!r}: expected FRACTION:SIZES, a fraction in [0, 1] and gang sizes"
            f" from 2 to {MAX_GANG}, e.g. 0.2:2,4,8"
        )
    return fraction, sizes
