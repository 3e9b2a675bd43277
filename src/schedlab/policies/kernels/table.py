"""The table of compiled score kernels: a kernel's number is its position here.

The compiled loops call :func:`score` with that number. A new compiled policy adds its
kernel to :data:`KERNELS` and one branch to :func:`score`.
"""

from __future__ import annotations

from typing import Any

from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.kernels import PolicyParams, inline
from schedlab.policies.kernels.bestfit import bestfit
from schedlab.policies.kernels.clustering import clustering
from schedlab.policies.kernels.dotprod import dotprod
from schedlab.policies.kernels.fgd import fgd
from schedlab.policies.kernels.packing import packing
from schedlab.policies.kernels.random_fit import constant

KERNELS: tuple[Any, ...] = (bestfit, dotprod, clustering, packing, fgd, constant)


def kernel_id(score: Any) -> int:
    """The number of a score kernel."""
    return KERNELS.index(score)


@inline
def score(
    kind: int, c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    """Score node ``n`` for shape ``s`` with kernel number ``kind``."""
    if kind == 0:
        return bestfit(c, sh, f, p, s, n)
    if kind == 1:
        return dotprod(c, sh, f, p, s, n)
    if kind == 2:
        return clustering(c, sh, f, p, s, n)
    if kind == 3:
        return packing(c, sh, f, p, s, n)
    if kind == 4:
        return fgd(c, sh, f, p, s, n)
    return constant(c, sh, f, p, s, n)
