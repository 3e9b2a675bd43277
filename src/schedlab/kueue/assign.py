"""Flavor assignment as Kueue's flavor assigner does it, on the quota tree (no preemption yet).

For each resource group of the workload's ClusterQueue that covers something the workload
asks for, the flavors are tried in their order: a flavor *fits* when every requested
resource of the group is within what the ClusterQueue may still use of that flavor
(:meth:`~schedlab.kueue.quota.QuotaTree.available`), and *borrows* when that takes the
ClusterQueue beyond its own quota. ``whenCanBorrow: MayStopSearch`` (the default) takes the
first flavor that fits; ``TryNextFlavor`` goes on looking for one that fits without
borrowing and falls back to the first that fits by borrowing. When no flavor fits, the
workload pends, with the reason per flavor (the shortfall, or that only preemption could
make room). A workload asking for a resource no group covers never fits.
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
) -> Assignment | Pending:
    """The flavors for a workload of ClusterQueue ``queue`` asking for ``requests`` (per
    resource, in Kueue's units: CPU in milli-cores, the rest whole)."""
    found = plan(tree, config, queue, requests)
    return found if isinstance(found, Pending) else assign_planned(tree, found)


@dataclass(frozen=True)
class Plan:
    """What does not change between two assignments of one workload: its ClusterQueue's
    node in the tree, its requests, per resource group the resources asked and the flavors
    with their columns, and whether it may stop at the first flavor that fits by borrowing."""

    node: int
    wanted: dict[str, int]
    groups: tuple[tuple[tuple[str, ...], tuple[tuple[str, tuple[int, ...]], ...]], ...]
    stop_when_borrowing: bool


def plan(tree: QuotaTree, config: KueueConfig, queue: str, requests: dict[str, int]) -> Plan | Pending:
    """The :class:`Plan` of a workload, or why it can never be assigned (a resource not covered)."""
    cq = config.cluster_queues[queue]
    wanted = {r: v for r, v in requests.items() if v > 0}
    covered = {r for g in cq.groups for r in g.covered}
    missing = sorted(set(wanted) - covered)
    if missing:
        return Pending(uncovered=missing[0], queue=queue)
    groups = []
    for group in cq.groups:
        asked = tuple(r for r in group.covered if r in wanted)
        if asked:
            flavors = tuple((f.flavor, tuple(tree.column(f.flavor, r) for r in asked)) for f in group.flavors)
            groups.append((asked, flavors))
    stop = cq.when_can_borrow in ("MayStopSearch", "Borrow")
    return Plan(tree.index(queue), wanted, tuple(groups), stop)


def assign_planned(tree: QuotaTree, plan: Plan) -> Assignment | Pending:
    """:func:`assign` for a planned workload, on the tree's usage now."""
    chosen: list[tuple[str, str]] = []
    borrows = False
    for asked, flavors in plan.groups:
        fallback: tuple[str, bool] | None = None
        pick: tuple[str, bool] | None = None
        shortfalls = []
        for flavor, columns in flavors:
            short, borrow = _fits(tree, plan.node, flavor, asked, columns, plan.wanted)
            if short is not None:
                shortfalls.append(short)
                continue
            if not borrow or plan.stop_when_borrowing:
                pick = (flavor, borrow)
                break
            fallback = fallback or (flavor, borrow)
        pick = pick or fallback
        if pick is None:
            return Pending(tuple(shortfalls))
        chosen += [(r, pick[0]) for r in asked]
        borrows = borrows or pick[1]
    return Assignment(tuple(chosen), borrows)


def _fits(
    tree: QuotaTree,
    node: int,
    flavor: str,
    asked: tuple[str, ...],
    columns: tuple[int, ...],
    wanted: dict[str, int],
) -> tuple[Shortfall | None, bool]:
    """Why ``flavor`` does not fit (None: it fits), and whether fitting borrows."""
    borrow = False
    for resource, k in zip(asked, columns, strict=True):
        need, left = wanted[resource], tree.available(node, k)
        if need > left:
            most = tree.potential(node, k)
            if need > most:
                return (flavor, resource, need, most, True), False
            return (flavor, resource, need, left, False), False
        borrow = borrow or int(tree.usage[node, k]) + need > int(tree.subtree[node, k])
    return None, borrow


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
