"""The event-driven replay, pure Python: the reference that the compiled path must equal.

The engine (:mod:`schedlab.engine`) is a clock and an event heap; this module plugs the
model (:mod:`schedlab.sim.model`) into it: arrivals, departures and fragmentation samples
are events; the admission policy decides what to try when; the placer picks nodes; the
preemption and victim policies decide evictions (:mod:`schedlab.eviction.search`);
the recorder keeps what happened. The rules are in ``docs/replay.md``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedlab.engine import Simulator
from schedlab.eviction.evictable import Evictable
from schedlab.scheduler import Placement, Placer, PolicyError
from schedlab.sim.defrag import DEFRAG, Descheduler
from schedlab.sim.exclusions import excluded_nodes
from schedlab.sim.gangs import place_gang
from schedlab.sim.model import ReplayModel
from schedlab.sim.nodes import Outages
from schedlab.sim.preempting import evict, preempt_for, requeue
from schedlab.sim.progress import progress_rates
from schedlab.sim.recorder import Recorder
from schedlab.sim.reservation import StarvationGuard
from schedlab.sim.reslice import Reslicer
from schedlab.sim.result import DONE, REJECTED, RUNNING, WAITING, TaskOutcome
from schedlab.sim.spread import Spread
from schedlab.sim.waiting import Item, WaitingQueue

DEPART, ARRIVE, SAMPLE, NODE = 0, 1, 2, 3  # event priorities at equal times (then DEFRAG)
assert DEFRAG > NODE
PROGRESS_EVERY = 4096  # arrivals between progress reports


class Replay:
    """One simulation of a model; call :meth:`run` once. Implements the admission
    policies' :class:`~schedlab.sim.admission.Actions`."""

    def __init__(self, model: ReplayModel, progress: Callable[[int, int, float], None] | None = None) -> None:
        self.model = m = model
        self.progress = progress
        self.placer = Placer(m.cluster, m.policy, m.node_order)
        users = m.workload.user if m.queue.by_user else None
        self.guard = StarvationGuard.of(m)
        guarded = None if self.guard is None else self.guard.since
        self.queue = WaitingQueue(m.cluster, m.shape_of, m.shapes, users, guarded, m.queue.tier)
        self.evictable = Evictable(m.cluster, m.shapes, len(m.workload)) if m.preempts else None
        self.preemptible = m.preemptible.copy()
        self.recorder = Recorder(m.cluster, m.frag, m.node_units)
        self.sim = Simulator()
        n = len(m.workload)
        self.out = TaskOutcome.before_start(n)
        self.attempt = np.zeros(n, dtype=np.int64)
        self.placement: list[Placement | None] = [None] * n
        self.gpus: list[tuple[int, ...]] = [()] * n
        self.running = 0
        self.lost_gpu_s = 0.0
        self._sample_dt = 0.0
        self.epoch = np.zeros(n, dtype=np.int64)  # bumped when a departure is rescheduled
        self.spread = Spread(m.workload.user, m.workload.max_per_node)
        self.outages = Outages(m.node_events, m.cluster)
        self.has_gangs = m.workload.has_gangs
        #: With progress rates, a gang member whose work is done waits (holding its GPUs)
        #: until every member's is: per task whether it is done, per leader how many are.
        self.finished = np.zeros(n, dtype=bool)
        self.done = np.zeros(n, dtype=np.int64)
        self.rates, colocation = progress_rates(m, self._reschedule)
        #: Defragmentation: the work each task kept from runs it was moved off.
        self.defrag = Descheduler(self, m.defrag) if m.defrag is not None else None
        self.kept = np.zeros(n if self.defrag is not None else 0)
        if colocation is not None:
            self.colocation = self.placer.view.colocation = colocation
        self.reslicer = Reslicer(self, m.reslicing) if m.reslicing is not None else None

    def run(self) -> TaskOutcome:
        arrival = self.model.workload.arrival
        if len(arrival):
            self.sim.schedule(float(arrival[0]), self._arrive, 0, ARRIVE)
            horizon = float(arrival[-1])
            self._sample_dt = horizon / self.model.config.samples if horizon > 0 else 0.0
            self.sim.schedule(float(arrival[0]), self._sample, 0, SAMPLE)
        for i, event in enumerate(self.model.node_events):
            self.sim.schedule(event.time, self._node_event, i, NODE)
        if self.reslicer is not None:
            self.reslicer.begin()
        self.outages.begin(float(arrival[0]) if len(arrival) else 0.0, log=self.reslicer is not None)
        self.sim.run()
        self.recorder.sample(self.sim.now)
        return self.out

    # ----- events -------------------------------------------------------------------------

    def _arrive(self, t: int) -> None:
        arrival = self.model.workload.arrival
        if t + 1 < len(arrival):
            self.sim.schedule(float(arrival[t + 1]), self._arrive, t + 1, ARRIVE)
        if self.progress is not None and t % PROGRESS_EVERY == 0:
            self.progress(t + 1, len(arrival), self.sim.now)
        m = self.model
        if m.leader[t] != t:
            return  # a gang member: its leader arrived at the same instant, for the whole gang
        members = self._members(t)
        if not (m.schedulable[m.shape_of[t]] and m.gang_fits[t]):
            self.out.status[members] = REJECTED
            return
        self.out.status[members] = WAITING
        if self.guard is not None:  # tasks that waited too long go first
            self.guard.update(self.queue, self.sim.now)
        m.admission.arrive(t, self)
        self._record()

    def _depart(self, payload: tuple[int, int, int]) -> None:
        t, attempt, epoch = payload
        if attempt != self.attempt[t] or epoch != self.epoch[t]:
            return  # evicted or slowed down since: this departure was cancelled
        if self.guard is not None:  # tasks that waited too long go first when room is freed
            self.guard.update(self.queue, self.sim.now)
        if self.rates is not None and self.model.gang_size[t] > 1:  # one member's work is done
            if self.finished[t]:
                return
            self.finished[t] = True
            t = int(self.model.leader[t])
            self.done[t] += 1
            if self.done[t] < self.model.gang_size[t]:
                return  # the gang leaves when its last member is done
        nodes = []
        for u in self._members(t):  # a gang ends together: all its tasks leave now
            nodes.append(self._stop(u))
            self.out.status[u] = DONE
            self.out.end[u] = self.sim.now
            self.model.queue.observe(u, self.sim.now - self.out.start[u])
        for node in dict.fromkeys(nodes):
            self.model.admission.freed(node, self)
        self._record()

    def _node_event(self, i: int) -> None:
        if self.guard is not None:
            self.guard.update(self.queue, self.sim.now)
        event = self.model.node_events[i]
        keep_down = self.reslicer.node_event(event.node, event.kind) if self.reslicer is not None else False
        freed = lambda node: self.model.admission.freed(node, self)  # noqa: E731
        self.outages.apply(i, self.sim.now, self._fail, freed, keep_down)
        self._record()

    def _fail(self, node: int) -> tuple[int, float]:
        """``node`` failed: its running tasks (whole gangs) restart elsewhere; how many, and
        the GPU-seconds lost."""
        running = np.flatnonzero((self.out.status == RUNNING) & (self.out.node == node))
        victims, freed, lost = evict(self, running.tolist())
        requeue(self, victims, [n for n in freed if n != node])  # a gang's members elsewhere
        return len(victims), lost

    def _sample(self, i: int) -> None:
        """Sample ``samples`` times over the arrival span, then ``samples`` times over what is
        left to run (as scheduled when the last arrival is sampled); at most 3 x ``samples``."""
        self.recorder.sample(self.sim.now)
        samples = self.model.config.samples
        if i == samples and self.sim.pending:
            self._sample_dt = max(self._sample_dt, (self.sim.latest() - self.sim.now) / samples)
        following = self.sim.now + self._sample_dt
        if self.sim.pending and i < 3 * samples and following > self.sim.now:
            self.sim.schedule(following, self._sample, i + 1, SAMPLE)

    def _record(self) -> None:
        self.recorder.state(self.sim.now, self.queue.size, self.running)
        if self.defrag is not None:
            self.defrag.arm()
        if self.reslicer is not None:
            self.reslicer.arm()

    # ----- actions (for the admission policy) ---------------------------------------------------

    def start(self, t: int) -> bool:
        return self._start(t, None)

    def _start(self, t: int, excluded: np.ndarray | None) -> bool:
        """Start ``t`` (its gang) if it fits; ``excluded``, when given, stands for the nodes
        it may not take (a preemptor keeps those it was kept from before its evictions)."""
        m = self.model
        s = int(m.shape_of[t])
        if self.rates is not None:
            self.colocation.current = t
        try:
            if m.gang_size[t] > 1:
                placements = place_gang(self.placer, m.table.shapes[s], int(m.gang_size[t]))
            else:
                placement = self.placer.place(
                    m.table.shapes[s], excluded_nodes(self, t, s) if excluded is None else excluded
                )
                placements = None if placement is None else [placement]
        except PolicyError as err:
            raise PolicyError(f"task {m.workload.tasks.name[t]}: {err}") from None
        if placements is None:
            return False
        ends = [self._run(t + k, s, placement) for k, placement in enumerate(placements)]
        if self.rates is None:  # a gang leaves when its slowest task is done
            self.ends_at(t, max(ends))
        if self.guard is not None:
            for k, placement in enumerate(placements):
                self.guard.started(t + k, placement.node, placement.gpus, max(ends))
        return True

    def ends_at(self, t: int, end: float) -> None:
        """Schedule the departure of ``t``'s current run at ``end``."""
        self.sim.schedule(end, self._depart, (t, int(self.attempt[t]), 0), DEPART)

    def _run(self, t: int, s: int, placement: Placement) -> float:
        """Task ``t`` runs from now on ``placement``; its end time at its node's speed."""
        m, out, now = self.model, self.out, self.sim.now
        node = placement.node
        self.placement[t] = placement
        self.gpus[t] = placement.gpus
        out.status[t] = RUNNING
        out.start[t] = now
        out.node[t] = node
        out.gpu_mask[t] = placement.gpu_mask
        if self.rates is not None:
            self.rates.start(t, node, placement.gpus, float(m.workload.duration[t]), m.speed(s, node), now)
        if self.guard is not None and self.guard.spared(t, now):
            self.preemptible[t] = False  # the guard spares it from eviction from now on
        if self.evictable is not None and self.preemptible[t]:
            self.evictable.add(t, s, node, placement.gpus)
        self.running += 1
        self.spread.add(t, node, +1)
        self._held(t, m.queue.started)
        work = float(m.workload.duration[t])
        if self.defrag is not None:
            work -= float(self.kept[t])
        return now + work / m.speed(s, node)

    def _held(self, t: int, change: Callable[[int], None]) -> None:
        """Tell the queue policy that ``t`` started or stopped; with per-user keys, take the
        keys of its user's other waiting tasks again."""
        policy = self.model.queue
        change(t)
        if policy.by_user:  # the gang's leader (t itself when alone) may sit in the queue still
            self.queue.rekey(str(self.model.workload.user[t]), policy.key, skip=int(self.model.leader[t]))

    def gang_size(self, t: int) -> int:
        return int(self.model.gang_size[t])

    def _members(self, t: int) -> np.ndarray:
        """The tasks of ``t``'s gang (``t`` alone when it is in none)."""
        first = int(self.model.leader[t])
        return np.arange(first, first + int(self.model.gang_size[first]))

    def enqueue(self, t: int) -> None:
        self.queue.push((self.model.queue.key(t), t))
        self.out.status[t] = WAITING

    def requeue(self, item: Item) -> None:
        self.queue.push(item)

    def preempt_for(self, t: int) -> bool:
        return preempt_for(self, t)

    def _reschedule(self, t: int, end: float) -> None:
        """A new departure time for running task ``t`` (its earlier one is cancelled)."""
        self.epoch[t] += 1
        self.sim.schedule(end, self._depart, (t, int(self.attempt[t]), int(self.epoch[t])), DEPART)

    def _stop(self, t: int) -> int:
        placement = self.placement[t]
        assert placement is not None
        m = self.model
        s = int(m.shape_of[t])
        self.placer.release(m.table.shapes[s], placement)
        self.placement[t] = None
        now = self.sim.now
        if self.rates is not None:
            self.rates.stop(t, placement.node, placement.gpus, now)
        start = float(self.out.start[t])
        self.out.ran[t] += now - start
        self.recorder.attempt(t, placement.node, placement.gpu_mask, start, now, int(self.attempt[t]))
        if self.evictable is not None and self.preemptible[t]:
            self.evictable.remove(t, s, placement.node, placement.gpus)
        self.running -= 1
        self.spread.add(t, placement.node, -1)
        if self.guard is not None:
            self.guard.stopped(t, placement.node, now - start)
        self._held(t, m.queue.stopped)
        return placement.node
