"""Pre-submission what-if: would one more workload be admitted at a given moment of a trace,
with which flavors, or why would it pend, and when would it be admitted as the trace goes on.

The trace is replayed twice through the configuration (:func:`schedlab.kueue.admission.replay`),
with and without the workload submitted at that moment (after anything else submitted at
the same moment): its reason to pend at the end of that moment's scheduling cycles, the
workloads ahead of it in its ClusterQueue, when it is admitted and with which flavors, whom
it evicts, whether it is evicted later, and the trace's workloads it delays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.objects import KueueConfig


@dataclass(frozen=True)
class Explanation:
    """What becomes of a workload submitted at ``at``."""

    workload: Workload
    at: float
    admitted_at: float | None
    flavors: tuple[tuple[str, str], ...]
    pending_at: str | None  # why it pends at ``at`` (None: admitted at once)
    ahead: int  # workloads ahead of it in its ClusterQueue then
    evicts: tuple[tuple[int, str], ...]  # trace workloads it evicts, and Kueue's reason
    evicted: int  # how often it is evicted later
    pending_end: str | None  # why it still pends at the end (None: admitted)
    delayed: int  # trace workloads first admitted later than without it
    delay_s: float  # their extra waiting, in total

    def as_json(self) -> dict[str, Any]:
        w = self.workload
        return {
            "cluster_queue": w.queue,
            "priority": w.priority,
            "requests": w.requests,
            "at": self.at,
            "admitted_at": self.admitted_at,
            "wait_s": None if self.admitted_at is None else self.admitted_at - self.at,
            "flavors": {resource: flavor for resource, flavor in self.flavors},
            "pending_at": self.pending_at,
            "ahead": self.ahead,
            "evicts": [{"workload": i, "reason": reason} for i, reason in self.evicts],
            "evicted": self.evicted,
            "pending_at_end": self.pending_end,
            "delayed_workloads": self.delayed,
            "delay_s": self.delay_s,
        }


def explain(config: KueueConfig, trace: list[Workload], workload: Workload, at: float) -> Explanation:
    """What becomes of ``workload`` submitted at ``at`` beside ``trace``."""
    new = replace(workload, arrival=at)
    n = len(trace)
    base = replay(config, trace)
    out = replay(config, [*trace, new], watch=n)
    delayed, delay = 0, 0.0
    for before, after in zip(base.admitted, out.admitted[:n], strict=True):
        if before is not None and (after is None or after > before):
            delayed += 1
            delay += (after if after is not None else max(e for _, _, e, _ in out.runs)) - before
    return Explanation(
        new,
        at,
        out.admitted[n],
        out.flavors[n],
        out.watched,
        out.ahead,
        tuple((v, reason) for _, v, p, reason in out.evictions if p == n),
        sum(v == n for _, v, _, _ in out.evictions),
        out.pending.get(n),
        delayed,
        delay,
    )
