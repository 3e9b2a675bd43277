"""Dynamic MIG on the reference path: re-partitioning GPUs for the tasks that wait (the
mirror is :mod:`schedlab.sim.kernels.reslice`; the nodes: :mod:`schedlab.cluster.reslicing`).

While tasks wait, a step runs every ``every_s`` seconds (on a grid from the first arrival;
after every other event at that time). First every GPU being drained that is idle now (its
layout's nodes all empty) starts its re-partitioning. Then it takes the waiting task shapes
that ask for instances of a GPU model re-partitioned at run time, in the queue order of
their first task; for each that fits no node in service now, while its waiting tasks
outnumber the room coming for it (the tasks of the shape the nodes of the layouts that the
GPUs being drained or re-partitioned go to would hold, empty), it picks a GPU in service
with another layout that has room for it (the layout with the most, the first of those):
the idle one of lowest index is re-partitioned at once; with none idle, the one with the
fewest instances in use (then the lowest index) is drained, unless ``mig_drains`` GPUs are
being drained already (:func:`drain_limit`): its layout's nodes go out of service (what runs
there runs on) until it is idle. With ``--defrag`` a GPU being drained
has its running single tasks moved off (within the moves budget, at the move cost, each
placed by the placement policy on a node in service, in node then task order; the first that
fits nowhere ends the moves off that GPU) when it is chosen and at each step, so that it is
re-partitioned as soon as it is empty. A GPU re-partitioned serves nothing for
``reconfig_s`` seconds; then the new layout's nodes come into service and are offered to
the queue as freed nodes (in node order; every GPU ready at that time, in GPU order, one
event). A step that changes nothing while nothing runs and no GPU is being drained or
re-partitioned schedules no other. Node events: see :meth:`Reslicer.node_event`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from schedlab.cluster.reslicing import Reslicing
from schedlab.sim.defrag import DEFRAG, next_step
from schedlab.sim.nodes import DRAIN, FAIL
from schedlab.sim.result import RUNNING
from schedlab.trace.tables import GPU_MILLI, BoolArray

if TYPE_CHECKING:
    from schedlab.sim.model import ReplayModel
    from schedlab.sim.reference import Replay

READY, RESLICE = DEFRAG + 1, DEFRAG + 2  # event priorities at equal times: after the others
SERVING, DRAINING, RECONFIGURING = 0, 1, 2  # a GPU's phase


def drain_limit(model: ReplayModel) -> int:
    """How many GPUs (units: nodes with ``--mig-scope node``) may be drained at once:
    ``config.mig_drains``, or a quarter of those re-partitioned at run time (at least one)."""
    rs = model.reslicing
    assert rs is not None
    return model.config.mig_drains or max(1, -(-rs.gpus // 4))


def asking(model: ReplayModel) -> BoolArray:
    """Per task shape, whether it asks for GPUs that a node of some GPU's layouts has."""
    rs = model.reslicing
    assert rs is not None
    dynamic = np.unique(model.cluster.model[rs.gpu >= 0])
    found: BoolArray = model.shapes.allowed[:, dynamic].any(axis=1) & (model.shapes.num_gpu > 0)
    return found


