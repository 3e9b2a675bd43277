"""Curves over arrived GPU load, as plotted by the FGD paper."""

from __future__ import annotations

import numpy as np

from schedlab.arrays import FloatArray

#: The curves span arrived load 0..130 % of GPU capacity at the paper's tune ratio 1.3.
X_MAX = 130


def curve_end(tune_ratio: float) -> int:
    """The last point of a fill run's curves: the arrived load its tune ratio reaches (% of
    capacity), 0..100 x ratio (131 points at 1.3, 201 at 2.0)."""
    return max(1, round(100 * tune_ratio))


def bin_curve(x: FloatArray, y: FloatArray, x_max: int = X_MAX) -> FloatArray:
    """Mean of ``y`` at each integer x in 0..x_max over events whose rounded x equals it.

    Where no event rounds to an integer, the mean over events within x +/- 1 is used, and
    NaN where there are none either.
    """
    xi = np.floor(x + 0.5).astype(np.int64)
    inside = (xi >= 0) & (xi <= x_max)
    sums = np.bincount(xi[inside], weights=y[inside], minlength=x_max + 1)
    counts = np.bincount(xi[inside], minlength=x_max + 1)
    out = np.full(x_max + 1, np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    for i in np.flatnonzero(counts == 0):
        near = np.abs(x - i) <= 1
        if near.any():
            out[i] = y[near].mean()
    return out
