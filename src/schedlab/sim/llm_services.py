"""LLM serving replicas in a replay: where they may run, and what their users saw.

A job-CSV row with an ``llm_model`` is one serving replica of that model card on the row's
whole GPUs of one node (tensor parallel over ``num_gpu``), or on one MIG instance. It is
placed, queued, preempted and failed like any task, where its model fits
(:mod:`schedlab.sim.llm_gpus`). After the replay,
each replica's requests (the ``--llm-requests`` trace at its ``llm_rate_rps``, cycled from a
seeded random phase over its life, from arrival to end) are served token by token
(:func:`schedlab.llm.serving.serve`) on the GPU card of each node it ran on, a fresh replica
per run (a restart begins with an empty cache and queue). A replica of less than a whole GPU
time-slices it with other tasks: it has its share of the GPU's memory
(:func:`~schedlab.sim.llm_gpus.task_card`) and, with a ``profile`` and an interference model,
each iteration takes the slowdown the model gives it in the group on its GPU when the
iteration begins (the spans :attr:`~schedlab.sim.progress.ProgressRates.segments` keeps; its
co-runners are slowed by it through the same model). A request is within the SLO when
its TTFT and its mean time between tokens meet the row's ``ttft_ms`` and ``tbt_ms``;
requests that arrive while the replica is not running (before it is placed, between an
eviction and its restart) or that are still in flight when a run ends miss it.

With a router (``--llm-router round-robin`` or ``least-loaded``), the replicas of one model
card with the same ``user`` and targets form one service: their requests (each replica
still brings its own, at its rate, over its life) go in arrival order to the service's
replicas running at that moment: in turn (replicas by row order), or to the one with the
fewest requests outstanding then, each replica run serving at token level on its node's GPU
card (:func:`~schedlab.llm.serving.route_least_loaded`; the lowest run first on ties); a
request that arrives while none runs misses its SLO. A replica not yet placed, evicted or
on a failed node no longer loses its users' requests: the others serve them, at the cost of
more load each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from schedlab.llm.cards import model_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Steps, route_least_loaded, serve
from schedlab.sim.llm_gpus import task_card
from schedlab.trace import Nodes
from schedlab.trace.tables import GPU_MILLI
from schedlab.workload import TimedWorkload


def llm_service_metrics(
    workload: TimedWorkload,
    attempts: pd.DataFrame,
    nodes: Nodes,
    trace: LlmRequests,
    ends: np.ndarray,
    horizon: float,
    seed: int,
    cards: Mapping[str, str],
    router: str = "none",
    segments: list[tuple[int, float, float, float, float]] | None = None,
) -> dict[str, Any]:
    """``llm_slo_attainment`` (share of all LLM requests within their replica's SLO) and
    ``llm_services`` (per replica: requests, served, too long for the model (its context or
    KV cache), TTFT p50/p99, TBT p99, attainment, seconds not running)."""
    assert workload.llm is not None
    llm = workload.llm
    rng = np.random.default_rng([seed, 0x11A])
    runs = attempts[np.isin(attempts["task"].to_numpy(), np.flatnonzero(llm.is_llm))]
    by_task = {int(str(t)): group for t, group in runs.groupby("task")}
    replicas = np.flatnonzero(llm.is_llm).tolist()
    streams = {}
    for t in replicas:
        start = float(workload.arrival[t])
        until = float(ends[t]) if np.isfinite(ends[t]) else horizon
        streams[t] = trace.window(float(llm.rate_rps[t]), start, until - start, rng)
    missed = 0
    slowed = _Slowdowns(workload, segments)
    if router != "none":
        streams, missed = _routed(workload, streams, by_task, horizon, router, nodes, cards, slowed)
    rows, within_all, total_all = [], 0, missed
    for t in replicas:
        start = float(workload.arrival[t])
        until = float(ends[t]) if np.isfinite(ends[t]) else horizon
        requests = streams[t]
        ttft_slo, tbt_slo = float(llm.ttft_ms[t]) / 1000, float(llm.tbt_ms[t]) / 1000
        ttft = np.full(len(requests), np.inf)
        tpot = np.full(len(requests), np.inf)
        gaps: list[np.ndarray] = []
        ran, too_long = 0.0, 0
        model = model_card(str(llm.model[t]))
        group = by_task.get(t)
        for node, begun, ended in (
            [] if group is None else zip(group["node"], group["start"], group["end"], strict=True)
        ):
            stop = float(ended) if np.isfinite(ended) else horizon
            ran += stop - float(begun)
            inside = np.flatnonzero((requests.arrival >= begun) & (requests.arrival < stop))
            if not len(inside):
                continue
            card = task_card(str(nodes.model[int(node)]), int(workload.tasks.gpu_milli[t]), cards)
            assert card is not None  # placed where a card fits (llm_gpus)
            part = LlmRequests(
                requests.arrival[inside], requests.prompt[inside], requests.output[inside], trace.source
            )
            deployment = Deployment(model, card, int(workload.tasks.num_gpu[t]))
            served = serve(part, deployment, 1, slowdown=slowed.of(t, float(begun), stop))
            too_long += len(served.rejected)
            done = np.nan_to_num(served.e2e + part.arrival, nan=np.inf) <= stop
            ttft[inside[done]] = served.ttft[done]
            tpot[inside[done]] = np.where(part.output[done] > 1, served.tpot[done], 0.0)
            gaps.append(served.gaps)
        within = int(((ttft <= ttft_slo) & (tpot <= tbt_slo)).sum())
        all_gaps = np.concatenate(gaps) if gaps else np.empty(0)
        rows.append(
            {
                "task": str(workload.tasks.name[t]),
                "model": str(llm.model[t]),
                "gpus": int(workload.tasks.num_gpu[t]),
                "rate_rps": float(llm.rate_rps[t]),
                "ttft_ms": float(llm.ttft_ms[t]),
                "tbt_ms": float(llm.tbt_ms[t]),
                "requests": len(requests),
                "served": int(np.isfinite(ttft).sum()),
                "too_long": too_long,
                "slo_attainment": within / len(requests) if len(requests) else None,
                "ttft_p50_ms": _ms(ttft, 50),
                "ttft_p99_ms": _ms(ttft, 99),
                "tbt_p99_ms": _ms(all_gaps, 99),
                "not_running_s": max(until - start - ran, 0.0),
            }
        )
        within_all += within
        total_all += len(requests)
    found: dict[str, Any] = {"llm_slo_attainment": within_all / total_all if total_all else None}
    if router != "none":
        found["llm_router"] = {"policy": router, "missed_no_replica": missed}
    return found | {"llm_services": rows}


def _routed(
    workload: TimedWorkload,
    streams: dict[int, LlmRequests],
    runs: dict[int, pd.DataFrame],
    horizon: float,
    router: str,
    nodes: Nodes,
    cards: Mapping[str, str],
    slowed: _Slowdowns,
) -> tuple[dict[int, LlmRequests], int]:
    """Each replica's requests once every service's requests are routed (``round-robin`` or
    ``least-loaded``) among its replicas running at their arrival; and how many arrived
    while none ran."""
    assert workload.llm is not None
    llm, user = workload.llm, workload.user
    services: dict[tuple[str, str, float, float], list[int]] = {}
    for t in streams:
        key = (str(llm.model[t]), str(user[t]), float(llm.ttft_ms[t]), float(llm.tbt_ms[t]))
        services.setdefault(key, []).append(t)
    routed, missed = dict(streams), 0
    for (_, name, _, _), members in services.items():
        if not name or len(members) < 2:
            continue
        parts = [streams[t] for t in members]
        arrival = np.concatenate([p.arrival for p in parts])
        order = np.argsort(arrival, kind="stable")
        prompt = np.concatenate([p.prompt for p in parts])[order]
        output = np.concatenate([p.output for p in parts])[order]
        arrival = arrival[order]
        windows = [  # per run of a member: the member, its node, from, until before
            (k, int(node), float(begun), float(ended) if np.isfinite(ended) else horizon)
            for k, t in enumerate(members)
            if (group := runs.get(t)) is not None
            for node, begun, ended in zip(group["node"], group["start"], group["end"], strict=True)
        ]
        if router == "least-loaded":
            origin = np.repeat(np.arange(len(members)), [len(p) for p in parts])[order]
            part = LlmRequests(arrival, prompt, output, parts[0].source)
            chosen = _least_loaded(workload, members, windows, part, origin, nodes, cards, slowed)
        else:
            chosen = _round_robin(len(members), windows, arrival)
        missed += int((chosen < 0).sum())
        source = parts[0].source
        for k, t in enumerate(members):
            mine = chosen == k
            routed[t] = LlmRequests(arrival[mine], prompt[mine], output[mine], source)
    return routed, missed


def _round_robin(
    members: int, windows: list[tuple[int, int, float, float]], arrival: np.ndarray
) -> np.ndarray:
    """Per request, the member it goes to in turn among those running at its arrival (-1: none)."""
    up = np.zeros((members, len(arrival)), dtype=bool)
    for k, _, begun, stop in windows:
        up[k] |= (arrival >= begun) & (arrival < stop)
    chosen = np.full(len(arrival), -1, dtype=np.int64)
    turn = 0
    for i in range(len(arrival)):
        live = np.flatnonzero(up[:, i])
        if len(live):
            chosen[i] = live[turn % len(live)]
            turn += 1
    return chosen


def _least_loaded(
    workload: TimedWorkload,
    members: list[int],
    windows: list[tuple[int, int, float, float]],
    requests: LlmRequests,
    origin: np.ndarray,
    nodes: Nodes,
    cards: Mapping[str, str],
    slowed: _Slowdowns,
) -> np.ndarray:
    """Per request, the member whose run at its arrival had the fewest requests outstanding
    (:func:`~schedlab.llm.serving.route_least_loaded`; -1: none ran); one the router cannot
    weigh (too long for some run's KV cache) stays with the member that brought it."""
    assert workload.llm is not None
    if not windows:
        return np.full(len(requests), -1, dtype=np.int64)
    deployments = []
    for k, node, _, _ in windows:
        t = members[k]
        card = task_card(str(nodes.model[node]), int(workload.tasks.gpu_milli[t]), cards)
        assert card is not None  # placed where a card fits (llm_gpus)
        deployments.append(
            Deployment(model_card(str(workload.llm.model[t])), card, int(workload.tasks.num_gpu[t]))
        )
    slowdowns = [slowed.of(members[k], b, e) for k, _, b, e in windows]
    spans = [(b, e) for _, _, b, e in windows]
    picked = route_least_loaded(requests, deployments, spans, slowdowns=slowdowns)
    owner = np.array([k for k, _, _, _ in windows], dtype=np.int64)
    return np.where(picked >= 0, owner[np.maximum(picked, 0)], np.where(picked == -2, origin, -1))


class _Slowdowns:
    """Per replica that time-slices a GPU, the spans it ran at one slowdown (none: 1)."""

    def __init__(
        self, workload: TimedWorkload, segments: list[tuple[int, float, float, float, float]] | None
    ) -> None:
        shared = workload.tasks.gpu_milli < GPU_MILLI
        self.spans: dict[int, list[tuple[float, float]]] = {}
        for t, start, _, slowdown, _ in sorted(segments or []):
            if shared[t]:
                self.spans.setdefault(t, []).append((start, slowdown))

    def of(self, t: int, begun: float, stop: float) -> Steps | None:
        """Replica ``t``'s slowdown over its run from ``begun`` to ``stop`` (None: none)."""
        steps = [(at, f) for at, f in self.spans.get(t, ()) if begun <= at < stop]
        if not steps:
            return None
        return np.array([at for at, _ in steps]), np.array([f for _, f in steps])


def _ms(values: np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile in ms (infinite for requests never served), or None."""
    if not len(values):
        return None
    found = float(np.percentile(values, q, method="inverted_cdf")) * 1000
    return found if math.isfinite(found) else math.inf
