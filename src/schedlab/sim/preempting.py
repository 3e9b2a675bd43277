"""Preemption on the reference path: the reference's ``preempt_for`` (the mirror is
:func:`schedlab.sim.kernels.admission.preempt_for`): evict the cheapest preemptible tasks
of one node (whole gangs) so that a preemptor starts now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from schedlab.eviction.dryrun import admitted_without
from schedlab.eviction.search import cheapest_eviction

if TYPE_CHECKING:
    from schedlab.sim.reference import Replay


def preempt_for(r: Replay, t: int) -> bool:
    """Evict for preemptor ``t`` and start it; False when not allowed or impossible (gangs
    do not preempt)."""
    m = r.model
    if r.evictable is None or not m.preemptors[t] or m.gang_size[t] > 1:
        return False
    found = cheapest_eviction(
        int(m.shape_of[t]),
        m.shapes,
        r.evictable,
        m.victims,
        m.shape_of,
        r.out.start,
        r.gpus,
        m.rank,
        r.sim.now,
        lambda node, victims: _admitted_without(r, t, node, victims),
    )
    if found is None:
        return False
    node, victims = found
    excluded = r._excluded(t, int(m.shape_of[t]))  # not the node it evicts on
    evicted, freed, lost = r._evict(victims)  # a gang is evicted whole
    r.out.preemptions[evicted] += 1
    r.lost_gpu_s += lost
    started = r._start(t, excluded if excluded is not None else np.zeros(0, dtype=np.int64))
    assert started, "the preempting task must fit after eviction"
    r._requeue(evicted, [node, *freed])
    return True


def _admitted_without(r: Replay, t: int, node: int, victims: list[int]) -> bool:
    """Whether the placement policy would admit ``node`` for ``t`` once ``victims`` are gone
    (never a node ``t`` may not take: anti-affinity, a reservation)."""
    m = r.model
    excluded = r._excluded(t, int(m.shape_of[t]))
    if excluded is not None and node in excluded:
        return False
    held = [(m.table.shapes[int(m.shape_of[v])], r.placement[v], v) for v in victims]
    groups = r.colocation.groups if r.rates is not None else {}
    if r.rates is not None:
        r.colocation.current = t
    return admitted_without(r.placer, m.table.shapes[int(m.shape_of[t])], node, held, groups)
