"""Workload tuning of the fill experiment: shuffle the tasks, then reach a target GPU load."""

from __future__ import annotations

import numpy as np

from schedlab.trace.tables import IntArray


def tuned_order(gpu_milli: IntArray, capacity: int, ratio: float, rng: np.random.Generator) -> IntArray:
    """Indices of the offered tasks: the originals shuffled, then tuned to ``ratio`` x capacity.

    Below target, copies drawn uniformly with replacement are appended until the first draw
    that would exceed the target (that copy is dropped). Above target, tasks at uniformly
    random positions are removed until the total is at or below it. A workload that requests
    no GPU at all is offered as it is.
    """
    n = len(gpu_milli)
    order = rng.permutation(n)
    target = ratio * capacity
    total = int(gpu_milli.sum())
    if n == 0 or not gpu_milli.any():
        return order  # nothing to tune: no task requests GPU
    if total > target:
        drop = rng.permutation(n)
        left = total - np.cumsum(gpu_milli[order[drop]])
        cut = int(np.flatnonzero(left <= target)[0]) + 1
        keep = np.ones(n, dtype=bool)
        keep[drop[:cut]] = False
        result: IntArray = order[keep]
        return result
    extra = [order]
    chunk = max(1024, n // 4)
    while total < target:
        draws = rng.integers(0, n, size=chunk, dtype=np.int64)
        running = total + np.cumsum(gpu_milli[draws])
        reach = np.flatnonzero(running >= target)
        if len(reach):
            j = int(reach[0])
            extra.append(draws[: j + 1] if running[j] == target else draws[:j])
            break
        extra.append(draws)
        total = int(running[-1])
    return np.concatenate(extra)
