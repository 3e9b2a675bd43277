"""Evictions on the reference path: stopping running tasks (whole gangs) to start again
later, and preemption, the reference's ``preempt_for`` (the mirror is
:func:`schedlab.sim.kernels.admission.preempt_for`): evict the cheapest preemptible tasks
of one node so that a preemptor starts now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from schedlab.eviction.dryrun import admitted_without
from schedlab.eviction.search import cheapest_eviction
from schedlab.sim.exclusions import excluded_nodes
from schedlab.sim.result import WAITING

if TYPE_CHECKING:
    from schedlab.sim.reference import Replay


def evict(r: Replay, tasks: list[int]) -> tuple[list[int], list[int], float]:
    """Stop ``tasks`` (whole gangs) to start again later: the tasks stopped, the nodes freed
    and the GPU-seconds lost."""
    m, out, now = r.model, r.out, r.sim.now
    total = m.shapes.total_gpu_milli
    victims = list(dict.fromkeys(int(u) for v in tasks for u in r._members(v)))
    freed, lost = [], 0.0
    for v in victims:
        lost += (now - float(out.start[v])) * int(total[m.shape_of[v]]) / 1000
        freed.append(r._stop(v))
        r.attempt[v] += 1
        out.status[v] = WAITING
        if r.defrag is not None:
            r.kept[v] = 0.0  # it starts over
        r.finished[v], r.done[m.leader[v]] = False, 0  # a gang restarts whole
    return victims, freed, lost


def requeue(r: Replay, victims: list[int], freed: list[int]) -> None:
    """Give evicted tasks (by gang leader) and freed nodes back to the admission policy."""
    m = r.model
    for leader in dict.fromkeys(int(m.leader[v]) for v in victims):
        m.admission.evicted(leader, r)
    for node in dict.fromkeys(freed):
        m.admission.freed(node, r)


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
    excluded = excluded_nodes(r, t, int(m.shape_of[t]))  # not the node it evicts on
    evicted, freed, lost = evict(r, victims)  # a gang is evicted whole
    r.out.preemptions[evicted] += 1
    r.lost_gpu_s += lost
    started = r._start(t, excluded if excluded is not None else np.zeros(0, dtype=np.int64))
    assert started, "the preempting task must fit after eviction"
    requeue(r, evicted, [node, *freed])
    return True


def _admitted_without(r: Replay, t: int, node: int, victims: list[int]) -> bool:
    """Whether the placement policy would admit ``node`` for ``t`` once ``victims`` are gone
    (never a node ``t`` may not take: anti-affinity, a reservation)."""
    m = r.model
    excluded = excluded_nodes(r, t, int(m.shape_of[t]))
    if excluded is not None and node in excluded:
        return False
    held = [(m.table.shapes[int(m.shape_of[v])], r.placement[v], v) for v in victims]
    groups = r.colocation.groups if r.rates is not None else {}
    if r.rates is not None:
        r.colocation.current = t
    return admitted_without(r.placer, m.table.shapes[int(m.shape_of[t])], node, held, groups)
