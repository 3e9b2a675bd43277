"""What the admission replay keeps between cycles: each ClusterQueue's waiting workloads by
shape (:class:`WaitingQueue`), and flavor assignments by shape while still true
(:class:`Assignments`)."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from schedlab.kueue.assign import Assignment, Pending, Preempting, assign_planned, plan
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree

if TYPE_CHECKING:
    from schedlab.kueue.admission import Workload

Key = tuple[str, tuple[tuple[str, int], ...]]  # ClusterQueue and requests: a shape
Order = tuple[int, float, int]  # -priority, arrival, index: Kueue's order in a queue
Found = Assignment | Preempting | Pending


class WaitingQueue:
    """A ClusterQueue's waiting workloads, a heap per shape, and a heap of the shapes' first
    workloads (stale entries skipped); shapes set aside are left out of the head."""

    def __init__(self, best_effort: bool) -> None:
        self.best_effort = best_effort
        self.shapes: dict[Key, list[Order]] = {}
        self.tops: list[tuple[Order, Key]] = []
        #: shape: the quota that could let it in (None: any quota given back)
        self.aside: dict[Key, set[tuple[str, str]] | None] = {}

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

    def set_aside(self, key: Key, pending: Pending, preempts: bool = False) -> None:
        """Set a shape aside until quota is given back in a flavor and resource it lacked (its
        first shortfall in each flavor: no other quota coming back can make it fit, as nothing
        but a release adds quota; never, if it asks more than the queue can ever have). A
        queue that may preempt waits for any quota given back in its cohort tree (a release
        may stop another queue borrowing, which makes its workloads candidates)."""
        lacking = {(f, r) for f, r, _, _, never in pending.shortfalls if not never}
        self.aside[key] = None if preempts else lacking

    def wait_for(self, key: Key, pairs: set[tuple[str, str]]) -> None:
        """Set a shape aside until a workload using one of the ``(flavor, resource)`` pairs
        ends (its pods found no room on those flavors' nodes)."""
        self.aside[key] = pairs

    def take_back(self, freed: set[tuple[str, str]]) -> None:
        """Quota of the ``(flavor, resource)`` pairs ``freed`` came back: the shapes it may
        let in are waiting again."""
        for key in [k for k, lacking in self.aside.items() if lacking is None or lacking & freed]:
            del self.aside[key]
            if self.shapes[key]:
                heapq.heappush(self.tops, (self.shapes[key][0], key))

    def entries(self) -> list[Order]:
        """Every waiting workload, in the queue's order."""
        return sorted(order for entries in self.shapes.values() for order in entries)


class Assignments:
    """Flavor assignments by shape, kept while still true. Quota given back may change any
    (``version`` counts releases); an admission only takes quota, so a shape that did not
    fit still does not, and one that fits (or fits by preemption) keeps its flavors unless
    quota of those flavors was taken (``stamps`` count admissions per flavor and resource)."""

    def __init__(self, tree: QuotaTree, config: KueueConfig, workloads: list[Workload]) -> None:
        self.tree = tree
        self.keys: list[Key] = [(w.queue, tuple(sorted(w.requests.items()))) for w in workloads]
        self.plans = {key: plan(tree, config, key[0], dict(key[1])) for key in set(self.keys)}
        self.version = 0
        self.stamps: dict[tuple[str, str], int] = {}
        self.found: dict[Key, tuple[int, Found, tuple[tuple[tuple[str, str], int], ...]]] = {}

    def taken(self, assignment: Assignment) -> None:
        """An admission took quota in ``assignment``'s flavors."""
        for resource, flavor in assignment.flavors:
            self.stamps[(flavor, resource)] = self.stamps.get((flavor, resource), 0) + 1

    def assign(self, i: int) -> Found:
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
            [] if isinstance(found, Pending) else [(flavor, resource) for resource, flavor in found.flavors]
        )
        self.found[key] = (self.version, found, tuple((p, self.stamps.get(p, 0)) for p in pairs))
        return found
