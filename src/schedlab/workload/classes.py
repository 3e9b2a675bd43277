"""Task classes by GPU demand, for breakdowns: CPU-only, a share of one GPU, one GPU, 2-4
GPUs, 5-7 GPUs, 8 or more."""

from __future__ import annotations

import numpy as np

from schedlab.trace.tables import GPU_MILLI, IntArray, StrArray, Tasks

GPU_CLASSES = ("cpu-only", "gpu-share", "1-gpu", "2-4-gpu", "5-7-gpu", "8+-gpu")


def gpu_class_index(tasks: Tasks) -> IntArray:
    """Each task's class, as its index into :data:`GPU_CLASSES`."""
    k, milli = tasks.num_gpu, tasks.gpu_milli
    index: IntArray = np.select(
        [k == 0, (k == 1) & (milli < GPU_MILLI), k == 1, k <= 4, k <= 7],
        [0, 1, 2, 3, 4],
        default=5,
    )
    return index


def gpu_class(tasks: Tasks) -> StrArray:
    """Each task's class of :data:`GPU_CLASSES`."""
    result: StrArray = np.asarray(GPU_CLASSES, dtype=object)[gpu_class_index(tasks)]
    return result
