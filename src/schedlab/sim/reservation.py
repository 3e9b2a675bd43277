"""A starvation guard for backfill (``replay --reserve-after SECONDS``): reservations.

Every waiting task (alone, not a gang) that has waited ``after`` seconds goes ahead of the
queue's order within its tier (:meth:`~schedlab.sim.waiting.WaitingQueue.starving`), and the
:data:`MAX_RESERVATIONS` that waited longest hold a reservation: in that order, each takes
the node, among those not reserved yet, where it could start the earliest as the
running tasks end (their end times are known to the simulator: exact run-time estimates);
that start time is its *shadow time*. Any other task may start on a reserved node only if it
ends by that node's shadow time.

A node's earliest start depends only on the node's state: :data:`NOW` where the task fits
now (such nodes come first, then by the node order), else the end time of the running task
whose departure makes it fit, else infinity; the shadow time of a node held at :data:`NOW`
is the current time. So each node's value is recomputed only when the node changes, only on
the nodes that could ever host the task, and whenever it is recomputed it is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from schedlab.cluster.feasibility import nodes_fitting
from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.sim.model import ReplayModel
from schedlab.sim.waiting import WaitingQueue
from schedlab.trace.tables import GPU_MILLI, FloatArray, IntArray

#: At most this many of the tasks that waited longest hold a reservation at once.
MAX_RESERVATIONS = 8
#: The earliest start on a node where the task fits now: before any time.
NOW = -math.inf


class Reservation:
    """The reservations of the starving tasks, and what they need: running tasks by node."""

    def __init__(
        self, cluster: ClusterState, shapes: tuple[Shape, ...], shape_of: IntArray, rank: IntArray
    ) -> None:
        self.cluster, self.shapes, self.shape_of, self.rank = cluster, shapes, shape_of, rank
        self.on_node: dict[int, dict[int, tuple[float, tuple[int, ...]]]] = {}
        #: Per shape: the nodes that could ever host it (empty), and each node's index among them.
        self.could: dict[int, tuple[IntArray, IntArray]] = {}
        #: Per starving task: its earliest start on each node that could host it.
        self.earliest: dict[int, FloatArray] = {}
        self.position = 0  # the cluster's change log when ``earliest`` was last brought up to date
        self.held: dict[int, tuple[int, float]] = {}  # reserved node: (task, shadow time)
        self.tasks: list[int] = []

    def started(self, t: int, node: int, gpus: tuple[int, ...], end: float) -> None:
        self.on_node.setdefault(node, {})[t] = (end, gpus)

    def stopped(self, t: int, node: int) -> None:
        self.on_node.get(node, {}).pop(t, None)

    def update(self, starving: list[int]) -> None:
        """Reserve a node for each of ``starving`` (longest wait first), bringing their
        estimates up to date."""
        changes = len(self.cluster.changes)
        if starving == self.tasks and changes == self.position:
            return
        dirty = self.cluster.changed_since(self.position)
        self.position = changes
        self.earliest = {t: e for t, e in self.earliest.items() if t in starving}
        for t in starving:
            s = int(self.shape_of[t])
            nodes, index = self._could(s)
            known = self.earliest.get(t)
            if known is None:
                self.earliest[t] = np.array([self._earliest(s, n) for n in nodes.tolist()])
                continue
            for i in index[dirty].tolist():
                if i >= 0:
                    known[i] = self._earliest(s, int(nodes[i]))
        self.tasks = list(starving)
        self.held = {}
        for t in starving:
            nodes, index = self._could(int(self.shape_of[t]))
            free = self.earliest[t].copy()
            taken = index[list(self.held)]
            free[taken[taken >= 0]] = math.inf
            if not len(free) or (least := float(free.min())) == math.inf:
                continue
            best = nodes[free == least]
            self.held[int(best[np.argmin(self.rank[best])])] = (t, least)  # ties: the node order

    def _could(self, s: int) -> tuple[IntArray, IntArray]:
        """The nodes that could host shape ``s`` when empty, and each node's index among them
        (-1 for the others)."""
        found = self.could.get(s)
        if found is None:
            nodes = self.cluster.nodes
            empty = (np.arange(self.cluster.width)[None, :] < nodes.num_gpu[:, None]) * GPU_MILLI
            fits = nodes_fitting(nodes.cpu_milli, nodes.memory_mib, empty, self.cluster.model, self.shapes[s])
            could = np.flatnonzero(fits)
            index = np.full(len(self.cluster), -1, dtype=np.int64)
            index[could] = np.arange(len(could))
            found = self.could[s] = (could, index)
        return found

    def _earliest(self, s: int, node: int) -> float:
        """When shape ``s`` fits ``node`` if its running tasks leave at their end times:
        :data:`NOW` if it fits now, infinity if never (or the node is out of service)."""
        c, shape = self.cluster, self.shapes[s]
        if not c.up[node]:
            return math.inf
        cpu, mem = np.array([c.cpu_left[node]]), np.array([c.mem_left[node]])
        gpu, model = c.gpu_free[node : node + 1].copy(), c.model[node : node + 1]
        if nodes_fitting(cpu, mem, gpu, model, shape)[0]:
            return NOW
        running = sorted(self.on_node.get(node, {}).items(), key=lambda item: item[1][0])
        for t, (end, gpus) in running:
            held = self.shapes[int(self.shape_of[t])]
            cpu += held.cpu
            mem += held.mem
            if gpus:
                gpu[0, list(gpus)] += held.gpu_milli
            if nodes_fitting(cpu, mem, gpu, model, shape)[0]:
                return end
        return math.inf


class StarvationGuard:
    """The guard as the replay uses it: which waiting tasks starve, the nodes their
    reservations keep from others, and which running tasks eviction spares.

    A task's wait counts only the time it waited: ``since`` is when its wait began if it
    had never run (its arrival plus the time it ran before evictions); infinite for a gang's
    tasks, which the guard leaves alone (a gang at the head holds the queue anyway).
    """

    def __init__(self, after: float, since: FloatArray, reservation: Reservation, spare: bool = True) -> None:
        self.after = after
        self.spare = spare  # whether eviction spares the tasks that starved
        self.since = since
        self.reservation = reservation

    @classmethod
    def of(cls, m: ReplayModel) -> StarvationGuard | None:
        """The guard of a replay (None without ``reserve_after``)."""
        after = m.config.reserve_after
        if after is None:
            return None
        since = np.where(m.gang_size == 1, m.workload.arrival, np.inf)
        reservation = Reservation(m.cluster, m.table.shapes, m.shape_of, m.rank)
        return cls(after, since, reservation, spare=not m.config.evict_starved)

    def update(self, queue: WaitingQueue, now: float) -> None:
        """Put the tasks that waited ``after`` seconds first and bring their reservations up
        to date."""
        self.reservation.update(queue.starving(now - self.after, MAX_RESERVATIONS))

    def reserved(
        self,
        t: int,
        queue: WaitingQueue,
        key: Callable[[int], tuple[float, ...]],
        now: float,
        end_on: Callable[[int], float],
    ) -> list[int]:
        """The nodes reserved for others where ``t`` would not end (``end_on(node)``, if it
        started ``now``) by their shadow time. A node held by a task of ``t``'s shape that
        comes after ``t`` in the queue's order (``key``: the queue policy's) is open to ``t``:
        the queue tries only the first task of each shape, and ``t`` would go first anyway
        (the holder then takes another node)."""
        r = self.reservation
        shape, mine = int(r.shape_of[t]), queue.item_of(t, key)
        return [
            node
            for node, (holder, shadow) in r.held.items()
            if holder != t
            and not (int(r.shape_of[holder]) == shape and mine < queue.item_of(holder, key))
            and end_on(node) > max(shadow, now)
        ]

    def spared(self, t: int, now: float) -> bool:
        """Whether eviction spares ``t``, starting now: it has waited ``after`` seconds (unless
        the guard leaves that to the preemption policy)."""
        return self.spare and now - float(self.since[t]) >= self.after

    def started(self, t: int, node: int, gpus: tuple[int, ...], end: float) -> None:
        self.reservation.started(t, node, gpus, end)

    def stopped(self, t: int, node: int, ran: float) -> None:
        """``t`` stopped on ``node`` after running ``ran`` seconds (its wait resumes)."""
        self.reservation.stopped(t, node)
        self.since[t] += ran
