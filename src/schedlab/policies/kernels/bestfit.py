"""The compiled score kernel of best-fit (see ``schedlab.policies.bestfit``)."""

from __future__ import annotations

import math

from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.kernels import PolicyParams, gpu_sum, inline, sharing_gpu


@inline
def bestfit(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    cpu_left = c.cpu_left[n] - sh.cpu[s]
    gpu_left = gpu_sum(c, n) - sh.total[s]
    x = 0.5 * cpu_left / p.ints[0] + 0.5 * gpu_left / p.ints[1]
    return math.trunc(100 * (1 - x)), sharing_gpu(c, sh, s, n)
