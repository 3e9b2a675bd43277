"""Statistics over seeds: mean, sample standard deviation, n and a confidence interval.

One helper for every aggregate over repeated runs (fill and replay sweeps alike). The
interval is Student's t around the mean, with standard error se = std / sqrt(n) and
quantile t = t(1 - (1 - level) / 2, n - 1), taken on the scale where the quantity is
unbounded so that it never leaves the quantity's range (:func:`bounds`): the log scale for a
non-negative quantity (times, counts: ``mean x exp(+/- t x se / mean)``) and the logit scale
for one bounded above too (percentages, fractions: ``logit(p) +/- t x se / (p (1 - p))``,
p = mean / bound), both by the delta method, which agrees with ``mean +/- t x se`` while the
interval is narrow. With one run the standard deviation and the interval are undefined
(NaN; ``null`` in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Confidence level of every interval schedlab reports.
LEVEL = 0.95
#: What every reported interval is, in words (reports and summaries say it).
INTERVAL = f"{LEVEL:.0%} confidence interval over seeds: Student t on the log scale (logit for percentages)"
#: The statistics given for each metric, as column suffixes.
STATS = ("mean", "std", "n", "ci_low", "ci_high")


def t_halfwidth(std: np.ndarray, n: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Half-width of the Student-t interval for sample std ``std`` over ``n`` runs (NaN below 2)."""
    n = np.asarray(n, dtype=np.float64)
    if not (n >= 2).any():  # a single run: no interval, and no scipy import (0.2 s)
        return np.full(np.broadcast(n, std).shape, np.nan)
    df = np.where(n >= 2, n - 1, np.nan)
    from scipy.special import stdtrit  # as scipy.stats.t.ppf, without importing scipy.stats

    quantile = stdtrit(df, 1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = quantile * np.asarray(std, dtype=np.float64) / np.sqrt(n)
    return result


def bounds(metric: str) -> float:
    """The upper bound of a metric schedlab aggregates (every one is >= 0): 100 for a
    percentage (``_pct``; a fill store's ``alloc``, ``frag_amount``, ``frag_ratio``), 1 for a
    fraction (``_frac``, ``slo_attainment``), else infinity."""
    if metric.endswith("_pct") or metric in ("alloc", "frag_amount", "frag_ratio"):  # fill stores' names
        return 100.0
    if metric.endswith("_frac") or metric == "slo_attainment":
        return 1.0
    return float("inf")


def interval(
    mean: np.ndarray, std: np.ndarray, n: np.ndarray, upper: float, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` interval of each mean of a quantity in [0, ``upper``] (see above)."""
    mean = np.asarray(mean, dtype=np.float64)
    half = t_halfwidth(std, n, level)  # t x se
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if np.isinf(upper):
            h = np.where(mean > 0, half / mean, 0.0)
            low, high = mean * np.exp(-h), mean * np.exp(h)
        else:
            p = mean / upper
            inside = (p > 0) & (p < 1)
            h = np.where(inside, half / upper / (p * (1 - p)), 0.0)
            logit = np.log(np.where(inside, p, 0.5) / (1 - np.where(inside, p, 0.5)))
            low = np.where(inside, upper / (1 + np.exp(-(logit - h))), mean)
            high = np.where(inside, upper / (1 + np.exp(-(logit + h))), mean)
    undefined = np.isnan(half)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def describe(
    values: Sequence[float] | np.ndarray, upper: float = np.inf, level: float = LEVEL
) -> dict[str, float | int]:
    """``{mean, std, n, ci_low, ci_high}`` of the finite values (NaNs are left out) of a
    quantity in [0, ``upper``]."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    n = len(data)
    mean = float(data.mean()) if n else float("nan")
    std = float(data.std(ddof=1)) if n >= 2 else float("nan")
    low, high = interval(np.array([mean]), np.array([std]), np.array([n]), upper, level)
    return {"mean": mean, "std": std, "n": n, "ci_low": float(low[0]), "ci_high": float(high[0])}


def aggregate(
    frame: pd.DataFrame, keys: Sequence[str], metrics: Sequence[str], level: float = LEVEL
) -> pd.DataFrame:
    """One row per group of ``keys``: for each metric, columns ``<metric>_mean``, ``_std``,
    ``_n`` (runs with a finite value), ``_ci_low`` and ``_ci_high`` (the interval within the
    metric's :func:`bounds`; groups in first-seen order)."""
    grouped = frame.groupby(list(keys), sort=False, dropna=False)
    out = grouped.size().rename("runs").reset_index()
    columns: dict[str, np.ndarray] = {}
    for metric in metrics:
        column = grouped[metric]
        mean = column.mean().to_numpy(dtype=np.float64)
        std = column.std(ddof=1).to_numpy(dtype=np.float64)
        n = column.count().to_numpy(dtype=np.int64)
        std = np.where(n >= 2, std, np.nan)
        low, high = interval(mean, std, n, bounds(metric), level)
        columns |= {f"{metric}_mean": mean, f"{metric}_std": std, f"{metric}_n": n}
        columns |= {f"{metric}_ci_low": low, f"{metric}_ci_high": high}
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
