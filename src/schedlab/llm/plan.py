"""Capacity planning: the fewest replicas (and GPUs) of a model on a GPU model that serve a
request trace within an SLO.

For each tensor-parallel degree whose weights leave room for a full context (1, 2, 4, 8 GPUs
of one node), the replica count is searched by doubling and then bisection on the simulated
deployment (:func:`schedlab.llm.serving.serve`), and the answer is checked from below: the
plan's count meets the SLO and one replica fewer does not (should the simulated latency not
fall monotonically with more replicas, the search walks down until that holds). The degree
with the fewest GPUs wins (the smaller degree on ties).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from schedlab.llm.cards import GpuCard, LlmError, ModelCard
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment, Efficiency
from schedlab.llm.serving import Batching, Served, Slo, serve

log = logging.getLogger(__name__)
TP_DEGREES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Plan:
    """The answer for one GPU model: ``replicas`` of ``deployment``, and the runs that show it
    (``served`` meets the SLO; ``fewer`` is one replica fewer, None when that is zero)."""

    deployment: Deployment
    replicas: int
    served: Served
    fewer: Served | None

    @property
    def gpu(self) -> GpuCard:
        return self.deployment.gpu

    @property
    def tp(self) -> int:
        return self.deployment.tp

    @property
    def gpus(self) -> int:
        """Physical GPUs: TP x replicas, or on MIG instances as few GPUs as hold them."""
        return -(-self.replicas * self.tp // self.gpu.per_gpu)


def fits(model: ModelCard, gpu: GpuCard, tp: int, batching: Batching, efficiency: Efficiency) -> bool:
    """Whether ``tp`` GPUs hold the weights and one full context."""
    try:
        Deployment(model, gpu, tp, efficiency).kv_blocks(
            batching.block_size, batching.max_tokens, batching.memory_fraction
        )
    except LlmError:
        return False
    return True


def plan(
    requests: LlmRequests,
    model: ModelCard,
    gpu: GpuCard,
    slo: Slo,
    batching: Batching | None = None,
    efficiency: Efficiency | None = None,
    tp: int | None = None,
    max_replicas: int = 4096,
) -> Plan:
    """The fewest GPUs of ``gpu`` that serve ``requests`` within ``slo`` (``tp`` fixed, or
    the best of 1, 2, 4, 8)."""
    batching, efficiency = batching or Batching(), efficiency or Efficiency()
    degrees = [tp] if tp else [d for d in TP_DEGREES if fits(model, gpu, d, batching, efficiency)]
    if not degrees:
        where = f"one {gpu.name} instance" if gpu.link <= 0 else f"8 x {gpu.name} (one node)"
        raise LlmError(f"{model.name} does not fit on {where} with room for a full context")
    best: Plan | None = None
    reasons = []
    for degree in degrees:
        deployment = Deployment(model, gpu, degree, efficiency)
        try:
            found = _fewest(requests, deployment, slo, batching, max_replicas)
        except LlmError as err:
            reasons.append(str(err))
            continue
        if best is None or found.gpus < best.gpus:
            best = found
    if best is None:
        raise LlmError(reasons[0] if len(reasons) == 1 else "; ".join(reasons))
    return best


def alone(requests: LlmRequests, deployment: Deployment, q: float) -> dict[str, float]:
    """Lower bounds of the ``q``-th percentiles of TTFT and of token gaps: each request's
    prompt prefilled alone, each of its tokens decoded alone at its prompt's length (every
    served request's TTFT and gaps are at least these, so their percentiles are too)."""
    fits = requests.prompt + requests.output <= deployment.model.max_len
    prompts, index = np.unique(requests.prompt[fits], return_inverse=True)
    prefill = np.array([deployment.prefill_time(int(p)) for p in prompts])[index]
    decode = np.repeat(
        np.array([deployment.decode_time(1, int(p)) for p in prompts])[index], requests.output[fits] - 1
    )
    return {
        "ttft": float(np.percentile(prefill, q)) if len(prefill) else 0.0,
        "tbt": float(np.percentile(decode, q)) if len(decode) else 0.0,
    }


def _fewest(requests: LlmRequests, deployment: Deployment, slo: Slo, batching: Batching, cap: int) -> Plan:
    where = f"{deployment.model.name} on {deployment.tp} x {deployment.gpu.name}"
    bound = alone(requests, deployment, slo.percentile)
    if bound["ttft"] > slo.ttft or bound["tbt"] > slo.tbt:
        raise LlmError(
            f"{where}: no replica count meets {slo.text()}: even alone, p{slo.percentile:g} TTFT is at least"
            f" {bound['ttft'] * 1000:.0f} ms and TBT at least {bound['tbt'] * 1000:.1f} ms"
        )
    runs: dict[int, Served] = {}

    def run(n: int) -> Served:
        if n not in runs:
            runs[n] = serve(requests, deployment, n, batching)
            log.debug("%s: %d replicas -> %s", where, n, runs[n].percentiles(slo.percentile))
        return runs[n]

    high = 1
    while not run(high).meets(slo):
        if high >= cap:
            p = run(high).percentiles(slo.percentile)
            raise LlmError(
                f"{where}: even {high} replicas give p{slo.percentile:g} TTFT {p['ttft'] * 1000:.0f} ms"
                f" and TBT {p['tbt'] * 1000:.1f} ms against the SLO {slo.text()} (raise --max-replicas to try"
                " more)"
            )
        high = min(high * 2, cap)
    low = high // 2  # fails, or 0
    while high - low > 1:
        middle = (low + high) // 2
        if run(middle).meets(slo):
            high = middle
        else:
            low = middle
    while high > 1 and run(high - 1).meets(slo):
        high -= 1
    return Plan(deployment, high, run(high), run(high - 1) if high > 1 else None)
