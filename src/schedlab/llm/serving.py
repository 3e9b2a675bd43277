"""A deployment of identical replicas serving a request trace, and what its users see.

:func:`serve` runs the compiled replica simulator (:mod:`schedlab.llm.kernels`) and returns
a :class:`Served`: per request its replica, time to first token (TTFT), end-to-end latency
and preemptions; every gap between consecutive tokens of a request (time between tokens,
TBT); per replica its iterations, busy time and KV-cache use. An SLO (``ttft=500ms,tbt=50ms``
at a percentile) is met when that percentile of the TTFTs and that percentile of all token
gaps are within it; a request attains it when its TTFT and its mean gap (time per output
token) are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.llm import kernel_state as k
from schedlab.llm.cards import LlmError
from schedlab.llm.kernels import simulate
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment

#: A slowdown over time: ``(times, factors)``, factor i in force from time i (times
#: ascending) until the next; 1 before the first.
Steps = tuple[FloatArray, FloatArray]


def _checked(steps: Steps) -> Steps:
    """``steps`` as float arrays, begun by a factor of 1 from the start of time."""
    times, factors = (np.asarray(x, dtype=np.float64) for x in steps)
    if times.shape != factors.shape or (np.diff(times) < 0).any() or (factors <= 0).any():
        raise LlmError("a slowdown is ascending times and positive factors, as many of each")
    return np.concatenate(([-np.inf], times)), np.concatenate(([1.0], factors))


@dataclass(frozen=True)
class Batching:
    """A replica's scheduler settings (vLLM's names: ``max_num_seqs``,
    ``max_num_batched_tokens``, ``block_size``, ``enable_chunked_prefill``,
    ``gpu_memory_utilization``; the free-block watermark is vLLM's 1 %)."""

    max_seqs: int = 256
    max_tokens: int = 8192
    block_size: int = 16
    chunked: bool = False
    memory_fraction: float = 0.9
    watermark: float = 0.01


@dataclass(frozen=True)
class Slo:
    """Latency targets (s) at a percentile of TTFT and of the gaps between tokens."""

    ttft: float
    tbt: float
    percentile: float = 99.0

    def text(self) -> str:
        return f"ttft={self.ttft * 1000:g}ms,tbt={self.tbt * 1000:g}ms at p{self.percentile:g}"


_UNITS = {"ms": 1e-3, "s": 1.0, "": 1e-3}


def parse_slo(text: str, percentile: float = 99.0) -> Slo:
    """``ttft=500ms,tbt=50ms`` (``ms`` or ``s``; a bare number is milliseconds)."""
    found: dict[str, float] = {}
    for part in text.split(","):
        match = re.fullmatch(r"\s*(ttft|tbt)\s*=\s*([0-9.]+(?:e-?[0-9]+)?)\s*(ms|s|)\s*", part, re.I)
        if not match:
            raise LlmError(
                f"--slo {text}: expected ttft=VALUE,tbt=VALUE (e.g. ttft=500ms,tbt=50ms), not '{part}'"
            )
        value = float(match.group(2)) * _UNITS[match.group(3).lower()]
        if not math.isfinite(value) or value <= 0:
            raise LlmError(f"--slo {text}: {match.group(1)} must be a positive time")
        found[match.group(1).lower()] = value
    if set(found) != {"ttft", "tbt"}:
        raise LlmError(f"--slo {text}: give both ttft and tbt (e.g. ttft=500ms,tbt=50ms)")
    if not 0 < percentile <= 100:
        raise LlmError(f"--percentile {percentile}: must be in (0, 100]")
    return Slo(found["ttft"], found["tbt"], percentile)


