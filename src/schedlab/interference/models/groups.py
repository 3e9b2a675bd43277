"""``groups``: measured pairs as measured, and groups of three or more from time-sliced
pair slowdowns of low rank, combined in quadrature, with a group exponent fitted where
groups were measured.

Re-measuring a pair on another machine moves its slowdown by 3 % (median) and 15 % (p90),
and the additive rule sums that noise once per co-runner. In groups this model smooths it:
the delay ``a`` adds to ``b`` is a product of how sensitive ``a`` is and how heavy ``b`` is,

    pair(i, j) = 1 + s_i x h_j,

and a member with ``m`` co-runners is slowed by ``1 + m**(gamma - 1) x s_i x sqrt(sum_j
h_j**2)``: the co-runners' delays combine in quadrature (the group rule's ``quadrature``),
so the heaviest weighs more than in a sum, and ``m`` equal co-runners add ``m**(gamma -
1/2)`` times one (``gamma`` 1.42: ``m**0.92``). ``s``, ``h`` and ``gamma`` are fitted
together by least squares on the logs of every time-sliced measurement of the profiles:
the pairs and, when the directories hold some, groups of three or more (``schedlab profile
--size 3``). Without group measurements ``gamma`` is :data:`GAMMA`, the value fitted on
schedlab's own H200 groups (``tests/data/profiles-h200``). A measured pair (two members) is
its measurement, as in ``measured``; a pair never measured is ``1 + s_i x h_j``; a
configuration never measured beside another falls back to the ``features`` model; MPS
follows the ``measured`` model (additive).
"""

from __future__ import annotations

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.interference.models.base import Sharing, register
from schedlab.interference.models.measured import MeasuredModel
from schedlab.interference.profiles import Profiles

#: The group exponent fitted on the 30 triples and 10 quads of ``tests/data/profiles-h200``
#: together with ``../shared``'s H200 pairs (used when the profiles hold no groups).
GAMMA = 1.42


@register
class GroupModel(MeasuredModel):
    """Measured pairs; rank-one pair slowdowns in quadrature and a fitted group exponent in
    groups (time-slicing)."""

    name = "groups"

    def __init__(self, profiles: Profiles) -> None:
        super().__init__(profiles)
        known = profiles.configs
        rows: list[tuple[tuple[str, ...], float]] = [
            (k, v) for k, v in profiles.pairs.items() if all(c in known for c in k)
        ]
        rows += [(k, v) for k, v in profiles.groups.items() if all(c in known for c in k)]
        self.sensitive = sorted({k[0] for k, _ in rows})
        self.heavy = sorted({c for k, _ in rows for c in k[1:]})
        si = {c: i for i, c in enumerate(self.sensitive)}
        hi = {c: i for i, c in enumerate(self.heavy)}
        width = max((len(k) for k, _ in rows), default=2) - 1
        first = np.array([si[k[0]] for k, _ in rows], dtype=np.int64)
        others: IntArray = np.full((len(rows), width), -1, dtype=np.int64)
        for r, (k, _) in enumerate(rows):
            others[r, : len(k) - 1] = [hi[c] for c in k[1:]]
        measured = np.log(np.array([v for _, v in rows]))
        self.gamma, self._s, self._h = GAMMA, np.zeros(0), np.zeros(0)
        if rows:
            fit_gamma = width > 1
            x = _fit(first, others, measured, len(self.sensitive), len(self.heavy), fit_gamma)
            ns = len(self.sensitive)
            self._s, self._h = np.exp(x[:ns]), np.exp(x[ns : ns + len(self.heavy)])
            if fit_gamma:
                self.gamma = float(x[-1])
        self._si, self._hi = si, hi

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        if sharing.mode == "mps" or (config, other) in self.profiles.pairs:
            return super().pair(config, other, sharing)
        return self.group_pair(config, other, sharing)

    def group_pair(self, config: str, other: str, sharing: Sharing) -> float:
        i, j = self._si.get(config), self._hi.get(other)
        if sharing.mode == "mps" or i is None or j is None:
            return super().pair(config, other, sharing)
        return 1.0 + float(self._s[i] * self._h[j])

    def quadrature(self, sharing: Sharing) -> bool:
        return sharing.mode != "mps"

    def group_scale(self, others: int, sharing: Sharing) -> float:
        return 1.0 if sharing.mode == "mps" or others < 1 else float(others ** (self.gamma - 1.0))


def _fit(
    first: IntArray, others: IntArray, measured: FloatArray, ns: int, nh: int, fit_gamma: bool
) -> FloatArray:
    """Least squares on log slowdowns: log s (ns), log h (nh), then gamma when fitted. One
    more residual, mean log s - mean log h, fixes the scale that s x h leaves free."""
    from scipy.optimize import least_squares  # scipy.optimize costs 0.3-0.6 s to import

    present = others >= 0
    m = present.sum(axis=1).astype(np.float64)
    safe = np.where(present, others, 0)

    def residuals(x: FloatArray) -> FloatArray:
        s, h = np.exp(x[:ns]), np.exp(x[ns : ns + nh])
        gamma = x[-1] if fit_gamma else GAMMA
        heavy = np.sqrt(np.where(present, h[safe] ** 2, 0.0).sum(axis=1))
        extra = s[first] * heavy * m ** (gamma - 1.0)
        gauge = x[:ns].mean() - x[ns : ns + nh].mean()
        return np.append(np.log1p(extra) - measured, gauge)

    start = 0.5 * np.log(max(float(np.median(np.expm1(measured))), 1e-2))
    x0 = np.concatenate([np.full(ns + nh, start), [GAMMA] if fit_gamma else []])
    return np.asarray(least_squares(residuals, x0).x, dtype=np.float64)
