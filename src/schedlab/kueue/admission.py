"""Kueue's admission over time, quota only (Kueue's own view, no nodes): the reference the
compiled replay (:mod:`schedlab.kueue.compiled`) is checked against. Classic preemption,
and fair sharing when Kueue's Configuration enables it (:mod:`schedlab.kueue.fairness`).

At each moment, finished workloads give their quota back, arrivals join their ClusterQueue,
then scheduling cycles run until one admits nothing. A cycle takes each ClusterQueue's head
(highest priority, then earliest arrival, then input order), tries the heads that need no
borrowing first, then by priority and arrival (Kueue's entry order), and admits each whose
flavor assignment still fits. A head that does not fit: with ``StrictFIFO`` it stays head
and blocks its queue; with ``BestEffortFIFO`` it is set aside (inadmissible) until quota is
given back in its cohort tree, and the next workload becomes head.

Workloads of one ClusterQueue that ask for the same requests (a *shape*) fit or not alike,
and admissions only take quota: so a head set aside sets aside the later workloads of its
shape too, until quota comes back in a flavor and resource it lacked, and a queue's head is
the first workload of the shapes not set aside. That keeps a cycle's cost to the number of
shapes, not of workloads, however long the queue (Kueue sets them aside one cycle at a time
and retries all after any release, within the same instant: an order of admissions between
queues within one instant may differ).

A head that fits only by preemption (:mod:`schedlab.kueue.preemption`) evicts its targets
and is admitted at once (in Kueue, once the targets' pods are gone); an evicted workload
gives its quota back and goes back to its queue in its first place (priority, creation) at
the next moment something else happens (in Kueue, once its pods are gone), or at once when
nothing else is left to happen; it starts over when admitted again. Without targets a head
waits like one that does not fit, until quota comes back anywhere in its cohort tree.
Policies that keep evicting each other (``reclaimWithinCohort: Any`` against a queue that
borrows by ``borrowWithinCohort`` can) stop the replay with an error past
:data:`MAX_EVICTIONS` evictions per workload.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field

from schedlab.errors import ConfigError
from schedlab.kueue.assign import Assignment, Pending, Preempting, admit, release
from schedlab.kueue.fairness import share
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.outcome import Outcome, flapping
from schedlab.kueue.pending import count_waiting, reason, why
from schedlab.kueue.placement import Placements
from schedlab.kueue.preemption import may_preempt, targets
from schedlab.kueue.quota import QuotaTree
from schedlab.kueue.waiting import Assignments, WaitingQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workload:
    """A job as Kueue sees it: its ClusterQueue, priority, arrival, run time and requests
    (Kueue's units: CPU in milli-cores, the rest whole)."""

    queue: str
    priority: int
    arrival: float
    duration: float
    requests: dict[str, int] = field(hash=False)


#: Evictions per workload (on average) past which a replay stops: its preemption flaps.
MAX_EVICTIONS = 100

#: The waiting workloads are counted by reason at the first moment after each hundredth of
#: the arrivals' span (and on, at that step, until the last workload ends).
SAMPLES = 100
#: From this many workloads on the compiled path runs (below, loading it costs more than it saves).
AUTO_COMPILED = 5000


def replay(
    config: KueueConfig,
    workloads: list[Workload],
    watch: int | None = None,
    placements: Placements | None = None,
    compiled: bool | None = None,
) -> Outcome:
    """Admit ``workloads`` through ``config``'s quotas over time (quota only, or with
    ``placements`` quota plus placement: :mod:`schedlab.kueue.placement`). ``watch``: a
    workload whose reason to pend at the end of its arrival instant goes in ``watched``
    (with the number of workloads ahead of it in its queue, ``ahead``). ``compiled``: the
    compiled path (:mod:`schedlab.kueue.compiled`, same outcome) where it models the
    configuration; None: from :data:`AUTO_COMPILED` workloads on."""
    r = AdmissionReplay(config, workloads, watch, placements)
    if compiled is False or (compiled is None and len(workloads) < AUTO_COMPILED):
        return r.run()
    from schedlab.kueue import compiled as fast

    found = fast.why_not(r)
    if found:
        if compiled:
            log.warning("the compiled admission does not model %s: running the reference (slower)", found)
        return r.run()
    return fast.run(r)


class AdmissionReplay:
    def __init__(
        self, config: KueueConfig, workloads: list[Workload], watch: int | None, placements: Placements | None
    ) -> None:
        self.config, self.workloads, self.watch, self.placements = config, workloads, watch, placements
        #: shapes whose quota fits but whose pods found no room, by the flavors they tried
        self.unplaced: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[str, bool]] = {}
        self.tree = tree = QuotaTree.build(config)
        self.root = {name: _root(config, name) for name in config.cluster_queues}
        self.cohort = {q: [p for p in self.root if self.root[p] == r] for q, r in self.root.items()}
        self.preempts = {q for q in config.cluster_queues if may_preempt(config, q)}
        self.queues = {
            q: WaitingQueue(config.cluster_queues[q].queueing == "BestEffortFIFO")
            for q in config.cluster_queues
        }
        self.outcome = Outcome([None] * len(workloads), [()] * len(workloads), {})
        self.events: list[tuple[float, int, int, int]] = [
            (w.arrival, 1, i, 0) for i, w in enumerate(workloads)
        ]
        heapq.heapify(self.events)  # (time, 0 end / 1 arrival, workload, its admission count)
        self.running: dict[str, dict[int, tuple[float, Assignment]]] = {q: {} for q in config.cluster_queues}
        self.admissions = [0] * len(workloads)
        self.memo = Assignments(tree, config, workloads)
        self.evicted: list[int] = []  # back to their queues at the next moment
        arrivals = [w.arrival for w in workloads] or [0.0]
        span = max(arrivals) - min(arrivals)
        self.sample_at, self.step = min(arrivals), span / SAMPLES if span > 0 else float("inf")

    def run(self) -> Outcome:
        events, memo = self.events, self.memo
        now = 0.0
        while events or self.evicted:
            now = events[0][0] if events else now
            for i in self.evicted:
                self.enqueue(i)
            self.evicted.clear()
            while events and events[0][0] == now:
                _, kind, i, count = heapq.heappop(events)
                if kind == 0:
                    if count == self.admissions[i] and i in self.running[self.workloads[i].queue]:
                        self._stop(i, now)
                else:
                    self.enqueue(i)
            while True:
                changed, set_aside = self._cycle(now)
                if not changed and len(set_aside) == 1:
                    # Only that queue's head changes from one cycle to the next, and the quota
                    # does not: the cycles that follow set its heads aside until one fits. At once:
                    q = set_aside[0]
                    queue = self.queues[q]
                    while (order := queue.head()) is not None and isinstance(
                        found := memo.assign(order[2]), Pending | Preempting
                    ):
                        if isinstance(found, Preempting) and q in self.preempts:
                            break  # preemption may find targets: the next cycle tries
                        queue.set_aside(memo.keys[order[2]], why(found), q in self.preempts)
                if not changed and not set_aside:
                    break
            if now >= self.sample_at:
                count_waiting(self, now)
                self.sample_at = now + self.step
            w = self.watch
            if w is not None and now == self.workloads[w].arrival and self.outcome.admitted[w] is None:
                self.outcome.watched = reason(self, w)
                q = self.workloads[w].queue
                self.outcome.ahead = sum(o[2] != w for o in self.queues[q].entries() if o < self.order(w))
        return self.finish()

    def finish(self) -> Outcome:
        """The outcome, once every workload still waiting has its reason."""
        for queue in self.queues.values():
            for order in queue.entries():
                self.outcome.pending[order[2]] = reason(self, order[2])
        return self.outcome

    def order(self, i: int) -> tuple[int, float, int]:
        w = self.workloads[i]
        return (-w.priority, w.arrival, i)

    def enqueue(self, i: int) -> None:
        self.queues[self.workloads[i].queue].push(self.memo.keys[i], self.order(i))

    def _stop(self, i: int, now: float) -> None:
        """Workload ``i`` ends or is evicted: its quota comes back."""
        w = self.workloads[i]
        start, given = self.running[w.queue].pop(i)
        release(self.tree, w.queue, given, w.requests)
        if self.placements is not None:
            self.placements.release(i)
        self.outcome.runs.append((i, start, now, given.flavors))
        self.memo.version += 1
        freed = {(flavor, resource) for resource, flavor in given.flavors}
        # quota is back: set-aside workloads try again (with placement: room on nodes that
        # every queue's flavors may share)
        for q in self.cohort[w.queue] if self.placements is None else self.queues:
            self.queues[q].take_back(freed)

    def _admit(self, i: int, found: Assignment, now: float) -> None:
        w = self.workloads[i]
        self.queues[w.queue].pop(self.memo.keys[i])
        self.unplaced.pop(self.memo.keys[i], None)
        admit(self.tree, w.queue, found, w.requests)
        self.memo.taken(found)
        self.running[w.queue][i] = (now, found)
        self.admissions[i] += 1
        if self.outcome.admitted[i] is None:
            self.outcome.admitted[i] = now
        self.outcome.flavors[i] = found.flavors
        heapq.heappush(self.events, (now + w.duration, 0, i, self.admissions[i]))

    def _placed(self, q: str, i: int, found: Assignment) -> bool:
        """With placement: place ``i``'s pods on its flavors' nodes, or set its shape aside
        (best effort: until a workload on those flavors ends). Quota only: True."""
        if self.placements is None or self.placements.place(i, found.flavors):
            return True
        key = self.memo.keys[i]
        names = ", ".join(sorted({f for _, f in found.flavors}))
        self.unplaced[key] = (names, self.placements.ever(i, found.flavors))
        if self.queues[q].best_effort:
            self.queues[q].wait_for(key, {(f, r) for r, f in found.flavors})
        return False

    def _cycle(self, now: float) -> tuple[bool, list[str]]:
        """One scheduling cycle: whether it admitted or evicted anything, and the queues
        whose head it set aside (another cycle follows after either)."""
        memo, heads = self.memo, []
        for q, queue in self.queues.items():
            order = queue.head()
            if order is not None:
                found = memo.assign(order[2])
                fair = 0  # with fair sharing: the queue's share with the head admitted
                if self.config.fair_sharing is not None and not isinstance(found, Pending):
                    w = self.workloads[order[2]]
                    extra = {self.tree.column(f, r): w.requests[r] for r, f in found.flavors}
                    fair = share(self.tree, self.config, q, extra)
                heads.append((not isinstance(found, Pending) and found.borrows, fair, order, q))
        changed, set_aside = False, []
        for _, _, order, q in sorted(heads):
            i = order[2]
            found = memo.assign(i)  # assigned again when an admission before it took quota
            if isinstance(found, Preempting) and q in self.preempts:
                chosen = targets(
                    self.tree, self.config, self.workloads, i, found, self.running, self.cohort[q]
                )
                victims = [v for v, _ in chosen]
                if (
                    chosen
                    and self.placements
                    and not self.placements.place_without(i, found.flavors, victims)
                ):
                    chosen = []  # with placement: evict only if its pods then fit
                for v, reason in chosen:
                    self._stop(v, now)
                    self.outcome.evictions.append((now, v, i, reason))
                    self.evicted.append(v)
                if len(self.outcome.evictions) > MAX_EVICTIONS * len(self.workloads):
                    raise ConfigError(flapping(self.outcome, self.workloads, now))
                if chosen:
                    changed = True
                    found = memo.assign(i)
            if isinstance(found, Assignment) and not self._placed(q, i, found):
                if self.queues[q].best_effort:
                    set_aside.append(q)
                continue
            if isinstance(found, Assignment):
                self._admit(i, found, now)
                changed = True
            elif self.queues[q].best_effort:
                self.queues[q].set_aside(memo.keys[i], why(found), q in self.preempts)
                set_aside.append(q)
        return changed, set_aside


def _root(config: KueueConfig, queue: str) -> str:
    """The root of ``queue``'s cohort tree (the queue itself without a cohort)."""
    name = config.cluster_queues[queue].cohort
    if not name:
        return queue
    while config.cohorts[name].parent:
        name = config.cohorts[name].parent
    return name
