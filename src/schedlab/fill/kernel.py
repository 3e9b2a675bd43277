"""The fill experiment's loop, compiled: offer every task in order, place it or fail it."""

from __future__ import annotations

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.jit import kernel
from schedlab.policies.kernels import PolicyParams
from schedlab.scheduler.kernels import PLACE, PlacerArrays, commit, select
from schedlab.scheduler.kernels_drawn import select_drawn


@kernel
def fill_tasks(
    kind: int,
    draws: bool,
    rng: IntArray,
    c: ClusterArrays,
    sh: ShapeArraysK,
    f: FragArrays,
    p: PolicyParams,
    pl: PlacerArrays,
    shape_of: IntArray,
    node: IntArray,
    mask: IntArray,
    allocated: IntArray,
    frag: IntArray,
    start: int,
    stop: int,
    frag_total: IntArray,
) -> None:
    """Offer tasks ``start..stop-1``: record each one's node and GPU mask (-1 and 0 when it
    fits nowhere), the allocated GPU milli and the cluster's fragmentation numerator after it."""
    total = frag_total[0]
    for i in range(start, stop):
        s = shape_of[i]
        if draws:
            n, m = select_drawn(kind, c, sh, f, p, pl, rng, s)
        else:
            n, m = select(kind, c, sh, f, p, pl, s)
        if n >= 0:
            before = c.frag[n]
            commit(c, sh, f, pl, s, n, m, PLACE)
            total += c.frag[n] - before
            node[i] = n
            mask[i] = m
        allocated[i] = c.allocated[0]
        frag[i] = total
    frag_total[0] = total
