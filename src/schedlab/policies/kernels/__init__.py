"""Compiled score kernels of the built-in placement policies, one module each.

Each kernel scores one node for one shape and, for a sharing shape, names the GPU the task
would take: ``(score, gpu)``. All take the same arguments; :mod:`.table` numbers them, and
the compiled loops call the one a policy names by its number (direct calls, which the
compiler inlines; the loops are compiled and cached on disk once). Each is the exact scalar
form of its policy's ``score_nodes`` and ``choose_gpus``: the same integer and
floating-point operations in the same order, so results are bit-identical (the tests
drive both).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import ClusterArrays, ShapeArraysK, best_fit_gpu
from schedlab.cluster.view import ClusterView
from schedlab.jit import inline as inline


class PolicyParams(NamedTuple):
    """``ints``: [CPU normaliser, GPU normaliser]; ``sigmoid``: FGD's score thresholds."""

    ints: IntArray
    sigmoid: IntArray


def params(view: ClusterView, sigmoid: IntArray | None = None) -> PolicyParams:
    """Kernel parameters: the view's normalisers, and FGD's sigmoid thresholds."""
    ints = np.array([view.cpu_scale, view.gpu_scale], dtype=np.int64)
    return PolicyParams(ints, np.zeros(1, dtype=np.int64) if sigmoid is None else sigmoid)


@inline
def gpu_sum(c: ClusterArrays, n: int) -> int:
    total = 0
    for g in range(c.gpu_free.shape[1]):
        total += c.gpu_free[n, g]
    return total


@inline
def sharing_gpu(c: ClusterArrays, sh: ShapeArraysK, s: int, n: int) -> int:
    return best_fit_gpu(c, n, sh.milli[s]) if sh.cls[s] == 0 else -1