@dataclass(frozen=True)
class Served:
    """The outcome of :func:`serve` (request arrays in arrival order; NaN when not served)."""

    requests: LlmRequests
    replica: IntArray
    ttft: FloatArray
    e2e: FloatArray
    tpot: FloatArray
    preempted: IntArray
    gaps: FloatArray
    rejected: IntArray
    iterations: IntArray
    busy: FloatArray
    kv_use: FloatArray
    kv_peak: FloatArray
    span: float

    def meets(self, slo: Slo) -> bool:
        """Whether the SLO's percentile of TTFT and of token gaps are both within it."""
        p = self.percentiles(slo.percentile)
        return bool(p["ttft"] <= slo.ttft and p["tbt"] <= slo.tbt)

    def percentiles(self, q: float) -> dict[str, float]:
        ttft = self.ttft[~np.isnan(self.ttft)]
        return {
            "ttft": float(np.percentile(ttft, q)) if len(ttft) else math.inf,
            "tbt": float(np.percentile(self.gaps, q)) if len(self.gaps) else 0.0,
        }

    def attainment(self, slo: Slo) -> float:
        """Share of served requests whose TTFT and mean token gap are within the SLO."""
        served = ~np.isnan(self.ttft)
        ok = served & (self.ttft <= slo.ttft) & ~(self.tpot > slo.tbt)
        return float(ok.sum() / max(int(served.sum()), 1))

    def summary(self, slo: Slo | None = None) -> dict[str, Any]:
        served = ~np.isnan(self.ttft)
        tokens = int(self.requests.output[served].sum())

        def stats(values: FloatArray) -> dict[str, float]:
            values = values[~np.isnan(values)]
            if not len(values):
                return {"mean": math.nan, "p50": math.nan, "p90": math.nan, "p99": math.nan}
            p50, p90, p99 = np.percentile(values, [50, 90, 99])
            return {"mean": float(values.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}

        doc: dict[str, Any] = {
            "requests": len(self.requests),
            "served": int(served.sum()),
            "rejected": len(self.rejected),
            "ttft_s": stats(self.ttft),
            "tbt_s": stats(self.gaps),
            "tpot_s": stats(self.tpot),
            "e2e_s": stats(self.e2e),
            "output_tokens": tokens,
            "tokens_per_s": tokens / self.span if self.span > 0 else math.nan,
            "preemptions": int(self.preempted.sum()),
            "iterations": int(self.iterations.sum()),
            "busy_frac_mean": float(self.busy.mean() / self.span) if self.span > 0 else math.nan,
            "kv_use_mean": float(self.kv_use.mean()),
            "kv_use_peak": float(self.kv_peak.max()),
        }
        if slo is not None:
            p = self.percentiles(slo.percentile)
            doc["slo"] = {
                **asdict(slo),
                "ttft_at_percentile_s": p["ttft"],
                "tbt_at_percentile_s": p["tbt"],
                "met": self.meets(slo),
                "attainment": self.attainment(slo),
            }
        return doc


def serve(
    requests: LlmRequests,
    deployment: Deployment,
    replicas: int,
    batching: Batching = Batching(),
    slowdown: Steps | None = None,
) -> Served:
    """Serve ``requests`` on ``replicas`` copies of ``deployment``; with ``slowdown``, every
    iteration takes its time times the factor in force where it begins (the GPU's time
    shared with co-located tasks).

    Requests longer than the model's context (prompt plus output) or than the KV cache
    can ever hold are not served: they are listed in ``rejected`` (their indices).
    """
    if replicas < 1:
        raise LlmError(f"--replicas {replicas}: must be at least 1")
    req, reqf, rep, repf, gaps, rejected = _simulate(
        requests, [deployment] * replicas, None, batching, [slowdown] * replicas
    )
    blocks, n = rep[0, k.CAP], len(requests)
    served = req[:, k.STATE] == k.DONE
    first, finish = reqf[:, k.FIRST], reqf[:, k.FINISH]
    start = float(requests.arrival[0]) if n else 0.0
    span = float(np.nanmax(finish)) - start if served.any() else 0.0
    out = requests.output.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / (out - 1), np.nan)
    kept_gaps = gaps[np.repeat(served, requests.output - 1)]
    kv_use = repf[:, k.KV_SECONDS] / (blocks * span) if span > 0 else np.zeros(replicas)
    return Served(
        requests=requests,
        replica=req[:, k.REPLICA],
        ttft=first - requests.arrival,
        e2e=finish - requests.arrival,
        tpot=tpot,
        preempted=req[:, k.PREEMPTED],
        gaps=kept_gaps,
        rejected=np.flatnonzero(rejected),
        iterations=rep[:, k.ITERS],
        busy=repf[:, k.BUSY],
        kv_use=kv_use,
        kv_peak=rep[:, k.PEAK] / blocks,
        span=span,
    )


