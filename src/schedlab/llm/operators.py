"""The roofline against operator times measured on a real GPU, as Vidur publishes them.

Vidur (Agrawal et al., MLSys'24) profiles each kernel of a transformer block on real GPUs
and publishes the medians (``data/profiling/compute/<gpu>/<model>/mlp.csv`` in its
repository): one row per number of tokens in the batch and tensor-parallel degree, a
``time_stats.<kernel>.median`` column (ms) per kernel. The kernels outside attention are
the ones this module reads: the two RMS norms, the Q/K/V and output projections, the
rotary embedding, the MLP's up (gate and up) and down projections and its activation, and
the residual add.

What the roofline says those kernels of one layer take is its block-matrices operator (the
longer of the matrices' FLOPs at the tensor peak and their weights plus each token's
inputs and outputs at the bandwidth, :class:`~schedlab.llm.roofline.Deployment`) plus the
layer's share of the iteration's launch time. :func:`operator_errors` compares the two
row by row: with the default efficiencies, fitted to every row, and fitted to the other
rows only, by tensor-parallel degree. Attention, the output head, the all-reduces and the
scheduler are not in these files and not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.errors import TraceError
from schedlab.llm.cards import MODELS, GpuCard, LlmError, ModelCard
from schedlab.llm.profiles import error_table
from schedlab.llm.roofline import Deployment, Efficiency

#: The kernels of a layer outside attention, as Vidur names them.
KERNELS = (
    "input_layernorm",
    "attn_pre_proj",
    "attn_rope",
    "attn_post_proj",
    "post_attention_layernorm",
    "mlp_up_proj",
    "mlp_act",
    "mlp_down_proj",
    "add",
)
SHAPE = ("n_head", "n_kv_head", "n_embd", "n_expanded_embd", "num_tokens", "num_tensor_parallel_workers")


@dataclass(frozen=True)
class OperatorProfile:
    """Measured time (ms) of one layer's kernels outside attention, per batch size and
    tensor-parallel degree, for one model."""

    model: ModelCard
    tokens: IntArray
    tp: IntArray
    ms: FloatArray
    source: str

    def __len__(self) -> int:
        return len(self.ms)


def load_operators(path: Path, model: ModelCard | None = None) -> OperatorProfile:
    """Read a Vidur ``mlp.csv``; the model is the built-in card with its block's shape
    (heads, KV heads, hidden and MLP sizes) unless ``model`` is given."""
    from schedlab.trace.columns import read_integers, read_numbers
    from schedlab.trace.csvfile import read_csv

    columns = [f"time_stats.{k}.median" for k in KERNELS]
    frame = read_csv(path, (*SHAPE, *columns))
    if not len(frame):
        raise TraceError(path, 2, None, "no data rows")
    shape = {name: read_integers(path, frame, name, low=1) for name in SHAPE}
    ms = np.zeros(len(frame))
    for column in columns:
        times = read_numbers(path, frame, column)
        missing = np.isnan(times)
        if missing.any():
            raise TraceError(path, int(np.flatnonzero(missing)[0]) + 2, column, "missing value")
        ms += times
    if (ms <= 0).any():
        i = int(np.flatnonzero(ms <= 0)[0])
        raise TraceError(path, i + 2, None, "every kernel takes 0 ms: nothing was measured")
    dims = [
        (int(a), int(b), int(c), int(d)) for a, b, c, d in zip(*(shape[n] for n in SHAPE[:4]), strict=True)
    ]
    if len(set(dims)) > 1:
        i = next(i for i, d in enumerate(dims) if d != dims[0])
        raise TraceError(path, i + 2, "n_embd", "rows of more than one model (one model per file)")
    heads, kv_heads, hidden, mlp = dims[0]
    if model is None:
        model = next(
            (m for m in MODELS.values() if (m.heads, m.kv_heads, m.hidden, m.mlp) == dims[0]),
            None,
        )
        if model is None:
            raise LlmError(
                f"{path}: no built-in model card has {heads} heads, {kv_heads} KV heads, hidden size"
                f" {hidden} and MLP size {mlp} (`schedlab llm cards`)"
            )
    elif (model.heads, model.kv_heads, model.hidden, model.mlp) != dims[0]:
        raise LlmError(f"{path}: measures a block of hidden size {hidden}, MLP {mlp}: not {model.name}")
    return OperatorProfile(
        model=model,
        tokens=shape["num_tokens"],
        tp=shape["num_tensor_parallel_workers"],
        ms=ms,
        source=str(path),
    )


def layer_ms(profile: OperatorProfile, gpu: GpuCard, efficiency: Efficiency, rows: IntArray) -> FloatArray:
    """The roofline's time (ms) of one layer's kernels outside attention at ``rows``: its
    block-matrices operator plus the layer's share of the iteration's launch time."""
    model = profile.model
    out = np.empty(len(rows))
    for j, i in enumerate(rows):
        coef = Deployment(model, gpu, int(profile.tp[i]), efficiency).coefficients()
        n = float(profile.tokens[i])
        matrices = max(coef[0] * n, coef[1] + coef[2] * n)
        out[j] = (matrices + efficiency.launch_s) / model.layers * 1000
    return out


def operator_errors(profile: OperatorProfile, gpu: GpuCard) -> dict[str, Any]:
    """|roofline / measured - 1| per tensor-parallel degree and over all rows (see
    :func:`schedlab.llm.profiles.error_table`)."""
    groups = {f"tp{t}": profile.tp == t for t in sorted(set(profile.tp.tolist()))}
    return error_table(
        lambda efficiency, rows: layer_ms(profile, gpu, efficiency, rows), profile.ms, Efficiency(), groups
    )
