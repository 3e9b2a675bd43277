"""Kueue's fair sharing: a ClusterQueue's dominant resource share, and its preemption rules.

The *share* of a ClusterQueue in a cohort (Kueue's ``dominantResourceShare``, integers as
Kueue computes them): per resource, what it uses beyond its quota in every flavor (plus or
minus a workload's requests), over the most of that resource it could use in its cohort
tree, x 1000; the largest over resources, x 1000 / its ``fairSharing.weight`` in
milli-units (a weight of 0: the largest integer). 0 when it borrows nothing or has no cohort.

With fair sharing on (a Kueue ``Configuration`` with ``fairSharing.enable``), admission tries
heads that do not borrow first, then those whose queue would have the lowest share with
them, then by priority and arrival; and preemption in the cohort follows the preemption
strategies (:func:`strategy`) instead of the classic rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree

STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


def share(
    tree: QuotaTree, config: KueueConfig, queue: str, extra: dict[int, int] | None = None, sign: int = 1
) -> int:
    """ClusterQueue ``queue``'s dominant resource share, with ``sign`` x ``extra`` (per
    column of the tree) added to its usage."""
    node = tree.index(queue)
    if tree.parent[node] < 0:
        return 0
    weight = int(config.cluster_queues[queue].weight * 1000)
    borrowing: dict[str, int] = {}
    lendable: dict[str, int] = {}
    for k, (_, resource) in enumerate(tree.pairs):
        lendable[resource] = lendable.get(resource, 0) + tree.potential(node, k)
        amount = int(tree.usage[node, k]) + sign * (extra or {}).get(k, 0) - int(tree.subtree[node, k])
        if amount > 0:
            borrowing[resource] = borrowing.get(resource, 0) + amount
    if not borrowing:
        return 0
    if weight == 0:
        return sys.maxsize
    dominant = max((b * 1000 // lendable[r] for r, b in borrowing.items() if lendable[r] > 0), default=-1)
    return dominant * 1000 // weight


def strategy(name: str) -> Callable[[int, int, int], bool]:
    """Kueue's preemption strategy ``name`` as a test of (the preemptor's queue's share with
    it, the target queue's share before, after the preemption)."""
    if name == "LessThanOrEqualToFinalShare":
        return lambda preemptor, _before, after: preemptor <= after
    return lambda preemptor, before, _after: preemptor < before
