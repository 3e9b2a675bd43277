"""Latency and SLO metrics of inference services, from the spans each replica ran at one
slowdown (:attr:`~schedlab.sim.progress.ProgressRates.segments`).

Within a span a replica is an M/D/1 queue in steady state: Poisson requests at ``rate_rps``,
a fixed service time D = solo p50 x slowdown / node speed (:mod:`schedlab.metrics.md1`).
Where a span is overloaded (load >= 1), a fluid backlog builds up and is carried into the
spans after it until drained (:func:`_pieces`); other transients at span boundaries (a
stable queue's ramp to its steady state) are not modelled. Requests that arrive while the
service waits to be placed (before its first start, between an eviction and its restart, or
to the end of the run if it never starts) miss the SLO. The request-level mode
(:func:`exact_service_metrics`) simulates every request instead, Poisson or replayed from a
request trace (:mod:`schedlab.workload.requests`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from schedlab.errors import ConfigError
from schedlab.interference import Profiles
from schedlab.metrics.md1 import latency_cdf
from schedlab.metrics.requests import fifo_waits
from schedlab.workload import TimedWorkload
from schedlab.workload.requests import RequestTrace, poisson_arrivals


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
    spans: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for t, start, end, slowdown, speed in segments:
        spans[t].append((start, end, slowdown, speed))
    services = np.flatnonzero(workload.is_service)
    if not len(services):
        return {"slo_attainment": None, "services": []}
    assert workload.rate_rps is not None and workload.slo_ms is not None and workload.profile is not None
    rows, within_all, total_all = [], 0.0, 0.0
    for t in services.tolist():
        rate, slo = float(workload.rate_rps[t]), float(workload.slo_ms[t])
        solo = profiles.config(str(workload.profile[t])).solo["p50_ms"]
        until = float(ends[t]) if np.isfinite(ends[t]) else horizon  # its end, or the run's
        pieces = _pieces(sorted(spans[t]), rate, solo)
        served = sum(seconds for seconds, *_ in pieces)
        waited = max(until - float(workload.arrival[t]) - served, 0.0)
        requests = rate * (served + waited)
        met = [latency_cdf(rho, d, slo - shift) for _, rho, d, shift in pieces]  # share within SLO
        within = sum(rate * piece[0] * share for piece, share in zip(pieces, met, strict=True))
        # the p99 is above the SLO exactly where fewer than 99 % of the requests meet it
        above = sum(piece[0] for piece, share in zip(pieces, met, strict=True) if share < 0.99)
        p50, p99 = (_mixture_quantile(pieces, waited, q) for q in (0.5, 0.99))
        row = _row(workload, t, requests, within, p50, p99, waited)
        rows.append(row | {"time_above_slo_s": above + waited})
        within_all += within
        total_all += requests
    return {"slo_attainment": within_all / total_all if total_all > 0 else None, "services": rows}


#: Pieces a span with a backlog is cut into (each at the backlog of its middle).
BACKLOG_PIECES = 8
Piece = tuple[float, float, float, float]  # seconds, load, service time (ms), backlog wait (ms)


def _pieces(parts: list[tuple[float, float, float, float]], rate: float, solo: float) -> list[Piece]:
    """A service's spans (start, end, slowdown, speed; in time order) as pieces of M/D/1
    latency shifted by a backlog. A span at load >= 1 builds a fluid backlog of work (its
    requests wait for it, deterministically); the spans after it drain the backlog at
    1 - load per second, their requests waiting for what is left on top of the M/D/1 wait;
    a replica that (re)starts begins empty. Pieces without backlog are merged by load."""
    steady: dict[tuple[float, float], float] = defaultdict(float)
    shifted: list[Piece] = []
    backlog, last_end = 0.0, None  # backlog: seconds of queued work
    for start, end, slowdown, speed in parts:
        if start != last_end:
            backlog = 0.0
        last_end, length = end, end - start
        d = solo * slowdown / speed
        rho = rate * d / 1000
        if rho >= 1 or backlog > 0:
            slope = rho - 1 if rho >= 1 else -(1 - rho)
            busy = length if rho >= 1 else min(backlog / (1 - rho), length)
            step = busy / BACKLOG_PIECES
            for k in range(BACKLOG_PIECES):
                wait = max(backlog + slope * (k + 0.5) * step, 0.0) * 1000
                shifted.append((step, 0.0 if rho >= 1 else rho, d, wait))
            backlog = max(backlog + slope * length, 0.0)
            if length > busy:
                steady[(rho, d)] += length - busy
        else:
            steady[(rho, d)] += length
    return [(w, rho, d, 0.0) for (rho, d), w in steady.items()] + shifted


def _mixture_quantile(pieces: list[Piece], waited: float, q: float) -> float:
    """The ``q``-quantile of a request's latency over the pieces (weights: their requests);
    requests arriving while the service waits count as infinitely late."""
    total = sum(w for w, *_ in pieces) + waited
    if total <= 0 or not pieces:
        return math.inf

    def cdf(t: float) -> float:
        return sum(w * latency_cdf(rho, d, t - shift) for w, rho, d, shift in pieces) / total

    if cdf(1e12) < q:
        return math.inf
    low, high = min(d for _, _, d, _ in pieces), max(d + shift for _, _, d, shift in pieces) * 2
    while cdf(high) < q:
        high *= 2
    while high - low > 1e-9 * high:
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < q else (low, mid)
    return high


#: The most requests ``--requests-exact`` simulates in one replay (about 1 GB of arrays).
MAX_EXACT_REQUESTS = 40_000_000


def exact_service_metrics(
    workload: TimedWorkload,
    profiles: Profiles,
    segments: list[tuple[int, float, float, float, float]],
    ends: np.ndarray,
    horizon: float,
    seed: int,
    requests: RequestTrace | None = None,
) -> dict[str, Any]:
    """The same metrics as :func:`service_metrics`, from every request simulated: Poisson
    arrivals (seeded), or ``requests`` replayed at each service's rate, each served in FIFO
    order at the service time of the span it arrives in; the queue carries over when the
    slowdown changes and starts empty when a replica (re)starts; requests arriving while the
    service is not running miss the SLO."""
    services = np.flatnonzero(workload.is_service)
    if not len(services):
        return {"slo_attainment": None, "services": []}
    assert workload.rate_rps is not None and workload.slo_ms is not None and workload.profile is not None
    until = np.where(np.isfinite(ends[services]), ends[services], horizon)
    lives = (until - workload.arrival[services]).tolist()
    expected = float(np.dot(workload.rate_rps[services], lives))
    if expected > MAX_EXACT_REQUESTS:
        many = f"about {expected:,.0f} requests (at most {MAX_EXACT_REQUESTS:,})"
        raise ConfigError(f"--requests-exact would simulate {many}: use the analytic latency (the default)")
    spans: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for t, start, end, slowdown, speed in segments:
        spans[t].append((start, end, slowdown, speed))
    rng = np.random.default_rng([seed, 0xE8AC7])
    rows, within_all, total_all = [], 0, 0
    for t, life in zip(services.tolist(), lives, strict=True):
        rate, slo = float(workload.rate_rps[t]), float(workload.slo_ms[t])
        solo = profiles.config(str(workload.profile[t])).solo["p50_ms"]
        first = float(workload.arrival[t])
        arrival = (requests.arrivals if requests is not None else poisson_arrivals)(rate, first, life, rng)
        count = len(arrival)
        parts = sorted(spans[t])
        latency = np.full(count, np.inf)
        if parts:
            starts, stops = np.array([p[0] for p in parts]), np.array([p[1] for p in parts])
            at = np.searchsorted(starts, arrival, side="right") - 1
            served = (at >= 0) & (arrival < stops[np.maximum(at, 0)])
            span = at[served]
            service_ms = np.array([solo * p[2] / p[3] for p in parts])[span]
            # the queue starts empty where a replica (re)starts: a span not continuing the one before
            restart = np.r_[True, starts[1:] != stops[:-1]]
            fresh = restart[span].copy()
            fresh[1:] &= span[1:] != span[:-1]
            fresh[:1] = True
            latency[served] = fifo_waits(arrival[served] * 1000.0, service_ms, fresh) + service_ms
        within = int((latency <= slo).sum())
        p50, p99 = (
            float(np.quantile(latency, q, method="inverted_cdf")) if count else None for q in (0.5, 0.99)
        )
        waited = life - float(sum(p[1] - p[0] for p in parts))
        rows.append(_row(workload, t, count, within, p50, p99, waited))
        within_all += within
        total_all += count
    return {"slo_attainment": within_all / total_all if total_all else None, "services": rows}


def _row(
    workload: TimedWorkload,
    t: int,
    requests: float,
    within: float,
    p50: float | None,
    p99: float | None,
    waited: float,
) -> dict[str, Any]:
    """One service's entry of ``services``."""
    assert workload.rate_rps is not None and workload.slo_ms is not None and workload.profile is not None
    return {
        "task": str(workload.tasks.name[t]),
        "config": str(workload.profile[t]),
        "rate_rps": float(workload.rate_rps[t]),
        "slo_ms": float(workload.slo_ms[t]),
        "requests": requests,
        "slo_attainment": within / requests if requests > 0 else None,
        "p50_ms": p50,
        "p99_ms": p99,
        "waiting_s": waited,
    }