class Reslicer:
    """The re-partitioning steps of one reference replay, and what they changed."""

    def __init__(self, replay: Replay, reslicing: Reslicing) -> None:
        self.r, self.rs = replay, reslicing
        config = replay.model.config
        self.every, self.reconfig_s = config.mig_every, config.mig_reconfig
        arrival = replay.model.workload.arrival
        self.origin = float(arrival[0]) if len(arrival) else 0.0
        self.at = math.inf  # the step scheduled (infinite: none)
        self.current = np.zeros(reslicing.gpus, dtype=np.int64)  # each GPU's layout
        self.ready_at = np.full(reslicing.gpus, math.inf)  # when one being re-partitioned is back
        self.target = np.zeros(reslicing.gpus, dtype=np.int64)
        self.phase = np.zeros(reslicing.gpus, dtype=np.int64)
        self.scheduled: set[float] = set()  # the times of ready events scheduled
        self.reconfigs = 0
        self.capacity = replay.outages.capacity  # (time, GPU milli in service): one log
        self.away = np.zeros(reslicing.gpus, dtype=bool)  # its node failed or drained
        nodes = replay.model.cluster.nodes
        self.cpu, self.mem = nodes.cpu_milli, nodes.memory_mib  # the empty nodes'
        self.asks = asking(replay.model)
        self.drains = drain_limit(replay.model)
        #: Head-of-line blocking: only the head of the queue can start, so only its shape is
        #: re-partitioned for (helping the others could flip layouts back and forth forever).
        self.strict = replay.model.admission.compiled_strict() is True

    def begin(self) -> None:
        """Every GPU in its first layout: the nodes of the others out of service."""
        cluster = self.r.model.cluster
        for v in np.flatnonzero(self.rs.layout > 0).tolist():
            cluster.set_up(v, False)

    def node_event(self, node: int, kind: int) -> bool:
        """A node event on ``node``: a GPU whose node fails or drains is away (neither
        re-partitioned nor brought into service) until its node is repaired or added; then
        only its current layout's nodes come back, and only if it is serving. Whether the
        repair or addition must leave ``node`` out of service."""
        g = int(self.rs.gpu[node])
        if g < 0:
            return False
        if kind in (FAIL, DRAIN):
            self.away[g] = True
            return False
        self.away[g] = False
        return not (self.phase[g] == SERVING and self.rs.layout[node] == self.current[g])

    def arm(self) -> None:
        """Schedule the next step if none is and tasks wait."""
        r = self.r
        if self.at == math.inf and r.queue.size > 0:
            self.at = next_step(self.origin, self.every, r.sim.now)
            r.sim.schedule(self.at, self.step, None, RESLICE)

    def step(self, _: object) -> None:
        r, m = self.r, self.r.model
        self.at = math.inf
        changed = False
        for g in np.flatnonzero((self.phase == DRAINING) & ~self.away).tolist():
            changed |= self._drain(g)
            if self._idle(g):
                self._reconfigure(g)
                changed = True
        shapes = sorted((s for s in r.queue.waiting_shapes() if self.asks[s]), key=r.queue.first)
        if self.strict:  # head-of-line blocking: only the head may start, so only it is helped
            shapes = shapes[:1] if shapes and shapes[0] == r.queue.head() else []
        for s in shapes:
            if m.cluster.feasible(m.table.shapes[s], np.arange(len(m.cluster))).any():
                continue
            need, have = r.queue.count(s), self._coming(s)
            while have < need:
                room = self._repartition(s)
                if room == 0:
                    break
                have += room
                changed = True
        if changed:
            r._record()  # which arms the next step
        elif r.running > 0 or ((self.phase != SERVING) & ~self.away).any():
            self.arm()

    def ready(self, _: object) -> None:
        """Every GPU due now: its new layout's nodes in service, offered to the queue."""
        r, m = self.r, self.r.model
        now = r.sim.now
        self.scheduled.discard(now)
        for g in np.flatnonzero(self.ready_at <= now).tolist():
            self.ready_at[g] = math.inf
            self.phase[g] = SERVING
            self.current[g] = self.target[g]
            if self.away[g]:  # its node is out: the new layout comes with it
                continue
            for v in self.rs.nodes_of(g, int(self.target[g])):
                m.cluster.set_up(v, True)
            self.capacity.append((now, m.cluster.gpu_capacity_up))
            for v in self.rs.nodes_of(g, int(self.target[g])):
                m.admission.freed(v, r)
        r._record()

    def _room(self, s: int, v: int) -> int:
        """How many tasks of shape ``s`` node ``v`` would hold, empty."""
        sh, c = self.r.model.shapes, self.r.model.cluster
        if not sh.allowed[s, c.model[v]]:
            return 0
        room = int(c.num_gpu[v]) // int(sh.num_gpu[s])
        if sh.cpu[s] > 0:
            room = min(room, int(self.cpu[v]) // int(sh.cpu[s]))
        if sh.mem[s] > 0:
            room = min(room, int(self.mem[v]) // int(sh.mem[s]))
        return room

    def _layout_room(self, s: int, g: int, k: int) -> int:
        return sum(self._room(s, v) for v in self.rs.nodes_of(g, k))

    def _coming(self, s: int) -> int:
        """The room for shape ``s`` of the GPUs being drained or re-partitioned."""
        return sum(
            self._layout_room(s, g, int(self.target[g]))
            for g in np.flatnonzero((self.phase != SERVING) & ~self.away).tolist()
        )

    def _in_use(self, g: int) -> int:
        """GPU ``g``'s instances in use (and nodes holding a task without a GPU)."""
        c = self.r.model.cluster
        used = 0
        for v in self.rs.nodes_of(g, int(self.current[g])):
            used += int(c.num_gpu[v]) - int((c.gpu_free[v, : c.num_gpu[v]] == GPU_MILLI).sum())
            used += int(c.cpu_left[v] != self.cpu[v] or c.mem_left[v] != self.mem[v])
        return used

    def _idle(self, g: int) -> bool:
        return self._in_use(g) == 0

    def _layout_for(self, s: int, g: int) -> tuple[int, int]:
        """GPU ``g``'s layout other than its own with the most room for shape ``s`` (the first
        of those), and that room (0: none has any)."""
        best, most = -1, 0
        for k in range(self.rs.lo.shape[1]):
            room = self._layout_room(s, g, k) if k != self.current[g] else 0
            if room > most:
                best, most = k, room
        return best, most

    def _repartition(self, s: int) -> int:
        """Re-partition the GPU chosen for shape ``s`` (idle) or drain it; the room it adds."""
        best, best_layout, best_room, best_used = -1, -1, 0, 0
        draining = int((self.phase == DRAINING).sum())
        for g in np.flatnonzero((self.phase == SERVING) & ~self.away).tolist():
            k, room = self._layout_for(s, g)
            if room == 0:
                continue
            used = self._in_use(g)
            if used > 0 and draining >= self.drains:  # only idle ones while enough drain
                continue
            if best < 0 or used < best_used:
                best, best_layout, best_room, best_used = g, k, room, used
            if used == 0:
                break
        if best < 0:
            return 0
        self.target[best] = best_layout
        c = self.r.model.cluster
        for v in self.rs.nodes_of(best, int(self.current[best])):
            c.set_up(v, False)
        self.capacity.append((self.r.sim.now, c.gpu_capacity_up))
        if best_used > 0:
            self.phase[best] = DRAINING
            self._drain(best)
        if self._idle(best):
            self._reconfigure(best)
        return best_room

    def _drain(self, g: int) -> bool:
        """Move GPU ``g``'s running single tasks off it, with ``--defrag`` (see the module's
        docstring); whether any moved."""
        d = self.r.defrag
        if d is None:
            return False
        r, m = self.r, self.r.model
        nowhere = np.empty(0, dtype=np.int64)
        moved = False
        for v in self.rs.nodes_of(g, int(self.current[g])):
            for t in np.flatnonzero((r.out.status == RUNNING) & (r.out.node == v)).tolist():
                if m.gang_size[t] > 1:
                    continue
                if d.left() <= 0 or not d.move(v, t, nowhere):
                    return moved
                moved = True
        return moved

    def _reconfigure(self, g: int) -> None:
        """GPU ``g`` (idle, out of service) is re-partitioned: ready ``reconfig_s`` from now."""
        r = self.r
        self.phase[g] = RECONFIGURING
        self.ready_at[g] = r.sim.now + self.reconfig_s
        self.reconfigs += int(self.rs.size[g])  # GPUs re-partitioned
        if self.ready_at[g] not in self.scheduled:
            self.scheduled.add(float(self.ready_at[g]))
            r.sim.schedule(float(self.ready_at[g]), self.ready, None, READY)
