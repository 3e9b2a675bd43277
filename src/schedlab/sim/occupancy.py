"""How much of the GPUs' busy time was shared: from the attempts table alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: GPUs per node the bit masks can name.
MASK_BITS = 64


def shared_gpu_time_frac(attempts: pd.DataFrame) -> float | None:
    """Of all GPU-seconds during which a GPU held at least one task, the share during which
    it held two or more (None when no task held a GPU)."""
    masks = attempts["gpu_mask"].to_numpy(dtype=np.uint64)
    used = masks != 0
    if not used.any():
        return None
    node = attempts["node"].to_numpy(dtype=np.int64)[used]
    start = attempts["start"].to_numpy(dtype=np.float64)[used]
    end = attempts["end"].to_numpy(dtype=np.float64)[used]
    masks = masks[used]
    width = int(masks.max()).bit_length()  # one bit at a time: no attempts x 64 array
    rows = [np.flatnonzero((masks >> np.uint64(b)) & np.uint64(1)) for b in range(width)]
    row = np.concatenate(rows)
    gpu = np.repeat(np.arange(width, dtype=np.int64), [len(r) for r in rows])
    del rows
    key = node[row] * MASK_BITS + gpu
    del node, gpu
    # +1 at a start, -1 at an end; at one time on one GPU, ends come first
    keys = np.concatenate([key, key])
    times = np.concatenate([start[row], end[row]])
    steps = np.concatenate([np.ones(len(row), dtype=np.int8), np.full(len(row), -1, dtype=np.int8)])
    del key, start, end, row
    order = np.lexsort((steps, times, keys))
    keys, times, steps = keys[order], times[order], steps[order]
    del order
    count = np.cumsum(steps, dtype=np.int64)  # every GPU's count returns to 0: one sum serves all
    del steps
    span = np.zeros(len(times))
    same = keys[1:] == keys[:-1]
    del keys
    span[:-1] = np.where(same, times[1:] - times[:-1], 0.0)
    busy = float(span[count >= 1].sum())
    return float(span[count >= 2].sum()) / busy if busy > 0 else None
