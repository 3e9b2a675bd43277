"""Kueue's admission over time, quota only (Kueue's own view, no nodes): the reference the
compiled replay will be checked against. No preemption and no fair sharing yet.

At each moment, finished workloads give their quota back, arrivals join their ClusterQueue,
then scheduling cycles run until one admits nothing. A cycle takes each ClusterQueue's head
(highest priority, then earliest arrival, then input order), tries the heads that need no
borrowing first, then by priority and arrival (Kueue's entry order), and admits each whose
flavor assignment still fits. A head that does not fit: with ``StrictFIFO`` it stays head
and blocks its queue; with ``BestEffortFIFO`` it is set aside (inadmissible) until quota is
given back in its cohort tree, and the next workload becomes head.

Workloads of one ClusterQueue that ask for the same requests (a *shape*) fit or not alike,
and admissions only take quota: so a head set aside sets aside the later workloads of its
shape too, until quota comes back in a flavor and resource it lacked, and a queue's head is
the first workload of the shapes not set aside. That keeps a cycle's cost to the number of
shapes, not of workloads, however long the queue (Kueue sets them aside one cycle at a time
and retries all after any release, within the same instant: an order of admissions between
queues within one instant may differ).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from schedlab.kueue.assign import Assignment, Pending, admit, assign_planned, plan, release
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
    queues = {q: _Queue(config.cluster_queues[q].queueing == "BestEffortFIFO") for q in config.cluster_queues}
    outcome = Outcome([None] * len(workloads), [()] * len(workloads), {})
    events: list[tuple[float, int, int]] = [(w.arrival, 1, i) for i, w in enumerate(workloads)]
    heapq.heapify(events)  # (time, 0 finish / 1 arrival, workload)
    assigned: dict[int, Assignment] = {}
    memo = _Memo(tree, config, workloads)
    while events:
        now = events[0][0]
        while events and events[0][0] == now:
            _, kind, i = heapq.heappop(events)
            w = workloads[i]
            if kind == 0:
                given = assigned.pop(i)
                release(tree, w.queue, given, w.requests)
                memo.version += 1
                freed = {(flavor, resource) for resource, flavor in given.flavors}
                for q, queue in queues.items():  # quota is back: set-aside workloads try again
                    if root[q] == root[w.queue]:
                        queue.take_back(freed)
            else:
                queues[w.queue].push(memo.keys[i], (-w.priority, w.arrival, i))
        while True:
            admitted, set_aside = _cycle(tree, workloads, queues, assigned, outcome, now, events, memo)
            if not admitted and len(set_aside) == 1:
                # Only that queue's head changes from one cycle to the next, and the quota does
                # not: the cycles that follow set its heads aside until one fits. At once:
                queue = queues[set_aside[0]]
                while (order := queue.head()) is not None and isinstance(
                    found := memo.assign(order[2]), Pending
                ):
                    queue.set_aside(memo.keys[order[2]], found)
            if not admitted and not set_aside:
                break
    memo.version += 1  # the reasons below say what is available at the end
    for queue in queues.values():
        first = queue.head()
        for order in queue.entries():
            i = order[2]
            found = memo.assign(i)
            blocked = isinstance(found, Assignment) or (not queue.best_effort and order != first)
            outcome.pending[i] = "blocked by its queue's head" if blocked else str(found)
    return outcome


def _cycle(
    tree: QuotaTree,
    workloads: list[Workload],
    queues: dict[str, _Queue],
    assigned: dict[int, Assignment],
    outcome: Outcome,
    now: float,
    events: list[tuple[float, int, int]],
    memo: _Memo,
) -> tuple[bool, list[str]]:
    """One scheduling cycle: whether it admitted anything, and the queues whose head it set
    aside (another cycle follows after either)."""
    heads = []
    for q, queue in queues.items():
        order = queue.head()
        if order is not None:
            found = memo.assign(order[2])
            heads.append((isinstance(found, Assignment) and found.borrows, order, q))
    admitted, set_aside = False, []
    for _, order, q in sorted(heads):
        i = order[2]
        w = workloads[i]
        found = memo.assign(i)  # assigned again when an admission before it took quota
        if isinstance(found, Assignment):
            queues[q].pop(memo.keys[i])
            admit(tree, q, found, w.requests)
            memo.taken(found)
            assigned[i] = found
            outcome.admitted[i], outcome.flavors[i] = now, found.flavors
            heapq.heappush(events, (now + w.duration, 0, i))
            admitted = True
        elif queues[q].best_effort:
            queues[q].set_aside(memo.keys[i], found)
            set_aside.append(q)
    return admitted, set_aside


Key = tuple[str, tuple[tuple[str, int], ...]]  # ClusterQueue and requests: a shape
Order = tuple[int, float, int]  # -priority, arrival, index: Kueue's order in a queue


class _Queue:
    """A ClusterQueue's waiting workloads, a heap per shape, and a heap of the shapes' first
    workloads (stale entries skipped); shapes set aside are left out of the head."""

    def __init__(self, best_effort: bool) -> None:
        self.best_effort = best_effort
        self.shapes: dict[Key, list[Order]] = {}
        self.tops: list[tuple[Order, Key]] = []
        self.aside: dict[Key, set[tuple[str, str]]] = {}  # shape: the quota that could let it in

    def push(self, key: Key, order: Order) -> None:
        entries = self.shapes.setdefault(key, [])
        heapq.heappush(entries, order)
        if entries[0] == order and key not in self.aside:
            heapq.heappush(self.tops, (order, key))

    def head(self) -> Order | None:
        while self.tops:
            order, key = self.tops[0]
            entries = self.shapes.get(key)
            if key not in self.aside and entries and entries[0] == order:
                return order
            heapq.heappop(self.tops)
        return None

    def pop(self, key: Key) -> None:
        entries = self.shapes[key]
        heapq.heappop(entries)
        if entries and key not in self.aside:
            heapq.heappush(self.tops, (entries[0], key))

    def set_aside(self, key: Key, pending: Pending) -> None:
        """Set a shape aside until quota is given back in a flavor and resource it lacked (its
        first shortfall in each flavor: no other quota coming back can make it fit, as nothing
        but a release adds quota; never, if it asks more than the queue can ever have)."""
        self.aside[key] = {(f, r) for f, r, _, _, never in pending.shortfalls if not never}

    def take_back(self, freed: set[tuple[str, str]]) -> None:
        """Quota of the ``(flavor, resource)`` pairs ``freed`` came back: the shapes it may
        let in are waiting again."""
        for key in [k for k, lacking in self.aside.items() if lacking & freed]:
            del self.aside[key]
            if self.shapes[key]:
                heapq.heappush(self.tops, (self.shapes[key][0], key))

    def entries(self) -> list[Order]:
        """Every waiting workload, in the queue's order."""
        return sorted(order for entries in self.shapes.values() for order in entries)


