"""The compiled score kernel of GPU clustering (see ``schedlab.policies.clustering``)."""

from __future__ import annotations

from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.policies.kernels import PolicyParams, gpu_sum, inline, sharing_gpu


@inline
def clustering(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    cls = sh.cls[s]
    if cls < 0:
        return 0, -1
    counts = c.class_count[n]
    everyone = 0
    for i in range(len(counts)):
        everyone += counts[i]
    mine, others = counts[cls] > 0, everyone > counts[cls]
    scale = p.ints[1]
    t = 25 * (scale - gpu_sum(c, n)) // scale
    base = (50 if others else 75) if mine else (0 if others else 25)
    return base + t, sharing_gpu(c, sh, s, n)
