"""The compiled score kernel of FGD (see ``schedlab.policies.fgd``)."""

from __future__ import annotations

from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK, frag_after
from schedlab.policies.kernels import PolicyParams, inline


@inline
def sigmoid(p: PolicyParams, delta: int) -> int:
    """FGD's ``trunc(100 * sigmoid(delta / scale / 1000))``: the number of thresholds <= delta."""
    low, high = 0, len(p.sigmoid)
    while low < high:
        mid = (low + high) // 2
        if p.sigmoid[mid] <= delta:
            low = mid + 1
        else:
            high = mid
    return low


@inline
def fgd(
    c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, p: PolicyParams, s: int, n: int
) -> tuple[int, int]:
    """A whole-GPU or CPU-only task has one hypothetical placement; a sharing task one per
    GPU that fits (equal free amounts give equal scores: only the lowest such GPU is tried,
    and the lowest GPU reaching the best score is chosen)."""
    sharing = sh.cls[s] == 0
    before = c.frag[n]
    best, choice = -1, -1
    for g in range(c.gpu_free.shape[1] if sharing else 1):
        gpu, take, whole = -1, 0, max(sh.k[s], 0)
        if sharing:
            free = c.gpu_free[n, g]
            if free < sh.milli[s]:
                continue
            seen = False
            for e in range(g):
                seen = seen or c.gpu_free[n, e] == free
            if seen:
                continue
            gpu, take, whole = g, sh.milli[s], 0
        value = sigmoid(p, before - frag_after(c, f, n, sh.cpu[s], gpu, take, whole))
        if value > best:
            best, choice = value, gpu
    return best, choice
