"""Defragmentation on the reference path: a descheduling step that moves running tasks off
nodes so that the task at the head of the queue (its gang) fits (the mirror is
:mod:`schedlab.sim.kernels.defrag` and :mod:`schedlab.sim.kernels.defrag_plan`).

While tasks wait and others run, a step runs every ``every_s`` seconds (on a grid from the
first arrival; after every other event at that time). Each step, as long as the budget
allows (at most ``moves_per_hour`` moves in any hour): the head's gang (a single task: a
gang of one) lacks room for ``missing`` of its tasks, its size less the tasks of its shape
the nodes hold now, each node packed on its own (a single task takes only the nodes not
excluded by anti-affinity or reservations; a gang any). Every node in service where the
head does not fit now offers one candidate set of moves, made of the node's running single
tasks that fit some node now other than it and those where the head fits, taken in the
order fewest GPU milli, then lower task index: the first of them whose leaving alone makes
the head fit; else, in that order, each that helps (it holds CPU while the head lacks CPU
there, memory while it lacks memory, or a GPU with less free than the head asks while fewer
GPUs than it asks have that much) until the head fits, if it does within the moves the
budget has left. The policy's key orders the sets (ties: node rank, then the set's first
task index); the first ``missing`` in that order that keep within the budget together are
the plan (fewer: no move). Their tasks move in turn, each placed by the placement policy
among the nodes it may take, neither the plan's nor those where the head fits; a move
stops its run (an attempt), keeps its work so far, and runs the rest at its new node's
speed ``cost_s`` seconds longer (checkpoint and restart). If one fits nowhere the step ends
after the moves made. The nodes moved off are offered to the queue as any freed node is;
the step goes on while the head started.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from schedlab.cluster.feasibility import nodes_fitting, shapes_fitting
from schedlab.defrag import DefragPolicy
from schedlab.sim.gangs import copies_per_node
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
        while self._fragmented() and self.left() > 0:
            shape = r.queue.head()
            if shape is None:
                break
            t = r.queue.first(shape)[1]
            plan = self._plan(t)
            if plan is None:
                break
            blocked, sets = plan
            total = sum(len(tasks) for _, tasks in sets)
            done, planned, offered = 0, 0, []  # moves made, moves planned so far, nodes moved off
            for node, tasks in sets:
                planned += len(tasks)
                for v in tasks:
                    if not self.move(node, v, blocked):
                        break
                    done += 1
                if done > planned - len(tasks):
                    offered.append(node)
                if done < planned:
                    break
            if done == 0:
                break
            moved = True
            for node in offered:
                m.admission.freed(node, r)
            if done < total or r.out.status[t] != RUNNING:
                break
        if moved:
            r._record()  # which arms the next step
        else:
            self.arm()

    def left(self) -> int:
        """How many moves the budget allows now."""
        hour_ago = self.r.sim.now - HOUR
        return self.settings.moves_per_hour - sum(1 for at in self.recent if at > hour_ago)

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

    def _plan(self, t: int) -> tuple[NDArray[np.int64], list[tuple[int, list[int]]]] | None:
        """For ``t`` (its gang: ``size`` tasks of its shape), the nodes to free, each with the
        tasks to move off it, in the policy's order (key, node rank, first task index), and
        the nodes the moved tasks may not take (those freed, and those where ``t``'s shape
        fits now); None when no plan within the budget gives the gang room."""
        r, m = self.r, self.r.model
        c, sh = m.cluster, m.shapes
        s, size = int(m.shape_of[t]), int(m.gang_size[t])
        excluded = r._excluded(t, s) if size == 1 else None  # a gang takes any node
        usable = c.up.copy()
        if excluded is not None:
            usable[excluded] = False
        shape = m.table.shapes[s]
        fitting = nodes_fitting(c.cpu_left, c.mem_left, c.gpu_free, c.model, shape) & usable
        fit = set(np.flatnonzero(fitting).tolist())
        missing = size - int(copies_per_node(c, shape)[usable].sum())
        if missing <= 0:
            return None
        running = np.flatnonzero(r.out.status == RUNNING)
        by_node: dict[int, list[int]] = {}
        for v in running.tolist():
            if m.gang_size[v] == 1:
                by_node.setdefault(int(r.out.node[v]), []).append(v)
        room: dict[int, int] = {}  # per shape: the nodes it fits now, out of ``fit``
        left = self.left()
        candidates = []
        for node, tasks in by_node.items():
            if not usable[node] or node in fit:
                continue
            movable = sorted(
                (v for v in tasks if self._elsewhere(int(m.shape_of[v]), node, fit, room)),
                key=lambda v: (int(sh.total_gpu_milli[m.shape_of[v]]), v),
            )
            chosen = self._set(s, node, movable, left)
            if not chosen:
                continue
            frag = int(m.frag.node_frag(c.cpu_left[[node]], c.gpu_free[[node]], c.model[[node]])[0])
            milli = sum(int(sh.total_gpu_milli[m.shape_of[v]]) for v in chosen)
            key = (*self.policy.key(len(chosen), milli, frag), int(m.rank[node]), chosen[0])
            candidates.append((key, node, chosen))
        sets: list[tuple[int, list[int]]] = []
        for _, node, chosen in sorted(candidates):
            if len(sets) == missing:
                break
            if len(chosen) <= left:
                sets.append((node, chosen))
                left -= len(chosen)
        if len(sets) < missing:
            return None
        return np.array(sorted(fit | {n for n, _ in sets}), dtype=np.int64), sets

    def _set(self, s: int, node: int, movable: list[int], left: int) -> list[int]:
        """The tasks of ``movable`` (in order) to move off ``node`` for shape ``s``: the
        first that alone makes room, else each that helps until it fits (at most ``left``);
        empty if none does."""
        for v in movable:
            if self._fits(s, node, [v]):
                return [v]
        m = self.r.model
        c, sh = m.cluster, m.shapes
        cpu, mem = int(c.cpu_left[node]), int(c.mem_left[node])
        free = c.gpu_free[node].copy()
        need, k = int(sh.gpu_milli[s]), int(sh.num_gpu[s])
        chosen: list[int] = []
        for v in movable:
            if len(chosen) == left:
                break
            vs = int(m.shape_of[v])
            gpus = self.r.gpus[v]
            short = k > 0 and int((free >= need).sum()) < k
            if (
                (cpu < sh.cpu[s] and sh.cpu[vs] > 0)
                or (mem < sh.mem[s] and sh.mem[vs] > 0)
                or (short and any(free[g] < need for g in gpus))
            ):
                chosen.append(v)
                cpu, mem = cpu + int(sh.cpu[vs]), mem + int(sh.mem[vs])
                for g in gpus:
                    free[g] += sh.gpu_milli[vs]
                if shapes_fitting(cpu, mem, free, int(c.model[node]), sh, np.array([s]))[0]:
                    return chosen
        return []

    def _elsewhere(self, vs: int, node: int, fit: set[int], room: dict[int, int]) -> bool:
        """Whether shape ``vs`` fits some node in service now other than ``node`` and those of
        ``fit``."""
        m = self.r.model
        if vs not in room:
            c = m.cluster
            fits = nodes_fitting(c.cpu_left, c.mem_left, c.gpu_free, c.model, m.table.shapes[vs]) & c.up
            room[vs] = int(fits.sum()) - sum(int(fits[n]) for n in fit)
        return room[vs] - self._fits(vs, node, []) > 0

    def _fits(self, s: int, node: int, without: list[int]) -> bool:
        """Whether shape ``s`` fits ``node`` now, or once the tasks ``without`` (running
        there) have left; the rule of ``cluster.feasibility``."""
        r, m = self.r, self.r.model
        c, sh = m.cluster, m.shapes
        if not c.up[node]:
            return False
        cpu, mem = int(c.cpu_left[node]), int(c.mem_left[node])
        free = c.gpu_free[node].copy()
        for v in without:
            vs = int(m.shape_of[v])
            cpu, mem = cpu + int(sh.cpu[vs]), mem + int(sh.mem[vs])
            for g in r.gpus[v]:
                free[g] += sh.gpu_milli[vs]
        return bool(shapes_fitting(cpu, mem, free, int(c.model[node]), sh, np.array([s]))[0])

    def move(self, node: int, v: int, blocked: NDArray[np.int64]) -> bool:
        """Move ``v`` off ``node`` to where the placement policy puts it among the nodes not
        ``blocked``; False if nowhere."""
        r, m = self.r, self.r.model
        now, s = r.sim.now, int(m.shape_of[v])
        excluded = r._excluded(v, s)
        others = blocked if excluded is None else np.r_[excluded, blocked]
        placement = r.placer.place(m.table.shapes[s], others)
        if placement is None:
            return False
        r.kept[v] += (now - float(r.out.start[v])) * m.speed(s, node)
        r._stop(v)
        r.attempt[v] += 1
        end = r._run(v, s, placement) + self.settings.cost_s
        r.ends_at(v, end)
        if r.guard is not None:  # the reservations see its new end
            r.guard.started(v, placement.node, placement.gpus, end)
        self.moves += 1
        self.recent.append(now)
        self.lost_gpu_s += self.settings.cost_s * int(m.shapes.total_gpu_milli[s]) / 1000
        return True
