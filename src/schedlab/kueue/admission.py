"""Kueue's admission over time, quota only (Kueue's own view, no nodes): the reference the
compiled replay will be checked against. No preemption and no fair sharing yet.

At each moment, finished workloads give their quota back, arrivals join their ClusterQueue,
then scheduling cycles run until one admits nothing. A cycle takes each ClusterQueue's head
(highest priority, then earliest arrival, then input order), tries the heads that need no
borrowing first, then by priority and arrival (Kueue's entry order), and admits each whose
flavor assignment still fits. A head that does not fit: with ``StrictFIFO`` it stays head
and blocks its queue; with ``BestEffortFIFO`` it is set aside (inadmissible) until quota is
given back in its cohort tree, and the next workload becomes head.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from schedlab.kueue.assign import Assignment, Pending, admit, assign, release
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree


@dataclass(frozen=True)
class Workload:
    """A job as Kueue sees it: its ClusterQueue, priority, arrival, run time and requests
    (Kueue's units: CPU in milli-cores, the rest whole)."""

    queue: str
    priority: int
    arrival: float
    duration: float
    requests: dict[str, int] = field(hash=False)


@dataclass
class Outcome:
    """Per workload: when it was admitted (None: never) and its flavors; and why each
    workload still waiting at the end waits."""

    admitted: list[float | None]
    flavors: list[tuple[tuple[str, str], ...]]
    pending: dict[int, str]


def replay(config: KueueConfig, workloads: list[Workload]) -> Outcome:
    """Admit ``workloads`` through ``config``'s quotas over time (quota only)."""
    tree = QuotaTree.build(config)
    root = {name: _root(config, name) for name in config.cluster_queues}
    waiting: dict[str, list[tuple[int, float, int]]] = {q: [] for q in config.cluster_queues}
    parked: dict[str, list[tuple[int, float, int]]] = {q: [] for q in config.cluster_queues}
    outcome = Outcome([None] * len(workloads), [()] * len(workloads), {})
    events: list[tuple[float, int, int]] = [(w.arrival, 1, i) for i, w in enumerate(workloads)]
    heapq.heapify(events)  # (time, 0 finish / 1 arrival, workload)
    assigned: dict[int, Assignment] = {}
    while events:
        now = events[0][0]
        while events and events[0][0] == now:
            _, kind, i = heapq.heappop(events)
            w = workloads[i]
            if kind == 0:
                release(tree, w.queue, assigned.pop(i), w.requests)
                for q in config.cluster_queues:  # quota is back: set-aside workloads try again
                    if root[q] == root[w.queue] and parked[q]:
                        for entry in parked[q]:
                            heapq.heappush(waiting[q], entry)
                        parked[q].clear()
            else:
                heapq.heappush(waiting[w.queue], (-w.priority, w.arrival, i))
        while _cycle(config, tree, workloads, waiting, parked, assigned, outcome, now, events):
            pass
    for q, entries in waiting.items():
        for _, _, i in [*entries, *parked[q]]:
            found = assign(tree, config, q, workloads[i].requests)
            outcome.pending[i] = str(found) if isinstance(found, Pending) else "blocked by its queue's head"
    return outcome


def _cycle(
    config: KueueConfig,
    tree: QuotaTree,
    workloads: list[Workload],
    waiting: dict[str, list[tuple[int, float, int]]],
    parked: dict[str, list[tuple[int, float, int]]],
    assigned: dict[int, Assignment],
    outcome: Outcome,
    now: float,
    events: list[tuple[float, int, int]],
) -> bool:
    """One scheduling cycle; whether it admitted or set aside anything (another may follow)."""
    heads = []
    for q, entries in waiting.items():
        if entries:
            found = assign(tree, config, q, workloads[entries[0][2]].requests)
            borrows = isinstance(found, Assignment) and found.borrows
            heads.append((borrows, entries[0], q, found))
    changed = admitted = False
    for _, entry, q, first in sorted(heads, key=lambda head: head[:3]):
        i = entry[2]
        w = workloads[i]
        # earlier admissions in this cycle may have taken the quota: assign again after one
        found = assign(tree, config, q, w.requests) if admitted else first
        if isinstance(found, Assignment):
            admitted = True
            heapq.heappop(waiting[q])
            admit(tree, q, found, w.requests)
            assigned[i] = found
            outcome.admitted[i], outcome.flavors[i] = now, found.flavors
            heapq.heappush(events, (now + w.duration, 0, i))
            changed = True
        elif config.cluster_queues[q].queueing == "BestEffortFIFO":
            parked[q].append(heapq.heappop(waiting[q]))
            changed = True
    return changed


def _root(config: KueueConfig, queue: str) -> str:
    """The root of ``queue``'s cohort tree (the queue itself without a cohort)."""
    name = config.cluster_queues[queue].cohort
    if not name:
        return queue
    while config.cohorts[name].parent:
        name = config.cohorts[name].parent
    return name
