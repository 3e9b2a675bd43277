"""Synthetic workloads: a trace's task mix, Poisson arrivals at a target offered load.

Tasks are drawn uniformly with replacement from a trace (so shapes, GPU-type constraints and
QoS follow its mix); with ``durations="trace"`` each drawn task keeps its own run time from
the trace's timeline, otherwise run times come from the named distribution. Arrivals form a
Poisson process whose rate makes the offered GPU load ``load`` x the cluster's GPU capacity:
rate = load x capacity / mean(GPU milli x run time) over the drawn tasks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.errors import ConfigError
from schedlab.trace.csvfile import MAX_TIME
from schedlab.trace.tables import FloatArray, Nodes
from schedlab.workload.timed import TimedWorkload

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
) -> TimedWorkload:
    """``tasks`` tasks drawn from ``trace`` arriving as a Poisson process at offered ``load``."""
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
    work = float((demand * run_time).mean())
    if work <= 0:
        raise ConfigError("the drawn tasks request no resources over time: cannot set a load")
    rate = load * capacity / work
    arrival = np.cumsum(rng.exponential(1.0 / rate, size=tasks))
    if not arrival[-1] < MAX_TIME:
        raise ConfigError(f"load {load} spreads {tasks} arrivals beyond 2^53 seconds: raise --load")
    names = np.array([f"synth-{i}" for i in range(tasks)], dtype=object)
    renamed = replace(sampled, name=names, creation_time=arrival)
    return TimedWorkload(
        renamed, arrival, run_time, trace.user[picks], f"synth({trace.source}, load={load}, seed={seed})"
    )
