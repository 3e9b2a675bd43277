"""Measured LLM iteration times (a profile directory) and the roofline fitted to them.

``schedlab profile --llm MODEL`` writes a folder with ``llm-profile.json`` (the model card,
the device it ran on, the settings) and ``iterations.csv``: one row per measured iteration
shape, ``kind`` (``prefill``: ``batch`` prompts of ``tokens`` tokens each; ``decode``:
``batch`` requests one token each at ``context`` tokens of context), and ``ms``, the median
time of the whole model's iteration on one GPU. :func:`fit` finds the compute and memory
efficiencies and the launch time that make the roofline match those times best (least
squares on the log of the ratio); :func:`errors` says how far the roofline is from them,
with the default efficiencies, fitted on all points, and fitted on the other points only
(five folds), which is the error to expect at shapes not measured.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.errors import TraceError
from schedlab.llm.cards import GPUS, GpuCard, LlmError, ModelCard, model_card
from schedlab.llm.roofline import Deployment, Efficiency, iteration_time

META = "llm-profile.json"
TABLE = "iterations.csv"
COLUMNS = ("kind", "batch", "tokens", "context", "ms", "samples")
KINDS = ("prefill", "decode")
FOLDS = 5


@dataclass(frozen=True)
class LlmProfile:
    """Measured iteration times of one model on one device."""

    model: ModelCard
    device: str
    kind: IntArray  # 0 prefill, 1 decode
    batch: IntArray
    tokens: IntArray
    context: IntArray
    ms: FloatArray
    source: str

    def __len__(self) -> int:
        return len(self.ms)


def card_for_device(device: str) -> GpuCard | None:
    """The GPU card of a device name as CUDA reports it (``NVIDIA H100 80GB HBM3``), if any."""
    name = device.upper().replace("NVIDIA", "").replace("TESLA", "").replace("-", " ")
    words = name.split()
    rules = [
        ("H200", "H200-141GB"),
        ("H800", "H800-80GB"),
        ("H100", "H100-80GB"),
        ("A800", "A800-80GB"),
        ("A100", "A100-80GB" if "80GB" in name.replace(" ", "") else "A100-40GB"),
        ("L40S", "L40S"),
        ("L4", "L4"),
        ("A10", "A10"),
        ("T4", "T4"),
        ("V100", "V100-32GB" if "32GB" in name.replace(" ", "") else "V100-16GB"),
        ("P100", "P100"),
    ]
    for word, card in rules:
        if word in words or any(w.startswith(word) and w[len(word) :] in ("", "S", "X") for w in words):
            return GPUS[card]
    return None


def prediction_inputs(profile: LlmProfile) -> FloatArray:
    """Per row: prompt tokens, causal pairs, prompt KV read, decodes, decode KV, sampled."""
    prefill = profile.kind == 0
    b, p, c = profile.batch.astype(np.float64), profile.tokens.astype(np.float64), profile.context
    rows = np.zeros((len(profile), 6))
    rows[:, 0] = np.where(prefill, b * p, 0)
    rows[:, 1] = np.where(prefill, b * p * (p + 1) / 2, 0)
    rows[:, 2] = np.where(prefill, b * p, 0)
    rows[:, 3] = np.where(prefill, 0, b)
    rows[:, 4] = np.where(prefill, 0, b * c)
    rows[:, 5] = b
    return rows


def predict(profile: LlmProfile, deployment: Deployment) -> FloatArray:
    """The roofline's time (ms) of each measured shape, GPU time only (no scheduler)."""
    gpu_only = replace(deployment, efficiency=replace(deployment.efficiency, scheduler_s=0.0))
    coef = gpu_only.coefficients()
    return np.array([iteration_time(coef, *row) * 1000 for row in prediction_inputs(profile)])


#: The roofline's times (ms) of the measured rows given, with the efficiencies given.
Predictor = Callable[[Efficiency, IntArray], FloatArray]


def fit(profile: LlmProfile, deployment: Deployment, rows: IntArray | None = None) -> Efficiency:
    """The compute and memory efficiencies and launch time that fit ``rows`` (all) best."""
    chosen = np.arange(len(profile)) if rows is None else rows
    return fit_rows(_predictor(profile, deployment), profile.ms, deployment.efficiency, chosen)


def errors(profile: LlmProfile, deployment: Deployment) -> dict[str, Any]:
    """Median and p90 of |roofline / measured - 1| per kind and overall: with the default
    efficiencies, fitted on every point, and fitted on the other folds (cross-validated);
    ``efficiencies``: the ones fitted on every point."""
    groups = {kind: profile.kind == k for k, kind in enumerate(KINDS)}
    return error_table(_predictor(profile, deployment), profile.ms, deployment.efficiency, groups)


