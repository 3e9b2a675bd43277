"""Kueue's classic preemption: whom a workload that fits only by preemption evicts.

As Kueue's preemptor does it (``pkg/scheduler/preemption``, the algorithm its concepts page
documents). *Candidates* are admitted workloads that use a (flavor, resource) the preemptor
needs preemption for: in its own ClusterQueue those that ``withinClusterQueue`` allows
(``LowerPriority``; ``LowerOrNewerEqualPriority`` adds equal priority created later), and,
with ``reclaimWithinCohort``, those of the other ClusterQueues of its cohort tree that
borrow one of those pairs (``LowerPriority`` of them, or ``Any``). They are ordered: other
ClusterQueues' first, lowest priority, most recently admitted, then input order.

Then, in turn: if every candidate is in the preemptor's own queue, remove candidates until
it fits, borrowing allowed; else with ``borrowWithinCohort`` the same, other queues'
candidates only below its priority threshold unless the queue is under its nominal quota
(a candidate at or above the threshold forbids borrowing); else, if the queue is under its
nominal quota in every pair that needs preemption, until it fits without borrowing; last,
only its own queue's candidates, borrowing allowed. A candidate of another queue that no
longer borrows is skipped. Once it fits, the targets are walked back (all but the last) and
each whose quota can be given back while the preemptor still fits is spared.

With fair sharing (:mod:`schedlab.kueue.fairness`) the cohort's candidates are taken from the
ClusterQueue with the highest share first: its own queue's in order (borrowing allowed);
another queue's first candidate that the first preemption strategy allows (or below the
``borrowWithinCohort`` threshold), that queue's share then re-taken; then, with a second
strategy, the first candidate passed over of each queue that it allows. Reason
``InCohortFairSharing``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

from schedlab.kueue.assign import Assignment, Preempting, admit, release
from schedlab.kueue.fairness import share, strategy
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree

if TYPE_CHECKING:
    from schedlab.kueue.admission import Workload

IN_CLUSTER_QUEUE = "InClusterQueue"
RECLAMATION = "InCohortReclamation"
RECLAIM_WHILE_BORROWING = "InCohortReclaimWhileBorrowing"
FAIR_SHARING = "InCohortFairSharing"
REASONS = (IN_CLUSTER_QUEUE, RECLAMATION, RECLAIM_WHILE_BORROWING, FAIR_SHARING)

Target = tuple[int, str]  # the workload evicted, and Kueue's reason


def may_preempt(config: KueueConfig, queue: str) -> bool:
    """Whether ClusterQueue ``queue``'s policies allow any preemption."""
    p = config.cluster_queues[queue].preemption
    return p.within_cluster_queue != "Never" or p.reclaim_within_cohort != "Never"


def targets(
    tree: QuotaTree,
    config: KueueConfig,
    workloads: list[Workload],
    i: int,
    found: Preempting,
    running: dict[str, dict[int, tuple[float, Assignment]]],
    cohort: list[str],
) -> list[Target]:
    """The workloads to evict so that workload ``i`` fits with ``found``'s flavors (none:
    it cannot); ``running``: per ClusterQueue its admitted workloads' admission time and
    flavors; ``cohort``: the ClusterQueues of its cohort tree."""
    w = workloads[i]
    policy = config.cluster_queues[w.queue].preemption
    node = tree.index(w.queue)
    needs = [(tree.column(f, r), f, r) for f, r in sorted(found.needs)]
    asked = [(tree.column(f, r), w.requests[r]) for r, f in found.flavors]

    def borrowing(queue: str) -> bool:
        q = tree.index(queue)
        return tree.parent[q] >= 0 and any(tree.usage[q, k] > tree.subtree[q, k] for k, _, _ in needs)

    def uses(v: int) -> bool:
        flavors = running[workloads[v].queue][v][1].flavors
        return any((r, f) in flavors for _, f, r in needs)

    candidates = []
    if policy.within_cluster_queue != "Never":
        newer = policy.within_cluster_queue == "LowerOrNewerEqualPriority"
        for v in running[w.queue]:
            p = workloads[v].priority
            if p < w.priority or (p == w.priority and newer and w.arrival < workloads[v].arrival):
                candidates += [v] if uses(v) else []
    if policy.reclaim_within_cohort != "Never":
        any_priority = policy.reclaim_within_cohort == "Any"
        for queue in cohort:
            if queue != w.queue and borrowing(queue):
                candidates += [
                    v
                    for v in running[queue]
                    if (any_priority or workloads[v].priority < w.priority) and uses(v)
                ]
    if not candidates:
        return []
    candidates.sort(
        key=lambda v: (
            workloads[v].queue == w.queue,
            workloads[v].priority,
            -running[workloads[v].queue][v][0],
            v,
        )
    )
    own = [v for v in candidates if workloads[v].queue == w.queue]

    def give(v: int, back: bool) -> None:
        """Take workload ``v``'s quota out of the tree (``back``: put it back)."""
        (admit if back else release)(
            tree, workloads[v].queue, running[workloads[v].queue][v][1], workloads[v].requests
        )

    def fits(borrow: bool) -> bool:
        for k, amount in asked:
            if not borrow and tree.usage[node, k] + amount > tree.subtree[node, k]:
                return False
            if amount > tree.available(node, k):
                return False
        return True

    under_nominal = all(tree.usage[node, k] < tree.nominal[node, k] for k, _, _ in needs)
    if len(own) == len(candidates):
        return _minimal(candidates, True, None, w.queue, workloads, borrowing, give, fits)
    threshold: int | None = None
    if policy.borrow_within_cohort != "Never":
        threshold = w.priority
        if policy.max_priority_threshold is not None and policy.max_priority_threshold < threshold:
            threshold = policy.max_priority_threshold + 1
    if config.fair_sharing is not None:

        def usage(v: int) -> dict[int, int]:
            flavors = running[workloads[v].queue][v][1].flavors
            return {tree.column(f, r): workloads[v].requests[r] for r, f in flavors}

        fair = _Fair(tree, config, workloads, usage, give, fits)
        return fair.targets(candidates, w.queue, dict(asked), threshold, borrowing)
    if threshold is not None:
        if not under_nominal:
            candidates = [
                v for v in candidates if workloads[v].queue == w.queue or workloads[v].priority < threshold
            ]
        return _minimal(candidates, True, threshold, w.queue, workloads, borrowing, give, fits)
    if under_nominal:
        found_targets = _minimal(candidates, False, None, w.queue, workloads, borrowing, give, fits)
        if found_targets:
            return found_targets
    return _minimal(own, True, None, w.queue, workloads, borrowing, give, fits)


