"""What an admission replay (:mod:`schedlab.kueue.admission`) gives back: per workload when
it was admitted and its flavors, every run and eviction, why the workloads still waiting
wait, and the reasons counted over time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schedlab.kueue.admission import Workload

#: One admission of a workload: (workload, admitted at, ended or evicted at, flavors).
Run = tuple[int, float, float, tuple[tuple[str, str], ...]]
#: One eviction: (time, workload evicted, preemptor, Kueue's reason).
Eviction = tuple[float, int, int, str]


@dataclass
class Outcome:
    """Per workload: when it was first admitted (None: never) and its last flavors; every
    admission's run, every eviction, and why each workload still waiting at the end waits."""

    admitted: list[float | None]
    flavors: list[tuple[tuple[str, str], ...]]
    pending: dict[int, str]
    runs: list[Run] = field(default_factory=list)
    evictions: list[Eviction] = field(default_factory=list)
    watched: str | None = None
    ahead: int = 0
    #: per sampled moment: (time, {ClusterQueue: {reason kind: waiting workloads}})
    waiting: list[tuple[float, dict[str, dict[str, int]]]] = field(default_factory=list)


def flapping(outcome: Outcome, workloads: list[Workload], now: float) -> str:
    """Why a replay stops: its preemptions do not settle, and the ClusterQueues that
    evicted each other most."""
    pairs = Counter((workloads[p].queue, workloads[v].queue) for _, v, p, _ in outcome.evictions[-1000:])
    most = ", ".join(f"{a} evicting {b}: {n}" for (a, b), n in pairs.most_common(3))
    return (
        f"preemption does not settle: {len(outcome.evictions)} evictions by t = {now:g} s ({most}):"
        " queues keep evicting each other (e.g. reclaimWithinCohort: Any against a queue that"
        " borrows by borrowWithinCohort)"
    )