def fit_rows(predict_rows: Predictor, measured: FloatArray, base: Efficiency, rows: IntArray) -> Efficiency:
    """The compute and memory efficiencies and launch time (the rest as in ``base``) with
    which ``predict_rows`` matches ``measured`` at ``rows`` best: least squares on the log
    of the ratio."""
    from scipy.optimize import least_squares

    def residuals(x: FloatArray) -> FloatArray:
        return np.log(predict_rows(_efficiency(base, x), rows) / measured[rows])

    start = np.array([base.compute, base.memory, base.launch_s])
    found = least_squares(
        residuals, start, bounds=([0.01, 0.01, 0.0], [1.0, 1.0, 0.05]), x_scale=[0.1, 0.1, 1e-3]
    )
    return _efficiency(base, found.x)


def error_table(
    predict_rows: Predictor, measured: FloatArray, base: Efficiency, groups: dict[str, Any]
) -> dict[str, Any]:
    """Median and p90 of |predicted / measured - 1| in each group of rows (a boolean mask
    each) and over all: with the efficiencies of ``base``, fitted on every row, and fitted on
    the other rows only (five folds: the error to expect where nothing was measured)."""
    every = np.arange(len(measured))
    fitted = fit_rows(predict_rows, measured, base, every)
    held_out = np.empty(len(measured))
    folds = every % FOLDS
    for fold in range(min(FOLDS, len(measured))):
        train, test = every[folds != fold], every[folds == fold]
        if len(train):
            held_out[test] = predict_rows(fit_rows(predict_rows, measured, base, train), test)
    tables = {
        "default": predict_rows(base, every),
        "fitted": predict_rows(fitted, every),
        "cross_validated": held_out,
    }
    doc: dict[str, Any] = {
        "points": len(measured),
        "efficiencies": {"compute": fitted.compute, "memory": fitted.memory, "launch_s": fitted.launch_s},
    }
    for name, predicted in tables.items():
        ratio = np.abs(predicted / measured - 1)
        doc[name] = {"all": _stats(ratio)} | {
            group: _stats(ratio[mask]) for group, mask in groups.items() if mask.any()
        }
    return doc


def load_llm_profile(folder: Path) -> LlmProfile:
    """Read a profile directory written by ``schedlab profile --llm``."""
    from schedlab.trace.columns import read_integers, read_positive
    from schedlab.trace.csvfile import read_csv

    meta_path = folder / META
    if not meta_path.is_file():
        raise LlmError(
            f"--profile {folder}: no {META} (write one with `schedlab profile --llm MODEL --out DIR`)"
        )
    try:
        meta = json.loads(meta_path.read_text())
        model = model_card(str(meta["model"]))
        device = str(meta["device"])
    except (ValueError, KeyError, TypeError) as err:
        raise LlmError(f"{meta_path}: not an LLM profile's description ({err})") from None
    path = folder / TABLE
    frame = read_csv(path, COLUMNS)
    if not len(frame):
        raise TraceError(path, 2, None, "no data rows (nothing was measured yet)")
    kinds = frame["kind"].str.strip()
    bad = ~kinds.isin(KINDS).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, i + 2, "kind", f"expected prefill or decode: '{kinds.iloc[i]}'")
    return LlmProfile(
        model=model,
        device=device,
        kind=(kinds == "decode").to_numpy().astype(np.int64),
        batch=read_integers(path, frame, "batch", low=1),
        tokens=read_integers(path, frame, "tokens", low=1),
        context=read_integers(path, frame, "context", low=0),
        ms=read_positive(path, frame, "ms"),
        source=str(folder),
    )


def _predictor(profile: LlmProfile, deployment: Deployment) -> Predictor:
    return lambda efficiency, rows: predict(
        _subset(profile, rows), replace(deployment, efficiency=efficiency)
    )


def _subset(profile: LlmProfile, rows: IntArray) -> LlmProfile:
    return replace(
        profile,
        kind=profile.kind[rows],
        batch=profile.batch[rows],
        tokens=profile.tokens[rows],
        context=profile.context[rows],
        ms=profile.ms[rows],
    )


def _efficiency(base: Efficiency, x: FloatArray) -> Efficiency:
    return replace(base, compute=float(x[0]), memory=float(x[1]), launch_s=float(x[2]))


def _stats(ratio: FloatArray) -> dict[str, float]:
    if not len(ratio):
        return {"median": math.nan, "p90": math.nan, "n": 0}
    return {"median": float(np.median(ratio)), "p90": float(np.percentile(ratio, 90)), "n": len(ratio)}
