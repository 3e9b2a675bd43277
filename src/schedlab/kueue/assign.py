"""Flavor assignment as Kueue's flavor assigner does it, on the quota tree.

For each resource group of the workload's ClusterQueue that covers something the workload
asks for, the flavors are tried in their order. Per requested resource a flavor is in one of
Kueue's three modes: it *fits* when the request is within what the ClusterQueue may still
use of it (:meth:`~schedlab.kueue.quota.QuotaTree.available`); it may fit by *preemption*
when not, but the request is within the queue's nominal quota (or ``borrowWithinCohort`` or fair sharing is
on) and within the most it could ever use; else it does *not fit*. A flavor's mode is its
resources' worst, and it *borrows* when fitting takes the ClusterQueue beyond its own quota.
The search stops at a flavor that fits without borrowing, one that fits by borrowing under
``whenCanBorrow: MayStopSearch``/``Borrow`` (the default), or one that needs preemption
under ``whenCanPreempt: Preempt``/``MayStopSearch`` (and does not borrow, or may); otherwise
it takes the first flavor of the best mode seen. A workload gets an :class:`Assignment`
when every group fits, a :class:`Preempting` assignment when some group needs preemption,
and pends otherwise, with the reason per flavor. A workload asking for a resource no group
covers never fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree


@dataclass(frozen=True)
class Assignment:
    """The flavor of each requested resource, and whether the ClusterQueue borrows."""

    flavors: tuple[tuple[str, str], ...]
    borrows: bool


@dataclass(frozen=True)
class Preempting:
    """Flavors that fit only once admitted workloads are preempted: the ``(flavor,
    resource)`` pairs that need it, and why the workload pends if no preemption is found."""

    flavors: tuple[tuple[str, str], ...]
    borrows: bool
    needs: frozenset[tuple[str, str]]
    pending: Pending


#: Why a flavor does not fit: (flavor, resource, asked, available now or at most, whether
#: the queue could never have that much); written out only when read (:attr:`Pending.reasons`).
Shortfall = tuple[str, str, int, int, bool]


@dataclass(frozen=True)
class Pending:
    """Why no flavor assignment fits now: one shortfall per flavor tried, or ``uncovered``
    (a resource the ClusterQueue ``queue`` does not cover)."""

    shortfalls: tuple[Shortfall, ...] = ()
    uncovered: str = ""
    queue: str = ""

    @property
    def reasons(self) -> tuple[str, ...]:
        if self.uncovered:
            return (f"resource {self.uncovered} is not covered by ClusterQueue {self.queue}",)
        return tuple(_reason(*shortfall) for shortfall in self.shortfalls)

    def __str__(self) -> str:
        return "; ".join(self.reasons)


def _reason(flavor: str, resource: str, need: int, value: int, never: bool) -> str:
    asked = _show(resource, need)
    if never:
        most = _show(resource, value)
        return f"flavor {flavor}: {resource} {asked} is more than the {most} this queue can ever use"
    have = _show(resource, max(value, 0))
    return f"flavor {flavor}: insufficient quota for {resource}: {asked} asked, {have} available"


def assign(
    tree: QuotaTree, config: KueueConfig, queue: str, requests: dict[str, int]
) -> Assignment | Preempting | Pending:
    """The flavors for a workload of ClusterQueue ``queue`` asking for ``requests`` (per
    resource, in Kueue's units: CPU in milli-cores, the rest whole)."""
    found = plan(tree, config, queue, requests)
    return found if isinstance(found, Pending) else assign_planned(tree, found)


@dataclass(frozen=True)
class Plan:
    """What does not change between two assignments of one workload: its ClusterQueue's
    node in the tree (and whether it has a cohort), its requests, per resource group the
    resources asked and the flavors (per resource its column, the request and whether
    preemption could make room; the shortfall when the flavor can never hold the request),
    and whether it may stop at the first flavor that fits by borrowing or that needs
    preemption."""

    node: int
    wanted: dict[str, int]
    groups: tuple[tuple[tuple[str, ...], tuple[Option, ...]], ...]
    stop_when_borrowing: bool
    stop_when_preempting: bool = False
    cohort: bool = True


#: A flavor of a resource group for one workload: its name, per resource asked (resource,
#: column, request, whether preemption could make room), and its shortfall if it never fits.
Option = tuple[str, tuple[tuple[str, int, int, bool], ...], "Shortfall | None"]


def plan(tree: QuotaTree, config: KueueConfig, queue: str, requests: dict[str, int]) -> Plan | Pending:
    """The :class:`Plan` of a workload, or why it can never be assigned (a resource not covered)."""
    cq = config.cluster_queues[queue]
    wanted = {r: v for r, v in requests.items() if v > 0}
    covered = {r for g in cq.groups for r in g.covered}
    missing = sorted(set(wanted) - covered)
    if missing:
        return Pending(uncovered=missing[0], queue=queue)
    node = tree.index(queue)
    while_borrowing = cq.preemption.borrow_within_cohort != "Never" or config.fair_sharing is not None
    stop_preempting = cq.when_can_preempt in ("MayStopSearch", "Preempt")
    # Without a preemption policy a flavor that needs preemption admits nothing: with
    # whenCanPreempt: TryNextFlavor it is as good as one that does not fit.
    preempts = stop_preempting or cq.preemption.within_cluster_queue != "Never"
    preempts = preempts or cq.preemption.reclaim_within_cohort != "Never"
    groups = []
    for group in cq.groups:
        asked = tuple(r for r in group.covered if r in wanted)
        if not asked:
            continue
        options: list[Option] = []
        for f in group.flavors:
            items = []
            never: Shortfall | None = None
            for r in asked:
                k = tree.column(f.flavor, r)
                most = tree.potential(node, k)
                if wanted[r] > most and never is None:
                    never = (f.flavor, r, wanted[r], most, True)
                room = wanted[r] <= int(tree.nominal[node, k]) or while_borrowing
                items.append((r, k, wanted[r], preempts and room))
            options.append((f.flavor, tuple(items), never))
        groups.append((asked, tuple(options)))
    stop = cq.when_can_borrow in ("MayStopSearch", "Borrow")
    return Plan(node, wanted, tuple(groups), stop, stop_preempting, bool(tree.parent[node] >= 0))


NO_FIT, PREEMPT, FIT = 0, 1, 2  # Kueue's modes, worst first


def assign_planned(tree: QuotaTree, plan: Plan) -> Assignment | Preempting | Pending:
    """:func:`assign` for a planned workload, on the tree's usage now."""
    chosen: list[tuple[str, str]] = []
    borrows, worst = False, FIT
    needs: set[tuple[str, str]] = set()
    shortfalls: list[Shortfall] = []
    for asked, flavors in plan.groups:
        best: tuple[int, str, bool, list[str]] | None = None
        for flavor, items, never in flavors:
            if never is not None:  # this flavor can never hold the request
                shortfalls.append(never)
                continue
            mode, borrow, short, lacking = _mode(tree, plan, flavor, items)
            if short is not None:
                shortfalls.append(short)
            if not _try_next(plan, mode, borrow):
                best = (mode, flavor, borrow, lacking)
                break
            if mode > NO_FIT and (best is None or mode > best[0]):
                best = (mode, flavor, borrow, lacking)
        if best is None:
            return Pending(tuple(shortfalls))
        mode, flavor, borrow, lacking = best
        chosen += [(r, flavor) for r in asked]
        borrows, worst = borrows or borrow, min(worst, mode)
        needs |= {(flavor, r) for r in lacking}
    if worst == PREEMPT:
        return Preempting(tuple(chosen), borrows, frozenset(needs), Pending(tuple(shortfalls)))
    return Assignment(tuple(chosen), borrows)


def _try_next(plan: Plan, mode: int, borrow: bool) -> bool:
    """Kueue's ``shouldTryNextFlavor``."""
    if mode == FIT:
        return borrow and not plan.stop_when_borrowing
    if mode == PREEMPT and plan.stop_when_preempting:
        return borrow and not plan.stop_when_borrowing
    return True


def _mode(
    tree: QuotaTree, plan: Plan, flavor: str, items: tuple[tuple[str, int, int, bool], ...]
) -> tuple[int, bool, Shortfall | None, list[str]]:
    """The mode of a flavor that could hold the request, whether it borrows, its first
    shortfall and the resources that need preemption."""
    node, mode, borrow = plan.node, FIT, False
    short: Shortfall | None = None
    lacking = []
    for resource, k, need, preemptible in items:
        left = tree.available(node, k)
        if plan.cohort and not borrow:
            borrow = int(tree.usage[node, k]) + need > int(tree.subtree[node, k])
        if need <= left:
            continue
        short = short or (flavor, resource, need, left, False)
        if not preemptible:
            return NO_FIT, borrow, short, []
        mode = PREEMPT
        lacking.append(resource)
    return mode, borrow, short, lacking


def admit(tree: QuotaTree, queue: str, assignment: Assignment, requests: dict[str, int]) -> None:
    """Count an admitted workload's requests as used, in the flavors assigned."""
    node = tree.index(queue)
    for resource, flavor in assignment.flavors:
        tree.add(node, tree.column(flavor, resource), requests[resource])


def release(tree: QuotaTree, queue: str, assignment: Assignment, requests: dict[str, int]) -> None:
    """Give a finished or evicted workload's quota back."""
    node = tree.index(queue)
    for resource, flavor in assignment.flavors:
        tree.remove(node, tree.column(flavor, resource), requests[resource])


def _show(resource: str, value: int) -> str:
    return f"{value / 1000:g}" if resource == "cpu" else str(value)
