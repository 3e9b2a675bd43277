"""How fast the token-level LLM serving simulator runs.

Serves each hour-long Azure LLM 2023 trace (code: 8,819 requests; conv: 19,366) on
``--replicas`` replicas of Llama-3-8B on H100 (with and without chunked prefill) and prints
the best of ``--repeat`` in-process times of :func:`schedlab.llm.serving.serve` (kernels
already loaded), the iterations simulated, and the end-to-end time and peak RSS of the same
``schedlab llm simulate`` command in its own process (kernels cached on disk).
Usage: ``python benchmarks/llm_speed.py [--replicas 8] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchlib import ROOT, Version

from schedlab.llm.cards import gpu_card, model_card
from schedlab.llm.requests import LlmRequests, load_llm_requests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Batching, serve

DATA = ROOT.parent / "shared" / "data" / "azure-llm-2023"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    deployment = Deployment(model_card("llama-3-8b"), gpu_card("H100"), 1)
    here = Version("this checkout", ROOT / "src")
    print("| trace | chunked prefill | requests | iterations | serve() best | end to end | peak RSS |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in ("code", "conv"):
        path = DATA / f"AzureLLMInferenceTrace_{name}.csv"
        trace = load_llm_requests(path)
        for chunked in (False, True):
            batching = Batching(chunked=chunked)
            served = serve(trace, deployment, args.replicas, batching)  # loads the kernels
            best = min(_timed(trace, deployment, args.replicas, batching) for _ in range(args.repeat))
            flags = ["--chunked-prefill"] if chunked else []
            run = here.run(
                "llm",
                "simulate",
                "--trace",
                str(path),
                "--model",
                "llama-3-8b",
                "--gpu",
                "H100",
                "--replicas",
                str(args.replicas),
                "--json",
                *flags,
            )
            print(
                f"| {name} ({Path(path).name}) | {'yes' if chunked else 'no'} | {len(trace):,} |"
                f" {int(served.iterations.sum()):,} | {best:.3f} s | {run.process_s:.2f} s |"
                f" {run.rss_mb:.0f} MB |"
            )


def _timed(trace: LlmRequests, deployment: Deployment, replicas: int, batching: Batching) -> float:
    began = time.perf_counter()
    serve(trace, deployment, replicas, batching)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
