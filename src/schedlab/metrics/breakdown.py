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


def several(values: np.ndarray) -> bool:
    """Whether ``values`` holds two different values or more (each compared with the first,
    so that one user repeated a million times builds no table of distinct values)."""
    return bool(len(values)) and not bool((values == values[0]).all())


def stats(values: FloatArray) -> dict[str, float | None]:
    """Mean, p50, p99 and max of the finite ``values`` (None when there are none)."""
    x = values[np.isfinite(values)]
    if not len(x):
        return {"mean": None, "p50": None, "p99": None, "max": None}
    mean, top = float(x.mean()), float(x.max())  # before the percentiles reorder the copy
    p50, p99 = np.percentile(x, [50, 99], overwrite_input=True)
    return {"mean": mean, "p50": float(p50), "p99": float(p99), "max": top}


def breakdown(classes: dict[str, Any], done: np.ndarray, times: dict[str, FloatArray]) -> dict[str, Any]:
    """``{dimension: {class: {tasks, completed, <time>: stats}}}`` over the given tasks."""
    doc: dict[str, Any] = {}
    for dimension, labels in classes.items():
        codes, names = _codes(labels)
        part: dict[str, Any] = {}
        for i, name in enumerate(names):
            mask = codes == i
            finished = mask & done
            part[name] = {"tasks": int(mask.sum()), "completed": int(finished.sum())} | {
                metric: stats(values[finished]) for metric, values in times.items()
            }
        doc[dimension] = part
    return doc


def _codes(labels: np.ndarray | pd.Categorical) -> tuple[np.ndarray, list[str]]:
    """Each label's class number and the classes' names: a categorical's categories that
    occur, in their order; else the labels as text, sorted."""
    if isinstance(labels, pd.Categorical):
        seen = np.bincount(labels.codes[labels.codes >= 0], minlength=len(labels.categories)) > 0
        renumber = np.cumsum(seen) - 1
        codes = np.where(labels.codes >= 0, renumber[labels.codes], -1)
        return codes, [str(c) for c, s in zip(labels.categories, seen, strict=True) if s]
    codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=False)
    text = [str(u) for u in uniques]
    names = sorted(set(text))
    lookup = np.array([names.index(t) for t in text], dtype=np.int64)
    return lookup[codes], names


def starving(by_class: dict[str, Any], overall_p99_wait: float | None) -> list[str]:
    """One line per class whose p99 wait exceeds :data:`STARVING_RATIO` x the overall p99."""
    overall = overall_p99_wait or 0.0
    lines = []
    for dimension, part in by_class.items():
        for name, row in part.items():
            p99 = row["wait"]["p99"]
            if p99 is not None and p99 > max(STARVING_RATIO * overall, 1.0):
                wait = row["wait"]
                beside = (
                    f"over {STARVING_RATIO:g} x the overall p99 wait of {overall:,.0f} s"
                    if STARVING_RATIO * overall >= 1.0
                    else f"while most tasks do not wait (overall p99 {overall:,.1f} s)"
                )
                lines.append(
                    f"{dimension} class {name!r} waits {p99:,.0f} s at p99 (mean {wait['mean']:,.0f} s,"
                    f" max {wait['max']:,.0f} s), {beside}: backfill may starve it"
                )
    return lines
