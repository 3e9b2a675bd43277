"""Kueue's quota arithmetic over the cohort tree: how much a ClusterQueue may still use of
each (flavor, resource), borrowing and lending limits included, and usage as it bubbles up.

The rules are Kueue's own (``pkg/cache/resource_node.go``), on integer quantities (CPU in
milli-cores, everything else in whole units, as Kueue counts them), as numpy arrays of
nodes (cohorts and ClusterQueues) x (flavor, resource):

- a node's *subtree quota* is its own nominal quota plus, per child, the child's subtree
  quota less what the child keeps (its *guaranteed* quota: subtree quota less its lending
  limit, or nothing without one);
- *usage* of a ClusterQueue is what its admitted workloads hold; a cohort's usage is what
  its children use beyond their guaranteed quota;
- what a node may still use is what it keeps and does not use, plus what its parent has
  available, the latter capped by its borrowing limit (less what it already borrows); at the
  root, subtree quota less usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np

from schedlab.arrays import IntArray
from schedlab.kueue.objects import KueueConfig, ResourceGroup

NONE = -1  # no borrowing or lending limit


def units(resource: str, value: Decimal) -> int:
    """A quantity as Kueue counts it: milli-units for CPU, whole units (rounded up) otherwise."""
    scaled = value * 1000 if resource == "cpu" else value
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


@dataclass
class QuotaTree:
    """Cohorts and ClusterQueues of a configuration (``names``, ``parent`` index, -1 for a
    root; ``queue``: whether a ClusterQueue) over the (flavor, resource) pairs ``pairs``."""

    names: list[str]
    parent: IntArray
    queue: np.ndarray
    pairs: list[tuple[str, str]]
    nominal: IntArray
    borrowing: IntArray
    lending: IntArray
    subtree: IntArray
    usage: IntArray
    kept: IntArray  # per node and pair: its guaranteed quota (what it does not lend)

    @classmethod
    def build(cls, config: KueueConfig) -> QuotaTree:
        cohorts, queues = sorted(config.cohorts), sorted(config.cluster_queues)
        names = cohorts + queues
        at = {n: i for i, n in enumerate(names)}
        parents = [at[config.cohorts[c].parent] if config.cohorts[c].parent else -1 for c in cohorts]
        parents += [
            at[config.cluster_queues[q].cohort] if config.cluster_queues[q].cohort else -1 for q in queues
        ]
        groups: list[tuple[ResourceGroup, ...]] = [config.cohorts[c].groups for c in cohorts]
        groups += [config.cluster_queues[q].groups for q in queues]
        pairs = sorted({(f.flavor, r) for gs in groups for g in gs for f in g.flavors for r, _ in f.quotas})
        column = {p: k for k, p in enumerate(pairs)}
        shape = (len(names), len(pairs))
        nominal = np.zeros(shape, dtype=np.int64)
        borrowing, lending = np.full(shape, NONE, dtype=np.int64), np.full(shape, NONE, dtype=np.int64)
        for i, gs in enumerate(groups):
            for g in gs:
                for f in g.flavors:
                    for r, q in f.quotas:
                        k = column[(f.flavor, r)]
                        nominal[i, k] = units(r, q.nominal)
                        if q.borrowing_limit is not None:
                            borrowing[i, k] = units(r, q.borrowing_limit)
                        if q.lending_limit is not None:
                            lending[i, k] = units(r, q.lending_limit)
        tree = cls(
            names,
            np.array(parents, dtype=np.int64),
            np.array([False] * len(cohorts) + [True] * len(queues)),
            pairs,
            nominal,
            borrowing,
            lending,
            np.zeros(shape, dtype=np.int64),
            np.zeros(shape, dtype=np.int64),
            np.zeros(shape, dtype=np.int64),
        )
        tree._accumulate()
        return tree

    def __post_init__(self) -> None:
        self._at = {name: i for i, name in enumerate(self.names)}
        self._columns = {pair: k for k, pair in enumerate(self.pairs)}
        self._available: dict[tuple[int, int], int] = {}  # cleared whenever usage changes
        self._potential: dict[tuple[int, int], int] = {}  # does not depend on usage

    def index(self, name: str) -> int:
        return self._at[name]

    def column(self, flavor: str, resource: str) -> int:
        return self._columns[(flavor, resource)]

    def _accumulate(self) -> None:
        """Subtree and guaranteed quotas bottom-up (children before parents: deepest first)."""
        depth = np.zeros(len(self.names), dtype=np.int64)
        for i in range(len(self.names)):
            j = i
            while self.parent[j] >= 0:
                depth[i] += 1
                j = self.parent[j]
        self.subtree[:] = self.nominal
        for i in np.argsort(-depth, kind="stable").tolist():  # a node's subtree is final here
            lends = self.lending[i] >= 0
            self.kept[i] = np.where(lends, np.maximum(0, self.subtree[i] - self.lending[i]), 0)
            p = self.parent[i]
            if p >= 0:
                self.subtree[p] += self.subtree[i] - self.kept[i]

    def available(self, node: int, k: int) -> int:
        """How much of pair ``k`` ``node`` may still use (may be negative after over-admission)."""
        found = self._available.get((node, k))
        if found is None:
            found = self._available[(node, k)] = self._compute_available(node, k)
        return found

    def _compute_available(self, node: int, k: int) -> int:
        if self.parent[node] < 0:
            return int(self.subtree[node, k] - self.usage[node, k])
        from_parent = self.available(int(self.parent[node]), k)
        kept = int(self.kept[node, k])
        if self.borrowing[node, k] >= 0:
            stored = int(self.subtree[node, k]) - kept
            used = max(0, int(self.usage[node, k]) - kept)
            from_parent = min(stored - used + int(self.borrowing[node, k]), from_parent)
        return max(0, kept - int(self.usage[node, k])) + from_parent

    def potential(self, node: int, k: int) -> int:
        """The most of pair ``k`` ``node`` could use with nothing else in use."""
        found = self._potential.get((node, k))
        if found is None:
            found = self._potential[(node, k)] = self._compute_potential(node, k)
        return found

    def _compute_potential(self, node: int, k: int) -> int:
        if self.parent[node] < 0:
            return int(self.subtree[node, k])
        most = int(self.kept[node, k]) + self.potential(int(self.parent[node]), k)
        if self.borrowing[node, k] >= 0:
            most = min(int(self.subtree[node, k] + self.borrowing[node, k]), most)
        return most

    def set_usage(self, usage: IntArray) -> None:
        """Take ``usage`` (nodes x pairs) as the quota in use now."""
        self.usage[:] = usage
        self._available.clear()

    def add(self, node: int, k: int, amount: int) -> None:
        """Count ``amount`` of pair ``k`` as used by ``node``; beyond what it keeps, its parent
        counts it too."""
        self._available.clear()
        local = max(0, int(self.kept[node, k]) - int(self.usage[node, k]))
        self.usage[node, k] += amount
        if self.parent[node] >= 0 and amount > local:
            self.add(int(self.parent[node]), k, amount - local)

    def remove(self, node: int, k: int, amount: int) -> None:
        """Give ``amount`` of pair ``k`` back; what was stored in the parent goes first."""
        self._available.clear()
        stored = int(self.usage[node, k]) - int(self.kept[node, k])
        self.usage[node, k] -= amount
        if stored > 0 and self.parent[node] >= 0:
            self.remove(int(self.parent[node]), k, min(amount, stored))

    def borrowed(self, node: int, k: int) -> int:
        """How much of pair ``k`` ``node`` uses beyond its nominal quota (its subtree quota)."""
        return max(0, int(self.usage[node, k] - self.subtree[node, k]))
