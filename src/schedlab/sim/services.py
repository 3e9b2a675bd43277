"""Latency and SLO metrics of inference services, from the spans each replica ran at one
slowdown (:attr:`~schedlab.sim.progress.ProgressRates.segments`).

Within a span a replica is an M/D/1 queue in steady state: Poisson requests at ``rate_rps``,
a fixed service time D = solo p50 x slowdown / node speed (:mod:`schedlab.metrics.md1`).
Requests that arrive while the service waits to be placed (before its first start, between
an eviction and its restart, or to the end of the run if it never starts) miss the SLO.
Transients at span boundaries are not modelled.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from schedlab.interference import Profiles
from schedlab.metrics.md1 import latency_cdf, latency_quantile
from schedlab.workload import TimedWorkload


def service_metrics(
    workload: TimedWorkload,
    profiles: Profiles,
    segments: list[tuple[int, float, float, float, float]],
    ends: np.ndarray,
    horizon: float,
) -> dict[str, Any]:
    """``slo_attainment`` (share of all requests within their SLO, or None without
    services) and ``services`` (per service: requests, attainment, p50/p99 latency in ms,
    seconds with the p99 above the SLO)."""
    spans: dict[int, dict[tuple[float, float], float]] = defaultdict(lambda: defaultdict(float))
    for t, start, end, slowdown, speed in segments:
        spans[t][(slowdown, speed)] += end - start
    services = np.flatnonzero(workload.is_service)
    if not len(services):
        return {"slo_attainment": None, "services": []}
    assert workload.rate_rps is not None and workload.slo_ms is not None and workload.profile is not None
    rows, within_all, total_all = [], 0.0, 0.0
    for t in services.tolist():
        rate, slo = float(workload.rate_rps[t]), float(workload.slo_ms[t])
        solo = profiles.config(str(workload.profile[t])).solo["p50_ms"]
        until = float(ends[t]) if np.isfinite(ends[t]) else horizon  # its end, or the run's
        groups = [(solo * slowdown / speed, seconds) for (slowdown, speed), seconds in spans[t].items()]
        served = sum(seconds for _, seconds in groups)
        waited = max(until - float(workload.arrival[t]) - served, 0.0)
        requests = rate * (served + waited)
        within = sum(rate * seconds * latency_cdf(rate * d / 1000, d, slo) for d, seconds in groups)
        above = sum(seconds for d, seconds in groups if latency_quantile(rate * d / 1000, d, 0.99) > slo)
        rows.append(
            {
                "task": str(workload.tasks.name[t]),
                "config": str(workload.profile[t]),
                "rate_rps": rate,
                "slo_ms": slo,
                "requests": requests,
                "slo_attainment": within / requests if requests > 0 else None,
                "p50_ms": _mixture_quantile(groups, rate, waited, 0.5),
                "p99_ms": _mixture_quantile(groups, rate, waited, 0.99),
                "time_above_slo_s": above + waited,
                "waiting_s": waited,
            }
        )
        within_all += within
        total_all += requests
    return {"slo_attainment": within_all / total_all if total_all > 0 else None, "services": rows}


def _mixture_quantile(groups: list[tuple[float, float]], rate: float, waited: float, q: float) -> float:
    """The ``q``-quantile of a request's latency over the spans (weights: their requests);
    requests arriving while the service waits count as infinitely late."""
    total = sum(seconds for _, seconds in groups) + waited
    if total <= 0 or not groups:
        return math.inf

    def cdf(t: float) -> float:
        return sum(seconds * latency_cdf(rate * d / 1000, d, t) for d, seconds in groups) / total

    if cdf(1e12) < q:
        return math.inf
    low, high = min(d for d, _ in groups), max(d for d, _ in groups) * 2
    while cdf(high) < q:
        high *= 2
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < q else (low, mid)
    return high
