"""How much of the GPUs' busy time was shared: from the attempts table alone."""

from __future__ import annotations

import numpy as np
import pandas as pd


def shared_gpu_time_frac(attempts: pd.DataFrame) -> float | None:
    """Of all GPU-seconds during which a GPU held at least one task, the share during which
    it held two or more (None when no task held a GPU). GPU index by GPU index: the sort
    behind each holds only the attempts on that index (a tenth of the memory at once)."""
    masks = attempts["gpu_mask"].to_numpy(dtype=np.uint64)
    used = masks != 0
    if not used.any():
        return None
    node = attempts["node"].to_numpy(dtype=np.int64)[used]
    start = attempts["start"].to_numpy(dtype=np.float64)[used]
    end = attempts["end"].to_numpy(dtype=np.float64)[used]
    masks = masks[used]
    busy = shared = 0.0
    for b in range(int(masks.max()).bit_length()):
        rows = np.flatnonzero((masks >> np.uint64(b)) & np.uint64(1))
        if len(rows):
            held, twice = _spans(node[rows], start[rows], end[rows])
            busy, shared = busy + held, shared + twice
    return shared / busy if busy > 0 else None


def _spans(node: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[float, float]:
    """GPU-seconds with at least one and with two or more tasks, of the attempts on one GPU
    index of each node: +1 at a start, -1 at an end; at one time on one GPU, ends first."""
    keys = np.concatenate([node, node])
    times = np.concatenate([start, end])
    steps = np.concatenate([np.ones(len(node), dtype=np.int8), np.full(len(node), -1, dtype=np.int8)])
    order = np.lexsort((steps, times, keys))
    keys, times, steps = keys[order], times[order], steps[order]
    del order
    count = np.cumsum(steps, dtype=np.int64)  # every GPU's count returns to 0: one sum serves all
    span = np.zeros(len(times))
    span[:-1] = np.where(keys[1:] == keys[:-1], times[1:] - times[:-1], 0.0)
    return float(span[count >= 1].sum()), float(span[count >= 2].sum())
