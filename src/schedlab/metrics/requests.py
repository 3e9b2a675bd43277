"""Request-level latency: every request of a service simulated through a FIFO queue."""

from __future__ import annotations

import numpy as np

from schedlab import jit
from schedlab.arrays import FloatArray


def fifo_waits(arrival: FloatArray, service: FloatArray, start: np.ndarray) -> FloatArray:
    """Waiting times of requests (sorted ``arrival`` times, their ``service`` times) at one
    FIFO server whose queue starts empty where ``start`` is True (Lindley's recursion)."""
    wait = np.zeros(len(arrival))
    if jit.enabled():
        from schedlab.metrics.kernels import lindley

        lindley(arrival, service, start.astype(np.bool_), wait)
        return wait
    for i in range(1, len(arrival)):
        if not start[i]:
            wait[i] = max(0.0, wait[i - 1] + service[i - 1] - (arrival[i] - arrival[i - 1]))
    return wait
