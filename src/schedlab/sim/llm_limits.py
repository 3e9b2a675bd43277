"""How much slowdown an LLM replica that shares its GPU can take and keep its SLO: what
``slo-aware`` weighs for it, as it weighs an M/D/1 service's largest safe slowdown.

For a replica of less than a GPU with a ``profile``: an hour of its request trace at its
rate (from a seeded phase) served on one replica of its card (its share of the GPU's
memory, :func:`~schedlab.sim.llm_gpus.task_card`) with every iteration ``f`` times slower;
the largest ``f`` (to 1/64, at most 64) at which 99 % of its requests keep their TTFT and
their mean time between tokens within its targets (as a request counts in the replay), the
smallest over the GPU models it may take (1 when fewer do even alone: it shares with no
task that slows it). Every other task: infinite.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from schedlab.llm.cards import GpuCard, ModelCard, model_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Slo, serve
from schedlab.sim.llm_gpus import task_card
from schedlab.trace.tables import GPU_MILLI, FloatArray
from schedlab.workload import TimedWorkload

HOUR = 3600.0
MOST = 64.0
WITHIN = 0.99  # the share of requests within the SLO kept (as a service's p99)


def llm_limits(
    workload: TimedWorkload, trace: LlmRequests, cards: Mapping[str, str], seed: int
) -> FloatArray | None:
    """Per task, the largest slowdown that keeps it within its SLO (None: no replica shares)."""
    llm, tasks = workload.llm, workload.tasks
    if llm is None or workload.profile is None:
        return None
    shared = llm.is_llm & (tasks.gpu_milli < GPU_MILLI) & (workload.profile != "")
    if not shared.any():
        return None
    limits = np.full(len(workload), np.inf)
    found: dict[tuple[str, str, int, float, float, float], float] = {}
    for t in np.flatnonzero(shared).tolist():
        model = model_card(str(llm.model[t]))
        slo = Slo(float(llm.ttft_ms[t]) / 1000, float(llm.tbt_ms[t]) / 1000)
        rate, milli = float(llm.rate_rps[t]), int(tasks.gpu_milli[t])
        best = np.inf
        for gpu in str(tasks.gpu_spec[t]).split("|"):
            card = task_card(gpu, milli, cards)
            if card is None:
                continue
            key = (model.name, card.name, milli, rate, slo.ttft, slo.tbt)
            if key not in found:
                requests = trace.window(rate, 0.0, HOUR, np.random.default_rng([seed, 0x5AFE]))
                found[key] = largest_safe(model, card, requests, slo)
            best = min(best, found[key])
        limits[t] = best
    return limits


def largest_safe(model: ModelCard, card: GpuCard, requests: LlmRequests, slo: Slo) -> float:
    """The largest slowdown (to 1/64, at most :data:`MOST`) at which 99 % of ``requests`` on
    one replica meet ``slo``; 1 when fewer do even at full speed."""
    deployment = Deployment(model, card)

    def meets(factor: float) -> bool:
        steps = (np.array([0.0]), np.array([factor]))
        return serve(requests, deployment, 1, slowdown=steps).attainment(slo) >= WITHIN

    if not len(requests) or not meets(1.0):
        return 1.0
    if meets(MOST):
        return MOST
    low, high = 1.0, MOST
    while high - low > 1 / 64:
        middle = (low + high) / 2
        low, high = (middle, high) if meets(middle) else (low, middle)
    return low
