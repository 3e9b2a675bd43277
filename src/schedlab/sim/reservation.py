"""A starvation guard for backfill (``replay --reserve-after SECONDS``): EASY-style reservations.

When the task at the head of the queue (in queue order; a task alone, not a gang) has waited
``after`` seconds, it holds a reservation: the node where it could start the earliest as the
running tasks end (their end times are known to the simulator: exact run-time estimates),
and that start time, the *shadow time*. While it holds it, a later task may start on the
reserved node only if it ends by the shadow time; elsewhere it starts as usual. The head
starts as soon as it fits anywhere. Each node's earliest start is recomputed only when the
node changes.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster.feasibility import nodes_fitting
from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.trace.tables import FloatArray, IntArray


class Reservation:
    """The reservation of the starving head, and what it needs: running tasks by node."""

    def __init__(
        self,
        cluster: ClusterState,
        shapes: tuple[Shape, ...],
        shape_of: IntArray,
        arrival: FloatArray,
        rank: IntArray,
        after: float,
    ) -> None:
        self.cluster, self.shapes, self.shape_of = cluster, shapes, shape_of
        self.arrival, self.rank, self.after = arrival, rank, after
        self.on_node: dict[int, dict[int, tuple[float, tuple[int, ...]]]] = {}
        self.task = -1  # the task holding the reservation
        self.earliest = np.full(len(cluster), math.inf)  # its earliest start on each node
        self.position = 0  # the cluster's change log when ``earliest`` was last brought up to date
        self.node, self.shadow = -1, math.inf

    def started(self, t: int, node: int, gpus: tuple[int, ...], end: float) -> None:
        self.on_node.setdefault(node, {})[t] = (end, gpus)

    def stopped(self, t: int, node: int) -> None:
        self.on_node.get(node, {}).pop(t, None)

    def holds(self, head: int, now: float) -> bool:
        """Whether ``head`` (-1: none) holds a reservation now; brings it up to date."""
        if head < 0 or now - float(self.arrival[head]) < self.after:
            self.task = -1
            return False
        changes = len(self.cluster.changes)
        if head == self.task and changes == self.position:
            return math.isfinite(self.shadow)  # no node changed since it was last brought up to date
        if head != self.task:
            self.task = head
            dirty = np.arange(len(self.cluster))
        else:
            dirty = self.cluster.changed_since(self.position)
        self.position = changes
        shape = self.shapes[int(self.shape_of[head])]
        for node in dirty.tolist():
            self.earliest[node] = self._earliest(shape, node, now)
        order = np.lexsort((self.rank, self.earliest))
        self.node = int(order[0])
        self.shadow = float(self.earliest[self.node])
        return math.isfinite(self.shadow)

    def _earliest(self, shape: Shape, node: int, now: float) -> float:
        """When ``shape`` fits ``node`` if its running tasks leave at their end times."""
        c = self.cluster
        if not c.up[node]:
            return math.inf
        cpu, mem = np.array([c.cpu_left[node]]), np.array([c.mem_left[node]])
        gpu, model = c.gpu_free[node : node + 1].copy(), c.model[node : node + 1]
        if nodes_fitting(cpu, mem, gpu, model, shape)[0]:
            return now
        running = sorted(self.on_node.get(node, {}).items(), key=lambda item: item[1][0])
        for t, (end, gpus) in running:
            held = self.shapes[int(self.shape_of[t])]
            cpu += held.cpu
            mem += held.mem
            if gpus:
                gpu[0, list(gpus)] += held.gpu_milli
            if nodes_fitting(cpu, mem, gpu, model, shape)[0]:
                return max(end, now)
        return math.inf
