"""``schedlab profile --llm MODEL``: measure a model card's prefill and decode iterations.

Timing does not depend on weight values, so the backend builds the model's layers with
random weights (nothing is downloaded) and times one transformer block (RMS norm, fused QKV
projection, causal or cached attention with grouped KV heads, output projection, gated MLP)
and the output head at each iteration shape; the whole model's time is the block's times
the layer count plus the head's (all blocks are alike). The shapes: prompts of 64 to 8,192
tokens alone and four at a time (prefill), and 1 to 256 requests at 256 to 4,096 tokens
of context (decode). Rows go to ``iterations.csv`` as they are measured; running the
command again goes on where it stopped. :mod:`schedlab.llm.profiles` reads the folder.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from schedlab.errors import ConfigError
from schedlab.files import write_json
from schedlab.llm.cards import GPUS, ModelCard
from schedlab.llm.profiles import COLUMNS, META, TABLE
from schedlab.llm.roofline import Deployment, Efficiency
from schedlab.provenance import stamp

log = logging.getLogger("schedlab")
Point = tuple[str, int, int, int]  # kind, batch, tokens, context


class LlmBackend(Protocol):
    """Times iterations of one model card; ``describe`` names the device."""

    def describe(self) -> dict[str, str]: ...

    def time(self, kind: str, batch: int, tokens: int, context: int) -> tuple[float, int]:
        """Median milliseconds of the whole model's iteration, and the samples taken."""
        ...


def llm_points(card: ModelCard, max_tokens: int = 8192, max_kv_tokens: int = 2**20) -> list[Point]:
    """The iteration shapes to measure (prompts within the context and ``max_tokens``;
    decode batches whose context fits ``max_kv_tokens`` cached tokens)."""
    points: list[Point] = []
    limit = min(card.max_len, max_tokens)
    for batch in (1, 4):
        for tokens in (64, 128, 256, 512, 1024, 2048, 4096, 8192):
            if tokens <= limit and batch * tokens <= max_tokens:
                points.append(("prefill", batch, tokens, 0))
    for batch in (1, 4, 16, 64, 256):
        for context in (256, 1024, 4096):
            if context < card.max_len and batch * (context + 1) <= max_kv_tokens:
                points.append(("decode", batch, 1, context))
    return points


class FakeLlmBackend:
    """A synthetic GPU for tests and dry runs: an H100's roofline with kernels that reach
    less of the tensor peak on small matrices (efficiency ``0.62 t / (t + 128)`` for ``t``
    tokens), 0.72 of the bandwidth, 25 us of launches per block, and 2 % seeded noise."""

    def __init__(self, card: ModelCard, seed: int = 0) -> None:
        self.card = card
        self.rng = np.random.default_rng(seed)

    def describe(self) -> dict[str, str]:
        return {"device": "fake H100 (synthetic)", "backend": "fake"}

    def time(self, kind: str, batch: int, tokens: int, context: int) -> tuple[float, int]:
        t = batch * tokens
        compute = 0.62 * t / (t + 128)
        truth = Efficiency(compute=compute, memory=0.72, launch_s=25e-6 * self.card.layers, scheduler_s=0.0)
        d = Deployment(self.card, GPUS["H100-80GB"], 1, truth)
        if kind == "prefill":
            seconds = d.iteration(t, batch * tokens * (tokens + 1) / 2, t, sampled=batch)
        else:
            seconds = d.iteration(decodes=batch, decode_kv=batch * context, sampled=batch)
        return seconds * 1000 * float(np.exp(self.rng.normal(0, 0.02))), 1


def measure_llm(
    card: ModelCard,
    backend: LlmBackend,
    out: Path,
    points: list[Point],
    settings: Mapping[str, Any],
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Measure the ``points`` that ``out`` does not hold yet; how many were measured."""
    done = _resume(out, card, settings)
    meta = {"model": card.name, **backend.describe(), "settings": dict(settings)}
    write_json(out / META, meta | stamp(dict(settings), {}))
    table = out / TABLE
    fresh = not table.exists()
    measured = 0
    with table.open("a", newline="") as f:
        writer = csv.writer(f)
        if fresh:
            writer.writerow(COLUMNS)
        for point in points:
            if point in done:
                continue
            ms, samples = backend.time(*point)
            if not math.isfinite(ms) or ms <= 0:
                raise ConfigError(f"{point}: the backend measured {ms} ms")
            writer.writerow([*point, f"{ms:.6f}", samples])
            f.flush()
            measured += 1
            if on_progress:
                on_progress(len(done) + measured)
    return measured


def _resume(out: Path, card: ModelCard, settings: Mapping[str, Any]) -> set[Point]:
    """The points already in ``out`` (measured with the same model and settings)."""
    import json

    meta_path, table = out / META, out / TABLE
    if not meta_path.exists():
        if table.exists():
            raise ConfigError(f"--out {out}: holds {TABLE} but no {META}: give a new folder")
        return set()
    meta = json.loads(meta_path.read_text())
    if meta.get("model") != card.name or meta.get("settings") != dict(settings):
        raise ConfigError(
            f"--out {out}: holds a profile of {meta.get('model')} with other settings: give a new folder"
        )
    if not table.exists():
        return set()
    with table.open(newline="") as f:
        return {(r["kind"], int(r["batch"]), int(r["tokens"]), int(r["context"])) for r in csv.DictReader(f)}
