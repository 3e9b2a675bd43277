"""Latency statistics: mean and percentiles."""

from __future__ import annotations

import numpy as np

from schedlab.arrays import FloatArray


def latency_stats(values: FloatArray) -> dict[str, float | None]:
    """Mean, p50, p95 and p99 of ``values`` (None when empty)."""
    values = values[~np.isnan(values)]
    if not len(values):
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    mean = float(values.mean())  # before the percentiles reorder the copy (sums are order-sensitive)
    p50, p95, p99 = np.percentile(values, [50, 95, 99], overwrite_input=True)  # no second copy
    return {"mean": mean, "p50": float(p50), "p95": float(p95), "p99": float(p99)}
