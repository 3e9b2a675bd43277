"""Defragmentation on the reference path: a descheduling step that moves one running task
at a time so that the task at the head of the queue fits (the mirror is
:mod:`schedlab.sim.kernels.defrag`).

While tasks wait and others run, a step runs every ``every_s`` seconds (on a grid from the
first arrival; after every other event at that time). Each step, as long as the budget
allows (at most ``moves_per_hour`` moves in any hour) and the head of the queue is a single
task: among the nodes in service that the head may take (not excluded by anti-affinity)
and does not fit now, every running single task whose leaving would make the head fit is
a candidate; the policy's key picks one (ties: node rank, then task index). The placement
policy places that task anew among the other nodes it may take; if none fits it, the step
ends. Otherwise it moves: its run stops (an attempt), its work so far is kept, and it runs on
at its new node's speed ``cost_s`` seconds longer (checkpoint and restart); the node it left
is offered to the queue as any freed node is. The step ends when the head did not start.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from schedlab.cluster.feasibility import nodes_fitting, shapes_fitting
from schedlab.defrag import DefragPolicy
from schedlab.sim.result import RUNNING

if TYPE_CHECKING:
    from schedlab.sim.reference import Replay

DEFRAG = 4  # event priority at equal times: after departures, arrivals, samples, node events
HOUR = 3600.0


def next_step(origin: float, every: float, now: float) -> float:
    """The first time of the grid ``origin + k x every`` after ``now``."""
    at = origin + (math.floor((now - origin) / every) + 1) * every
    return at + every if at <= now else at


class Descheduler:
    """The descheduling steps of one reference replay, and what they moved."""

    def __init__(self, replay: Replay, policy: DefragPolicy) -> None:
        self.r = replay
        self.policy = policy
        self.settings = replay.model.config.defrag_settings
        arrival = replay.model.workload.arrival
        self.origin = float(arrival[0]) if len(arrival) else 0.0
        self.recent: deque[float] = deque(maxlen=self.settings.moves_per_hour)
        self.at = math.inf  # the step scheduled (infinite: none)
        self.moves = 0
        self.lost_gpu_s = 0.0

    def arm(self) -> None:
        """Schedule the next step if none is and tasks wait while others run."""
        r = self.r
        if self.at == math.inf and r.queue.size > 0 and r.running > 0:
            self.at = next_step(self.origin, self.settings.every_s, r.sim.now)
            r.sim.schedule(self.at, self.step, None, DEFRAG)

    def step(self, _: object) -> None:
        r, m = self.r, self.r.model
        self.at = math.inf
        moved = False
        while self._fragmented() and (
            len(self.recent) < self.settings.moves_per_hour or self.recent[0] <= r.sim.now - HOUR
        ):
            shape = r.queue.head()
            if shape is None:
                break
            t = r.queue.first(shape)[1]
            if m.gang_size[t] > 1:
                break
            found = self._best(t)
            if found is None or not self._move(*found):
                break
            moved = True
            m.admission.freed(found[0], r)
            if r.out.status[t] != RUNNING:
                break
        if moved:
            r._record()  # which arms the next step
        else:
            self.arm()

    def _fragmented(self) -> bool:
        """Whether FGD's measure counts at least ``above_pct`` % of the free GPU capacity
        unusable now (always with 0)."""
        above = self.settings.above_pct
        if above <= 0:
            return True
        m = self.r.model
        c = m.cluster
        total = int(m.frag.node_frag(c.cpu_left, c.gpu_free, c.model).sum())
        return 100.0 * (total / m.frag.scale) >= above * c.free_gpu_milli

    def _best(self, t: int) -> tuple[int, int] | None:
        """The (node, task) to move for ``t``, by the policy's key, node rank, task index."""
        r, m = self.r, self.r.model
        c, sh = m.cluster, m.shapes
        s = int(m.shape_of[t])
        excluded = r._excluded(t, s)
        skip = set() if excluded is None else set(excluded.tolist())
        running = np.flatnonzero(r.out.status == RUNNING)
        by_node: dict[int, list[int]] = {}
        for v in running.tolist():
            if m.gang_size[v] == 1:
                by_node.setdefault(int(r.out.node[v]), []).append(v)
        room: dict[int, int] = {}  # per shape: the nodes it fits now
        best: tuple[float, float, int, int] | None = None
        found = None
        for node, tasks in by_node.items():
            if not c.up[node] or node in skip or self._fits(s, node, -1):
                continue
            frag = int(m.frag.node_frag(c.cpu_left[[node]], c.gpu_free[[node]], c.model[[node]])[0])
            for v in tasks:
                if not self._fits(s, node, v) or not self._elsewhere(int(m.shape_of[v]), node, room):
                    continue
                k0, k1 = self.policy.key(int(sh.total_gpu_milli[m.shape_of[v]]), frag)
                key = (k0, k1, int(m.rank[node]), v)
                if best is None or key < best:
                    best, found = key, (node, v)
        return found

    def _elsewhere(self, vs: int, node: int, room: dict[int, int]) -> bool:
        """Whether shape ``vs`` fits some node in service other than ``node`` now."""
        m = self.r.model
        if vs not in room:
            c = m.cluster
            fit = nodes_fitting(c.cpu_left, c.mem_left, c.gpu_free, c.model, m.table.shapes[vs])
            room[vs] = int((fit & c.up).sum())
        return room[vs] - self._fits(vs, node, -1) > 0

    def _fits(self, s: int, node: int, without: int) -> bool:
        """Whether shape ``s`` fits ``node`` now, or once task ``without`` (running there)
        has left (-1: as it is); the rule of ``cluster.feasibility``."""
        r, m = self.r, self.r.model
        c, sh = m.cluster, m.shapes
        if not c.up[node]:
            return False
        cpu, mem = int(c.cpu_left[node]), int(c.mem_left[node])
        free = c.gpu_free[node].copy()
        if without >= 0:
            vs = int(m.shape_of[without])
            cpu, mem = cpu + int(sh.cpu[vs]), mem + int(sh.mem[vs])
            for g in r.gpus[without]:
                free[g] += sh.gpu_milli[vs]
        return bool(shapes_fitting(cpu, mem, free, int(c.model[node]), sh, np.array([s]))[0])

    def _move(self, node: int, v: int) -> bool:
        """Move ``v`` off ``node`` to where the placement policy puts it; False if nowhere."""
        r, m = self.r, self.r.model
        now, s = r.sim.now, int(m.shape_of[v])
        excluded = r._excluded(v, s)
        others = np.array([node], dtype=np.int64) if excluded is None else np.r_[excluded, node]
        placement = r.placer.place(m.table.shapes[s], others)
        if placement is None:
            return False
        r.kept[v] += (now - float(r.out.start[v])) * m.speed(s, node)
        r._stop(v)
        r.attempt[v] += 1
        end = r._run(v, s, placement) + self.settings.cost_s
        r.ends_at(v, end)
        self.moves += 1
        self.recent.append(now)
        self.lost_gpu_s += self.settings.cost_s * int(m.shapes.total_gpu_milli[s]) / 1000
        return True
