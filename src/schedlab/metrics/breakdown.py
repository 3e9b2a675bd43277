"""Who waits: wait, JCT and bounded slowdown per task class (mean, p50, p99, max).

Classes: GPU demand (:data:`schedlab.workload.classes.GPU_CLASSES`), QoS, the user when a
workload has at most :data:`MAX_USERS` of them (all users are in ``users.parquet``), and the
gang size when it has gangs. Only completed tasks have times; ``tasks`` counts every task of
the class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from schedlab.arrays import FloatArray

#: Users are a class of the breakdown only up to this many.
MAX_USERS = 50
#: A class starves when its p99 wait exceeds this many times the overall p99 wait (and 1 s).
STARVING_RATIO = 10.0


def stats(values: FloatArray) -> dict[str, float | None]:
    """Mean, p50, p99 and max of the finite ``values`` (None when there are none)."""
    x = values[np.isfinite(values)]
    if not len(x):
        return {"mean": None, "p50": None, "p99": None, "max": None}
    p50, p99 = np.percentile(x, [50, 99])
    return {"mean": float(x.mean()), "p50": float(p50), "p99": float(p99), "max": float(x.max())}


def breakdown(
    classes: dict[str, np.ndarray], done: np.ndarray, times: dict[str, FloatArray]
) -> dict[str, Any]:
    """``{dimension: {class: {tasks, completed, <time>: stats}}}`` over the given tasks."""
    doc: dict[str, Any] = {}
    for dimension, labels in classes.items():
        series = pd.Series(labels)
        if isinstance(series.dtype, pd.CategoricalDtype):  # classes in their own order
            names = [c for c in series.cat.categories if (series == c).any()]
        else:
            series = series.astype(str)
            names = sorted(series.unique())
        part: dict[str, Any] = {}
        for name in names:
            mask = (series == name).to_numpy()
            finished = mask & done
            part[str(name)] = {"tasks": int(mask.sum()), "completed": int(finished.sum())} | {
                metric: stats(values[finished]) for metric, values in times.items()
            }
        doc[dimension] = part
    return doc


def starving(by_class: dict[str, Any], overall_p99_wait: float | None) -> list[str]:
    """One line per class whose p99 wait exceeds :data:`STARVING_RATIO` x the overall p99."""
    overall = overall_p99_wait or 0.0
    lines = []
    for dimension, part in by_class.items():
        for name, row in part.items():
            p99 = row["wait"]["p99"]
            if p99 is not None and p99 > max(STARVING_RATIO * overall, 1.0):
                wait = row["wait"]
                lines.append(
                    f"{dimension} class {name!r} waits {p99:,.0f} s at p99 (mean {wait['mean']:,.0f} s,"
                    f" max {wait['max']:,.0f} s), over {STARVING_RATIO:g} x the overall p99 wait"
                    f" of {overall:,.0f} s: backfill may starve it"
                )
    return lines