class _Memo:
    """Flavor assignments by shape, kept while still true. Quota given back may change any
    (``version`` counts releases); an admission only takes quota, so a shape that did not
    fit still does not, and one that fits keeps its flavors unless quota of those flavors
    was taken (``stamps`` count admissions per flavor and resource)."""

    def __init__(self, tree: QuotaTree, config: KueueConfig, workloads: list[Workload]) -> None:
        self.tree = tree
        self.keys: list[Key] = [(w.queue, tuple(sorted(w.requests.items()))) for w in workloads]
        self.plans = {key: plan(tree, config, key[0], dict(key[1])) for key in set(self.keys)}
        self.version = 0
        self.stamps: dict[tuple[str, str], int] = {}
        self.found: dict[Key, tuple[int, Assignment | Pending, tuple[tuple[tuple[str, str], int], ...]]] = {}

    def taken(self, assignment: Assignment) -> None:
        """An admission took quota in ``assignment``'s flavors."""
        for resource, flavor in assignment.flavors:
            self.stamps[(flavor, resource)] = self.stamps.get((flavor, resource), 0) + 1

    def assign(self, i: int) -> Assignment | Pending:
        key = self.keys[i]
        kept = self.found.get(key)
        if (
            kept is not None
            and kept[0] == self.version
            and all(self.stamps.get(p, 0) == n for p, n in kept[2])
        ):
            return kept[1]
        planned = self.plans[key]
        found = planned if isinstance(planned, Pending) else assign_planned(self.tree, planned)
        pairs = (
            [(flavor, resource) for resource, flavor in found.flavors]
            if isinstance(found, Assignment)
            else []
        )
        self.found[key] = (self.version, found, tuple((p, self.stamps.get(p, 0)) for p in pairs))
        return found


def _root(config: KueueConfig, queue: str) -> str:
    """The root of ``queue``'s cohort tree (the queue itself without a cohort)."""
    name = config.cluster_queues[queue].cohort
    if not name:
        return queue
    while config.cohorts[name].parent:
        name = config.cohorts[name].parent
    return name
