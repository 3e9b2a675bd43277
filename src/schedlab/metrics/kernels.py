"""Compiled kernels of the metrics (numba; imported only when compiled kernels are on)."""

from __future__ import annotations

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.jit import kernel


@kernel
def lindley(arrival: FloatArray, service: FloatArray, start: np.ndarray, wait: FloatArray) -> None:
    """Waiting times of a FIFO single server into ``wait``: w[i] = max(0, w[i-1] + s[i-1] -
    (a[i] - a[i-1])), the queue starting empty wherever ``start[i]`` is set."""
    for i in range(len(arrival)):
        if start[i] or i == 0:
            wait[i] = 0.0
        else:
            wait[i] = max(0.0, wait[i - 1] + service[i - 1] - (arrival[i] - arrival[i - 1]))
