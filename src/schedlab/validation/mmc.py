"""Validation against queueing theory: the M/M/c queue and the Erlang C formula.

A cluster of ``servers`` identical one-GPU nodes, one-GPU tasks arriving as a Poisson process
at rate ``load x servers`` with exponential run times of mean 1, queue ``fifo``: an M/M/c
queue whose mean queueing delay is given by the Erlang C formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace.tables import Nodes, Tasks
from schedlab.workload.timed import TimedWorkload


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean queueing delay of an M/M/c queue: C(c, a) / (c mu - lambda), a = lambda / mu."""
    a = arrival_rate / service_rate
    if a >= servers:
        raise ValueError("the queue is unstable (load >= 1)")
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers * service_rate - arrival_rate)


def mmc_case(servers: int, load: float, tasks: int, seed: int) -> tuple[TimedWorkload, Nodes]:
    """The workload and cluster of an M/M/c queue at ``load`` (service rate 1)."""
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1 / (load * servers), tasks))
    duration = rng.exponential(1.0, tasks)
    workload = TimedWorkload(
        Tasks.build([(1000, 1000, 1, 1000, "")] * tasks),
        arrival,
        duration,
        np.full(tasks, "", dtype=object),
        "mmc",
    )
    nodes = Nodes.build([(f"gpu-{i}", 4000, 4000, 1, "GPU") for i in range(servers)])
    return workload, nodes


@dataclass(frozen=True)
class MmcCheck:
    servers: int
    load: float
    tasks: int
    measured: float
    expected: float

    @property
    def error(self) -> float:
        return self.measured / self.expected - 1


def mmc_check(
    servers: int, load: float, tasks: int, seed: int = 0, warmup: float = 0.05
) -> tuple[MmcCheck, ReplayResult]:
    """Simulate an M/M/c queue; compare the mean wait (after a warm-up share) with Erlang C."""
    workload, nodes = mmc_case(servers, load, tasks, seed)
    result = replay(workload, nodes, ReplayConfig(policy="bestfit", queue="fifo", samples=2))
    waits = result.tasks["wait"].to_numpy()[int(tasks * warmup) :]
    expected = erlang_c_wait(servers, load * servers, 1.0)
    return MmcCheck(servers, load, tasks, float(waits.mean()), expected), result
