"""The quota tree of a Kueue configuration: cohorts (with the nominal quota of their subtree),
ClusterQueues with their flavors' quotas and settings, and the LocalQueues that submit to them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from rich.text import Text
from rich.tree import Tree

from schedlab.kueue.objects import ClusterQueue, KueueConfig, Quota, ResourceGroup


def _text(line: str) -> Text:
    """A line as plain text (node labels hold brackets that are not rich markup)."""
    return Text(line)


def quantity(value: Decimal) -> str:
    """A quantity as an operator writes it: ``40``, ``500m``, ``256Gi``."""
    if value != value.to_integral_value():
        milli = value * 1000
        return f"{milli.normalize():f}m" if milli == milli.to_integral_value() else f"{value.normalize():f}"
    whole = int(value)
    for suffix, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{suffix}"
    return str(whole)


def _quota(name: str, quota: Quota) -> str:
    limits = []
    if quota.borrowing_limit is not None:
        limits.append(f"borrow <= {quantity(quota.borrowing_limit)}")
    if quota.lending_limit is not None:
        limits.append(f"lend <= {quantity(quota.lending_limit)}")
    return f"{name} {quantity(quota.nominal)}" + (f" ({', '.join(limits)})" if limits else "")


def _flavors(config: KueueConfig, groups: tuple[ResourceGroup, ...], node: Tree) -> None:
    for group in groups:
        for flavor in group.flavors:
            found = config.flavors.get(flavor.flavor)
            labels = ", ".join(f"{k}={v}" for k, v in found.node_labels) if found else "NOT DEFINED"
            quotas = ", ".join(_quota(n, q) for n, q in flavor.quotas)
            node.add(_text(f"flavor {flavor.flavor} [{labels or 'any node'}]: {quotas}"))


def _queue(config: KueueConfig, queue: ClusterQueue, node: Tree) -> None:
    p = queue.preemption
    rules = f"preemption within={p.within_cluster_queue} reclaim={p.reclaim_within_cohort}"
    settings = [queue.queueing, rules]
    if p.borrow_within_cohort != "Never":
        settings[-1] += f" borrow={p.borrow_within_cohort}"
        if p.max_priority_threshold is not None:
            settings[-1] += f" (priority <= {p.max_priority_threshold})"
    if queue.weight != 1:
        settings.append(f"weight {quantity(queue.weight)}")
    if queue.stop_policy != "None":
        settings.append(f"stopPolicy {queue.stop_policy}")
    branch = node.add(_text(f"ClusterQueue {queue.name}: {'; '.join(settings)}"))
    _flavors(config, queue.groups, branch)
    for key in sorted(k for k, q in config.local_queues.items() if q.cluster_queue == queue.name):
        branch.add(_text(f"LocalQueue {key}"))


def subtree_nominal(config: KueueConfig, cohort: str) -> dict[tuple[str, str], Decimal]:
    """The nominal quota per (flavor, resource) of ``cohort``'s subtree: its own, its child
    cohorts' and its ClusterQueues'."""
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    groups = list(config.cohorts[cohort].groups)
    children, queues = config.members(cohort)
    groups += [g for q in queues for g in config.cluster_queues[q].groups]
    for group in groups:
        for flavor in group.flavors:
            for name, quota in flavor.quotas:
                total[(flavor.flavor, name)] += quota.nominal
    for child in children:
        for key, value in subtree_nominal(config, child).items():
            total[key] += value
    return dict(total)


def _cohort(config: KueueConfig, name: str, node: Tree) -> None:
    cohort = config.cohorts[name]
    total = subtree_nominal(config, name)
    summary = ", ".join(f"{f} {r} {quantity(v)}" for (f, r), v in sorted(total.items())) or "no quota"
    extra = f"; weight {quantity(cohort.weight)}" if cohort.weight != 1 else ""
    branch = node.add(_text(f"cohort {name}: nominal in all {summary}{extra}"))
    if cohort.groups:
        own = branch.add(_text("its own quota"))
        _flavors(config, cohort.groups, own)
    children, queues = config.members(name)
    for child in children:
        _cohort(config, child, branch)
    for queue in queues:
        _queue(config, config.cluster_queues[queue], branch)


def quota_tree(config: KueueConfig) -> Tree:
    counts = [
        (len(config.flavors), "ResourceFlavors"),
        (len(config.cluster_queues), "ClusterQueues"),
        (len(config.cohorts), "cohorts"),
        (len(config.local_queues), "LocalQueues"),
        (len(config.priorities), "priority classes"),
    ]
    tree = Tree(_text("Kueue configuration: " + ", ".join(f"{n} {what}" for n, what in counts)))
    for root in config.roots():
        _cohort(config, root, tree)
    for name in sorted(q.name for q in config.cluster_queues.values() if not q.cohort):
        _queue(config, config.cluster_queues[name], tree)
    if config.priorities:
        ranked = sorted(config.priorities.values(), key=lambda p: (-p.value, p.name))
        tree.add(_text("priorities: " + ", ".join(f"{p.name} {p.value}" for p in ranked)))
    return tree


def as_json(config: KueueConfig) -> dict[str, Any]:
    """The configuration as plain data (quantities as strings), with its sources."""
    from dataclasses import asdict

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return quantity(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {
        "sources": [{"file": f, "sha256": digest} for f, digest in config.sources],
        "resource_flavors": [plain(asdict(v)) for _, v in sorted(config.flavors.items())],
        "cluster_queues": [plain(asdict(v)) for _, v in sorted(config.cluster_queues.items())],
        "cohorts": [plain(asdict(v)) for _, v in sorted(config.cohorts.items())],
        "local_queues": [plain(asdict(v)) for _, v in sorted(config.local_queues.items())],
        "priorities": [plain(asdict(v)) for _, v in sorted(config.priorities.items())],
    }
