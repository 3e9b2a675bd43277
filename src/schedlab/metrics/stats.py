"""Statistics over seeds: mean, sample standard deviation, n and a confidence interval.

One helper for every aggregate over repeated runs (fill and replay sweeps alike). The
interval is Student's t: mean +/- t(1 - (1 - level) / 2, n - 1) x std / sqrt(n), exact for
normally distributed run results and the usual choice for a handful of seeds. With one run
the standard deviation and the interval are undefined (NaN; ``null`` in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Confidence level of every interval schedlab reports.
LEVEL = 0.95
#: The statistics given for each metric, as column suffixes.
STATS = ("mean", "std", "n", "ci_low", "ci_high")


def t_halfwidth(std: np.ndarray, n: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Half-width of the Student-t interval for sample std ``std`` over ``n`` runs (NaN below 2)."""
    n = np.asarray(n, dtype=np.float64)
    df = np.where(n >= 2, n - 1, np.nan)
    from scipy.special import stdtrit  # as scipy.stats.t.ppf, without importing scipy.stats

    quantile = stdtrit(df, 1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = quantile * np.asarray(std, dtype=np.float64) / np.sqrt(n)
    return result


def describe(values: Sequence[float] | np.ndarray, level: float = LEVEL) -> dict[str, float | int]:
    """``{mean, std, n, ci_low, ci_high}`` of the finite values (NaNs are left out)."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    n = len(data)
    mean = float(data.mean()) if n else float("nan")
    std = float(data.std(ddof=1)) if n >= 2 else float("nan")
    half = float(t_halfwidth(np.array([std]), np.array([n]), level)[0])
    return {"mean": mean, "std": std, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def aggregate(
    frame: pd.DataFrame, keys: Sequence[str], metrics: Sequence[str], level: float = LEVEL
) -> pd.DataFrame:
    """One row per group of ``keys``: for each metric, columns ``<metric>_mean``, ``_std``,
    ``_n`` (runs with a finite value), ``_ci_low`` and ``_ci_high`` (groups in first-seen order)."""
    grouped = frame.groupby(list(keys), sort=False, dropna=False)
    out = grouped.size().rename("runs").reset_index()
    for metric in metrics:
        column = grouped[metric]
        mean = column.mean().to_numpy(dtype=np.float64)
        std = column.std(ddof=1).to_numpy(dtype=np.float64)
        n = column.count().to_numpy(dtype=np.int64)
        std = np.where(n >= 2, std, np.nan)
        half = t_halfwidth(std, n, level)
        out[f"{metric}_mean"] = mean
        out[f"{metric}_std"] = std
        out[f"{metric}_n"] = n
        out[f"{metric}_ci_low"] = mean - half
        out[f"{metric}_ci_high"] = mean + half
    return out
