"""The compiled score kernel of dot-product (see ``schedlab.policies.dotprod``)."""

from __future__ import annotations

import math

from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.kernels import PolicyParams, gpu_sum, inline, sharing_gpu


@inline
def dotprod(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    cs, gs = p.ints[0], p.ints[1]
    dot = (c.cpu_left[n] / cs) * (sh.cpu[s] / cs) + (gpu_sum(c, n) / gs) * (sh.total[s] / gs)
    return math.trunc(100 * (1 - dot / 2)), sharing_gpu(c, sh, s, n)
