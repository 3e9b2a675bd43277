"""Fairness between users: per-user outcomes and Jain's index.

Per user: tasks, completed, mean JCT, mean bounded slowdown and the GPU time its tasks held
(GPU milli x run time, every attempt), with its share of all GPU time held. Jain's fairness
index over values x_1..x_n is (sum x)^2 / (n sum x^2): 1 when all are equal, 1/n when one
user has everything; schedlab gives it over the users' mean bounded slowdowns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from schedlab.arrays import FloatArray


def jain(values: FloatArray) -> float | None:
    """Jain's fairness index of the finite ``values`` (None when there are none or all are 0)."""
    x = values[np.isfinite(values)]
    total = float((x * x).sum())
    return float(x.sum()) ** 2 / (len(x) * total) if len(x) and total > 0 else None


def user_table(
    users: np.ndarray, done: np.ndarray, jct: FloatArray, slowdown: FloatArray, gpu_s: FloatArray
) -> pd.DataFrame:
    """One row per user (in first-seen order): tasks, completed, jct_mean, slowdown_mean,
    gpu_time_s and gpu_share (of the GPU time of all users)."""
    frame = pd.DataFrame(
        {
            "user": users.astype(str),
            "completed": done,
            "jct": np.where(done, jct, np.nan),
            "slowdown": np.where(done, slowdown, np.nan),
            "gpu_time_s": gpu_s,
        }
    )
    grouped = frame.groupby("user", sort=False)
    table = grouped.agg(
        tasks=("completed", "size"),
        completed=("completed", "sum"),
        jct_mean=("jct", "mean"),
        slowdown_mean=("slowdown", "mean"),
        gpu_time_s=("gpu_time_s", "sum"),
    ).reset_index()
    total = float(table["gpu_time_s"].sum())
    table["gpu_share"] = table["gpu_time_s"] / total if total > 0 else 0.0
    return table


def fairness_summary(table: pd.DataFrame) -> dict[str, Any]:
    """``users``, ``jain_slowdown`` and the largest and smallest user mean slowdown."""
    slowdown = table["slowdown_mean"].to_numpy(dtype=np.float64)
    finite = slowdown[np.isfinite(slowdown)]
    return {
        "users": len(table),
        "jain_slowdown": jain(slowdown),
        "slowdown_max_user": float(finite.max()) if len(finite) else None,
        "slowdown_min_user": float(finite.min()) if len(finite) else None,
    }
