"""A starvation guard for backfill (``replay --reserve-after SECONDS``): reservations.

Every waiting task (alone, not a gang) that has waited ``after`` seconds goes ahead of the
queue's order, and the first :data:`MAX_RESERVATIONS` of them (by arrival) hold a
reservation: in order of arrival, each takes the node, among those not reserved yet,
where it could start the earliest as the running tasks end (their end
times are known to the simulator: exact run-time estimates); that start time is its *shadow
time*. Any other task may start on a reserved node only if it ends by that node's shadow
time. Each node's earliest start is recomputed only when the node changes.
"""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster.feasibility import nodes_fitting
from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.trace.tables import FloatArray, IntArray

#: At most this many of the tasks that waited longest hold a reservation at once.
MAX_RESERVATIONS = 8


class Reservation:
    """The reservations of the starving tasks, and what they need: running tasks by node."""

    def __init__(
        self, cluster: ClusterState, shapes: tuple[Shape, ...], shape_of: IntArray, rank: IntArray
    ) -> None:
        self.cluster, self.shapes, self.shape_of, self.rank = cluster, shapes, shape_of, rank
        self.on_node: dict[int, dict[int, tuple[float, tuple[int, ...]]]] = {}
        self.earliest: dict[int, FloatArray] = {}  # per starving task: its earliest start per node
        self.position = 0  # the cluster's change log when ``earliest`` was last brought up to date
        self.held: dict[int, tuple[int, float]] = {}  # reserved node: (task, shadow time)
        self.tasks: list[int] = []

    def started(self, t: int, node: int, gpus: tuple[int, ...], end: float) -> None:
        self.on_node.setdefault(node, {})[t] = (end, gpus)

    def stopped(self, t: int, node: int) -> None:
        self.on_node.get(node, {}).pop(t, None)

    def update(self, starving: list[int], now: float) -> None:
        """Reserve a node for each of the first :data:`MAX_RESERVATIONS` of ``starving`` (by
        arrival), bringing their estimates up to date."""
        starving = starving[:MAX_RESERVATIONS]
        changes = len(self.cluster.changes)
        if starving == self.tasks and changes == self.position:
            return
        dirty = self.cluster.changed_since(self.position).tolist()
        self.position = changes
        for t in [t for t in self.earliest if t not in starving]:
            del self.earliest[t]
        for t in starving:
            shape = self.shapes[int(self.shape_of[t])]
            known = self.earliest.get(t)
            if known is None:
                known = self.earliest[t] = np.array(
                    [self._earliest(shape, n, now) for n in range(len(self.cluster))]
                )
            else:
                for n in dirty:
                    known[n] = self._earliest(shape, n, now)
        self.tasks = list(starving)
        self.held = {}
        for t in starving:
            free = self.earliest[t].copy()
            free[list(self.held)] = math.inf
            best = np.flatnonzero(free == free.min())
            node = int(best[np.argmin(self.rank[best])])  # ties: the node order
            if math.isfinite(free[node]):
                self.held[node] = (t, float(free[node]))

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