def _minimal(
    candidates: list[int],
    borrow: bool,
    threshold: int | None,
    queue: str,
    workloads: list[Workload],
    borrowing: Callable[[str], bool],
    give: Callable[[int, bool], None],
    fits: Callable[[bool], bool],
) -> list[Target]:
    """Kueue's ``minimalPreemptions``: take candidates out in order until the preemptor
    fits, then spare what can be given back; the tree is left as it was."""
    removed: list[Target] = []
    for v in candidates:
        reason = IN_CLUSTER_QUEUE
        if workloads[v].queue != queue:
            if not borrowing(workloads[v].queue):
                continue
            reason = RECLAMATION
            if threshold is not None:
                if workloads[v].priority >= threshold:
                    borrow = False
                else:
                    reason = RECLAIM_WHILE_BORROWING
        give(v, False)
        removed.append((v, reason))
        if fits(borrow):
            break
    else:
        for v, _ in removed:
            give(v, True)
        return []
    return _fill_back(removed, borrow, give, fits)


def _fill_back(
    removed: list[Target], borrow: bool, give: Callable[[int, bool], None], fits: Callable[[bool], bool]
) -> list[Target]:
    """Walk the targets back (all but the last) and spare each whose quota can be given
    back while the preemptor still fits; the tree is left as it was."""
    kept = [True] * len(removed)
    for j in range(len(removed) - 2, -1, -1):
        give(removed[j][0], True)
        if fits(borrow):
            kept[j] = False
        else:
            give(removed[j][0], False)
    chosen = [t for t, keep in zip(removed, kept, strict=True) if keep]
    for v, _ in chosen:
        give(v, True)
    return chosen


class _Fair:
    """Kueue's ``fairPreemptions``: candidates by the share of their ClusterQueue."""

    def __init__(
        self,
        tree: QuotaTree,
        config: KueueConfig,
        workloads: list[Workload],
        usage: Callable[[int], dict[int, int]],
        give: Callable[[int, bool], None],
        fits: Callable[[bool], bool],
    ) -> None:
        self.tree, self.config, self.workloads = tree, config, workloads
        self.usage, self.give, self.fits = usage, give, fits
        assert config.fair_sharing is not None
        self.rules = [strategy(name) for name in config.fair_sharing]

    def share(self, queue: str, extra: dict[int, int] | None = None, sign: int = 1) -> int:
        return share(self.tree, self.config, queue, extra, sign)

    def targets(
        self,
        candidates: list[int],
        queue: str,
        asked: dict[int, int],
        threshold: int | None,
        borrowing: Callable[[str], bool],
    ) -> list[Target]:
        by_queue: dict[str, list[int]] = {}
        for v in candidates:
            by_queue.setdefault(self.workloads[v].queue, []).append(v)
        heap = [(-self.share(q), q) for q in by_queue]
        heapq.heapify(heap)
        mine = self.share(queue, asked)
        removed: list[Target] = []
        retry: list[int] = []
        while heap:
            before, q = heapq.heappop(heap)
            waiting = by_queue[q]
            if q == queue:
                v = waiting.pop(0)
                if self._take(v, IN_CLUSTER_QUEUE, removed):
                    return _fill_back(removed, True, self.give, self.fits)
                mine = self.share(queue, asked)
                if waiting:
                    heapq.heappush(heap, (-self.share(q), q))
                continue
            for j, v in enumerate(waiting):
                after = self.share(q, self.usage(v), -1)
                allowed = self.rules[0](mine, -before, after)
                if allowed or (threshold is not None and self.workloads[v].priority < threshold):
                    if self._take(v, FAIR_SHARING if allowed else RECLAIM_WHILE_BORROWING, removed):
                        return _fill_back(removed, True, self.give, self.fits)
                    by_queue[q] = waiting[j + 1 :]
                    if by_queue[q] and borrowing(q):
                        heapq.heappush(heap, (-after, q))
                    break
                retry.append(v)
        if len(self.rules) > 1:
            firsts: dict[str, int] = {}
            for v in retry:
                firsts.setdefault(self.workloads[v].queue, v)
            heap = [(-self.share(q), q) for q in firsts]
            heapq.heapify(heap)
            while heap:
                before, q = heapq.heappop(heap)
                if self.rules[1](mine, -before, 0) and self._take(firsts[q], FAIR_SHARING, removed):
                    return _fill_back(removed, True, self.give, self.fits)
        for v, _ in removed:
            self.give(v, True)
        return []

    def _take(self, v: int, reason: str, removed: list[Target]) -> bool:
        """Take ``v``'s quota out as a target; whether the preemptor fits now."""
        self.give(v, False)
        removed.append((v, reason))
        return self.fits(True)
