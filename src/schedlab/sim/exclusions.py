"""The nodes a task may not take on the reference path: anti-affinity (a service at its cap
on the node, :class:`schedlab.sim.spread.Spread`) and the starvation guard's reservations
for others (:meth:`schedlab.sim.reservation.StarvationGuard.reserved`). The mirror is
:mod:`schedlab.sim.kernels.exclusions`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from schedlab.sim.reference import Replay


def excluded_nodes(r: Replay, t: int, s: int) -> np.ndarray | None:
    """Nodes ``t`` (of shape ``s``) may not take: anti-affinity, and the nodes reserved for
    tasks that waited too long unless ``t`` would end there by their shadow time (None:
    none)."""
    full = r.spread.full(t)
    if r.guard is None:
        return full
    r.guard.update(r.queue, r.sim.now)
    now, run = r.sim.now, float(r.model.workload.duration[t])
    reserved = r.guard.reserved(
        t, r.queue, r.model.queue.key, now, lambda node: now + run / r.model.speed(s, node)
    )
    if not reserved:
        return full
    nodes = np.array(reserved, dtype=np.int64)
    return nodes if full is None else np.r_[full, nodes]