def route_least_loaded(
    requests: LlmRequests,
    deployments: Sequence[Deployment],
    windows: Sequence[tuple[float, float]],
    batching: Batching = Batching(),
    slowdowns: Sequence[Steps | None] | None = None,
) -> IntArray:
    """Per request (sorted by arrival), the replica a least-loaded router sends it to: of the
    replicas running at its arrival (``windows``: from, until before; one deployment of one
    model each, on its own GPU card), the one with the fewest requests outstanding then, as
    each serves at token level (the lowest index on ties); -1 when none runs. A request
    longer than the model's context, or than some replica's KV cache could ever hold, is
    not routed by load: -2. ``slowdowns``: per replica, as :func:`serve`'s."""
    req, _, _, _, _, rejected = _simulate(
        requests, deployments, windows, batching, slowdowns or [None] * len(deployments)
    )
    chosen: IntArray = req[:, k.REPLICA].copy()
    chosen[rejected] = -2
    return chosen


def _simulate(
    requests: LlmRequests,
    deployments: Sequence[Deployment],
    windows: Sequence[tuple[float, float]] | None,
    batching: Batching,
    slowdowns: Sequence[Steps | None],
) -> tuple[IntArray, FloatArray, IntArray, FloatArray, FloatArray, np.ndarray]:
    """Run the replica simulator: the request and replica fields, the token gaps, and which
    requests were rejected (longer than the context or any replica's KV cache)."""
    if batching.max_seqs < 1 or batching.max_tokens < 1 or batching.block_size < 1:
        raise LlmError("--max-seqs, --max-batch-tokens and --block-size must be at least 1")
    model = deployments[0].model
    blocks = np.array(
        [
            d.kv_blocks(batching.block_size, batching.max_tokens, batching.memory_fraction)
            for d in deployments
        ],
        dtype=np.int64,
    )
    watermark = (batching.watermark * blocks).astype(np.int64)
    budget = batching.max_tokens if batching.chunked else max(batching.max_tokens, model.max_len)
    if batching.chunked and budget < batching.max_seqs:
        raise LlmError(
            f"--max-batch-tokens {budget}: at least --max-seqs ({batching.max_seqs}) with chunked prefill"
        )
    n = len(requests)
    total = requests.prompt + requests.output
    need = (total + batching.block_size - 1) // batching.block_size
    rejected = (total > model.max_len) | (need > int((blocks - watermark).min()))
    req = np.zeros((n, k.N_REQ), dtype=np.int64)
    req[:, k.PROMPT] = requests.prompt
    req[:, k.OUTPUT] = requests.output
    req[:, k.NEXT] = -1
    req[:, k.REPLICA] = -1
    req[:, k.STATE] = np.where(rejected, k.REJECTED, k.PENDING)
    req[:, k.GOFF] = np.concatenate(([0], np.cumsum(requests.output - 1)[:-1])) if n else 0
    reqf = np.full((n, k.N_REQF), np.nan)
    reqf[:, k.ARRIVAL] = requests.arrival
    rep = np.zeros((len(deployments), k.N_REP), dtype=np.int64)
    rep[:, k.FREE] = rep[:, k.CAP] = blocks
    rep[:, k.WMARK] = watermark
    rep[:, k.HEAD] = rep[:, k.TAIL] = -1
    repf = np.zeros((len(deployments), k.N_REPF))
    repf[:, k.UNTIL] = np.inf
    repf[:, k.OPEN], repf[:, k.CLOSE] = (-np.inf, np.inf) if windows is None else np.array(windows).T
    run = np.zeros((len(deployments), batching.max_seqs), dtype=np.int64)
    gaps = np.full(int((requests.output - 1).sum()), np.nan)
    params = np.array(
        [len(deployments), batching.max_seqs, budget, batching.block_size, int(batching.chunked)]
    )
    coef = np.stack([d.coefficients() for d in deployments])
    steps = [(np.array([-np.inf]), np.ones(1)) if s is None else _checked(s) for s in slowdowns]
    lengths = np.array([len(t) for t, _ in steps])
    rep[:, k.STEP_END] = np.cumsum(lengths)
    rep[:, k.STEP] = rep[:, k.STEP_END] - lengths
    step_t = np.concatenate([t for t, _ in steps])
    step_f = np.concatenate([f for _, f in steps])
    simulate(req, reqf, rep, repf, run, gaps, params, coef, step_t, step_f)
    return req, reqf, rep, repf, gaps, rejected
