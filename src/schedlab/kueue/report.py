"""What an operator reads of a Kueue replay: per ClusterQueue and LocalQueue the admission
wait (to the first admission), the quota used over time (each flavor and resource, against
the queue's nominal quota) and what it borrowed, preemptions by reason with the time they
cost, why the workloads still pending at the end pend, and how many wait for which reason
over the run (counted every hundredth of the arrivals' span, until the last end)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.outcome import Outcome
from schedlab.kueue.quota import QuotaTree
from schedlab.kueue.workloads import Workloads


def summary(config: KueueConfig, found: Workloads, outcome: Outcome) -> dict[str, Any]:
    """Per ClusterQueue and per LocalQueue: workloads, admitted, pending, wait statistics;
    per ClusterQueue also time-weighted usage and borrowing; overall counts and span."""
    items = found.items
    admitted = np.array([math.nan if a is None else a for a in outcome.admitted], dtype=np.float64)
    arrival = np.array([w.arrival for w in items], dtype=np.float64)
    wait = admitted - arrival
    ends = np.array([end for _, _, end, _ in outcome.runs], dtype=np.float64)
    span_end = float(np.max(np.r_[ends, arrival])) if len(items) else 0.0
    span = (float(arrival.min()) if len(items) else 0.0, span_end)
    queues: dict[str, Any] = {}
    tree = QuotaTree.build(config)
    cluster_queue = np.array([w.queue for w in items], dtype=object)
    steps = _changes(found, outcome)
    evicted = _evicted(found, outcome)
    for name in sorted(config.cluster_queues):
        queues[name] = (
            _waits(wait[cluster_queue == name])
            | {"usage": _usage(tree, name, steps, span)}
            | evicted.get(name, {"evicted": {}, "lost_s": 0.0})
        )
    locals_: dict[str, Any] = {}
    local_queue = np.array(found.local_queue, dtype=object)
    for name in sorted(set(found.local_queue)):
        rows = local_queue == name
        locals_[name] = _waits(wait[rows]) | {"cluster_queue": config.local_queues[name].cluster_queue}
    reasons = Counter(_kind(text) for text in outcome.pending.values())
    return {
        "workloads": len(items),
        "admitted": int(np.isfinite(admitted).sum()),
        "pending": len(items) - int(np.isfinite(admitted).sum()),
        "unmanaged_tasks": found.unmanaged,
        "resources": list(found.resources),
        "span_s": span[1] - span[0],
        "wait_s": _waits(wait)["wait_s"],
        "cluster_queues": queues,
        "local_queues": locals_,
        "pending_reasons": dict(sorted(reasons.items())),
        "preemptions": dict(sorted(Counter(reason for _, _, _, reason in outcome.evictions).items())),
        "waiting_over_time": _waiting(outcome, sorted(config.cluster_queues)),
    }


def _waiting(outcome: Outcome, queues: list[str]) -> dict[str, Any]:
    """The waiting workloads by reason at the sampled moments, per ClusterQueue, and their
    mean weighted by the time to the next moment."""
    times = [t for t, _ in outcome.waiting]
    held = np.diff(np.array(times + times[-1:], dtype=np.float64)) if times else np.zeros(0)
    kinds = sorted({k for _, counts in outcome.waiting for c in counts.values() for k in c})
    series = {
        q: {k: [counts.get(q, {}).get(k, 0) for _, counts in outcome.waiting] for k in kinds} for q in queues
    }
    total = float(held.sum())
    means = {
        q: {k: float(np.dot(v, held) / total) if total > 0 else 0.0 for k, v in s.items()}
        for q, s in series.items()
    }
    return {"times": times, "cluster_queues": series, "mean": means}


def _evicted(found: Workloads, outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Per ClusterQueue: its workloads evicted, by Kueue's reason, and the time they had run
    (lost: they start over)."""
    since = {(i, end): start for i, start, end, _ in outcome.runs}
    result: dict[str, dict[str, Any]] = {}
    for time, victim, _, reason in outcome.evictions:
        part = result.setdefault(found.items[victim].queue, {"evicted": Counter(), "lost_s": 0.0})
        part["evicted"][reason] += 1
        part["lost_s"] += time - since[(victim, time)]
    return {
        q: {"evicted": dict(sorted(p["evicted"].items())), "lost_s": p["lost_s"]} for q, p in result.items()
    }


