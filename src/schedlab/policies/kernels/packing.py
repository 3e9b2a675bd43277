"""The compiled score kernel of GPU packing (see ``schedlab.policies.packing``)."""

from __future__ import annotations

from schedlab.cluster.kernels import GPU_MILLI, ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.kernels import PolicyParams, gpu_sum, inline, sharing_gpu


@inline
def packing(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    if sh.cls[s] < 0:
        return 0, -1
    count = c.num_gpu[n]
    width = c.gpu_free.shape[1]
    if gpu_sum(c, n) == count * GPU_MILLI:
        return max(33 - count, count), sharing_gpu(c, sh, s, n)
    milli, k = sh.milli[s], sh.k[s]
    whole, used = 0, 0
    for g in range(width):  # the k smallest fitting free amounts (ties: lower index first)
        free = c.gpu_free[n, g]
        if free < milli:
            continue
        rank = 0
        for e in range(width):
            other = c.gpu_free[n, e]
            if other >= milli and (other < free or (other == free and e < g)):
                rank += 1
        if rank < k:
            if free == GPU_MILLI:
                whole += 1
            used += free * 100 // GPU_MILLI
    if whole > 0:
        return max(50 - whole, 33), sharing_gpu(c, sh, s, n)
    return max(100 - used // 10, 50), sharing_gpu(c, sh, s, n)
