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


@dataclass(frozen=True)
class Pending:
    """Why no flavor assignment fits now: one reason per flavor tried."""

    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return "; ".join(self.reasons)


def assign(
    tree: QuotaTree, config: KueueConfig, queue: str, requests: dict[str, int]
) -> Assignment | Pending:
    """The flavors for a workload of ClusterQueue ``queue`` asking for ``requests`` (per
    resource, in Kueue's units: CPU in milli-cores, the rest whole)."""
    cq = config.cluster_queues[queue]
    node = tree.index(queue)
    wanted = {r: v for r, v in requests.items() if v > 0}
    covered = {r for g in cq.groups for r in g.covered}
    missing = sorted(set(wanted) - covered)
    if missing:
        return Pending((f"resource {missing[0]} is not covered by ClusterQueue {queue}",))
    chosen: list[tuple[str, str]] = []
    borrows = False
    for group in cq.groups:
        asked = [r for r in group.covered if r in wanted]
        if not asked:
            continue
        fallback: tuple[str, bool] | None = None
        pick: tuple[str, bool] | None = None
        reasons = []
        for flavor in group.flavors:
            why, borrow = _fits(tree, node, flavor.flavor, asked, wanted)
            if why:
                reasons.append(f"flavor {flavor.flavor}: {why}")
                continue
            if not borrow or cq.when_can_borrow in ("MayStopSearch", "Borrow"):
                pick = (flavor.flavor, borrow)
                break
            fallback = fallback or (flavor.flavor, borrow)
        pick = pick or fallback
        if pick is None:
            return Pending(tuple(reasons))
        chosen += [(r, pick[0]) for r in asked]
        borrows = borrows or pick[1]
    return Assignment(tuple(chosen), borrows)


def _fits(
    tree: QuotaTree, node: int, flavor: str, asked: list[str], wanted: dict[str, int]
) -> tuple[str, bool]:
    """Why ``flavor`` does not fit (empty: it fits), and whether fitting borrows."""
    borrow = False
    for resource in asked:
        k = tree.column(flavor, resource)
        need, left = wanted[resource], tree.available(node, k)
        if need > left:
            most = tree.potential(node, k)
            if need > most:
                ever = _show(resource, most)
                return (
                    f"{resource} {_show(resource, need)} is more than the {ever} this queue can ever use",
                    False,
                )
            have = _show(resource, max(left, 0))
            return (
                f"insufficient quota for {resource}: {_show(resource, need)} asked, {have} available",
                False,
            )
        borrow = borrow or int(tree.usage[node, k]) + need > int(tree.subtree[node, k])
    return "", borrow


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