def _waits(wait: np.ndarray) -> dict[str, Any]:
    done = wait[np.isfinite(wait)]
    stats: dict[str, float | None] = {"mean": None, "p50": None, "p99": None, "max": None}
    if len(done):
        p50, p99 = np.percentile(done, [50, 99])
        stats = {"mean": float(done.mean()), "p50": float(p50), "p99": float(p99), "max": float(done.max())}
    return {"workloads": len(wait), "admitted": len(done), "pending": len(wait) - len(done), "wait_s": stats}


def _changes(found: Workloads, outcome: Outcome) -> dict[tuple[str, str, str], list[tuple[float, int]]]:
    """Per ClusterQueue, flavor and resource: the (time, amount) of every admission (+) and
    end or eviction (-) of its workloads."""
    changes: dict[tuple[str, str, str], list[tuple[float, int]]] = defaultdict(list)
    for i, start, end, flavors in outcome.runs:
        w = found.items[i]
        for resource, flavor in flavors:
            amount = w.requests.get(resource, 0)
            changes[(w.queue, flavor, resource)] += [(start, amount), (end, -amount)]
    return changes


def _usage(
    tree: QuotaTree,
    queue: str,
    steps: dict[tuple[str, str, str], list[tuple[float, int]]],
    span: tuple[float, float],
) -> dict[str, Any]:
    """Per ``flavor/resource`` the queue holds quota in: nominal quota, time-weighted mean
    and peak usage, and time-weighted mean borrowed (usage above nominal)."""
    node = tree.index(queue)
    length = max(span[1] - span[0], 1e-12)
    result = {}
    for k, (flavor, resource) in enumerate(tree.pairs):
        nominal = int(tree.nominal[node, k])
        changes = sorted(steps.get((queue, flavor, resource), []))
        if not nominal and not changes:
            continue
        times = np.array([t for t, _ in changes] + [span[1]])
        level = np.cumsum([a for _, a in changes]) if changes else np.zeros(0)
        held = np.diff(times) if len(changes) else np.zeros(0)
        mean = float((level * held).sum() / length) if len(changes) else 0.0
        borrowed = float((np.maximum(level - nominal, 0) * held).sum() / length) if len(changes) else 0.0
        result[f"{flavor}/{resource}"] = {
            "nominal": nominal,
            "mean": mean,
            "peak": int(level.max()) if len(level) else 0,
            "mean_frac_of_nominal": mean / nominal if nominal else None,
            "borrowed_mean": borrowed,
        }
    return result


def _kind(reason: str) -> str:
    """A pending reason's kind: blocked by its queue's head, short of quota now (in some
    flavor), or asking more than the queue can ever have."""
    if reason.startswith("blocked"):
        return "blocked by its queue's head (StrictFIFO)"
    if "insufficient quota" in reason:
        return "insufficient quota now"
    if reason.startswith("quota fits"):
        return "no room on its flavors' nodes " + ("now" if reason.endswith("now") else "even when empty")
    return "more than the queue can ever use"


def usage_series(
    config: KueueConfig, found: Workloads, outcome: Outcome
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, int]]]:
    """Per resource, per ClusterQueue: the times its usage (all flavors together) changes,
    the usage from each of them on, and its nominal quota (all flavors together)."""
    tree = QuotaTree.build(config)
    changes: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for (queue, _, resource), steps in _changes(found, outcome).items():  # flavors together
        changes[(resource, queue)] += steps
    result: dict[str, dict[str, tuple[np.ndarray, np.ndarray, int]]] = defaultdict(dict)
    for queue in sorted(config.cluster_queues):
        node = tree.index(queue)
        for resource in found.resources:
            nominal = sum(int(tree.nominal[node, k]) for k, (_, r) in enumerate(tree.pairs) if r == resource)
            steps = sorted(changes.get((resource, queue), []))
            times = np.array([0.0] + [t for t, _ in steps])
            levels = np.cumsum([0] + [a for _, a in steps])
            result[resource][queue] = (times, levels, nominal)
    return dict(result)
