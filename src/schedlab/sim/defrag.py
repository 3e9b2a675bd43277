"""Defragmentation on the reference path: a descheduling step that moves running tasks off
nodes so that the task at the head of the queue (its gang) fits (the plan is
:mod:`schedlab.sim.defrag_plan`; the mirror :mod:`schedlab.sim.kernels.defrag` and
:mod:`schedlab.sim.kernels.defrag_plan`).

While tasks wait and others run, a step runs every ``every_s`` seconds (on a grid from the
first arrival; after every other event at that time). Each step, as long as the budget
allows (at most ``moves_per_hour`` moves in any hour): the head's gang (a single task: a
gang of one) lacks room for ``missing`` of its tasks, its size less the tasks of its shape
the nodes hold now, each node packed on its own (a single task takes only the nodes not
excluded by anti-affinity or reservations; a gang any). Every node in service where the
head does not fit now offers one candidate set of moves, made of the node's running
*units*, a single task or, with ``gangs``, a gang (which moves whole: as many moves as it
has members, freeing on the node what its members there hold), that fit now elsewhere than
the node and those where the head fits (a task on some node; a gang, its members where they are, as
many tasks of its shape as it has), taken in the order fewest GPU milli (a gang's: all its
members'), then lower task index: the first of them whose leaving alone makes the head
fit; else, in that order, each that helps (it holds CPU while the head lacks CPU there,
memory while it lacks memory, or a GPU with less free than the head asks while fewer GPUs
than it asks have that much) until the head fits, if it does within the moves the budget
has left. The policy's key orders the sets (ties: node rank, then the set's first task
index); the first ``missing`` in that order that keep within the budget together are the
plan (fewer: no move). Their units move in turn, each placed by the placement policy among
the nodes it may take, neither the plan's nor those where the head fits (a gang's members
one after another, all or none, as a gang starts); a move stops its run (an attempt),
keeps its work so far (a gang's: at its slowest member's speed), and runs the rest at its
new node's speed ``cost_s`` seconds longer (checkpoint and restart; a gang ends together).
A gang already moved for an earlier node of the plan is not moved again. If one fits
nowhere the step ends after the moves made. The nodes moved off (the plan's, then the
others a gang left) are offered to the queue as any freed node is; the step goes on while
the head started.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from schedlab.defrag import DefragPolicy
from schedlab.scheduler import Placement
from schedlab.sim.defrag_plan import plan
from schedlab.sim.exclusions import excluded_nodes
from schedlab.sim.gangs import place_gang
from schedlab.sim.recorder import in_service
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
            found = plan(r, self.policy, t, self.left(), self.settings.gangs)
            if found is None:
                break
            blocked, sets = found
            total = sum(len(units) for _, units in sets)
            done, planned, offered = 0, 0, []  # units moved, planned so far, nodes moved off
            others: list[int] = []  # the other nodes gangs moved off
            for node, units in sets:
                planned += len(units)
                for v in units:
                    if r.out.node[v] != node:  # a gang moved already, for another node of the plan
                        done += 1
                        continue
                    left = self._move_unit(node, v, blocked)
                    if left is None:
                        break
                    others += left
                    done += 1
                if done > planned - len(units):
                    offered.append(node)
                if done < planned:
                    break
            if done == 0:
                break
            moved = True
            for node in dict.fromkeys([*offered, *others]):
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
        """Whether FGD's measure counts at least ``above_pct`` % of the free GPU compute of
        the nodes in service unusable now (slice-aware; always with 0)."""
        above = self.settings.above_pct
        if above <= 0:
            return True
        m = self.r.model
        c = m.cluster
        node_frag = m.frag.node_frag(c.cpu_left, c.gpu_free, c.model)
        _, _, frag, free = in_service(node_frag, c, m.node_units)
        return 100.0 * (frag / m.frag.scale) >= above * free

    def move(self, node: int, v: int, blocked: NDArray[np.int64]) -> bool:
        """Move ``v`` off ``node`` to where the placement policy puts it among the nodes not
        ``blocked``; False if nowhere."""
        r, m = self.r, self.r.model
        s = int(m.shape_of[v])
        excluded = excluded_nodes(r, v, s)
        others = blocked if excluded is None else np.r_[excluded, blocked]
        placement = r.placer.place(m.table.shapes[s], others)
        if placement is None:
            return False
        self._restart([v], [placement])
        return True

    def _move_unit(self, node: int, v: int, blocked: NDArray[np.int64]) -> list[int] | None:
        """Move unit ``v`` off ``node`` (a task, or its gang whole); the other nodes it left
        (None: it fits nowhere)."""
        if self.r.model.gang_size[v] == 1:
            return [] if self.move(node, v, blocked) else None
        r, m = self.r, self.r.model
        members = r._members(v).tolist()  # placed among the nodes not blocked, all or none
        placements = place_gang(r.placer, m.table.shapes[int(m.shape_of[v])], len(members), blocked)
        return None if placements is None else self._restart(members, placements)

    def _restart(self, members: list[int], placements: list[Placement]) -> list[int]:
        """Stop ``members`` (a task, or a gang) and run them on ``placements`` (committed):
        the work done kept (at the slowest member's speed), ``cost_s`` seconds longer, ending
        together; the nodes they left."""
        r, m = self.r, self.r.model
        now, s = r.sim.now, int(m.shape_of[members[0]])
        speed = min(m.speed(s, int(r.out.node[u])) for u in members)
        left, ends = [], []
        for u, placement in zip(members, placements, strict=True):
            r.kept[u] += (now - float(r.out.start[u])) * speed
            left.append(r._stop(u))
            r.attempt[u] += 1
            ends.append(r._run(u, s, placement))
        end = max(ends) + self.settings.cost_s
        r.ends_at(members[0], end)
        if r.guard is not None:  # the reservations see its new end
            for u, placement in zip(members, placements, strict=True):
                r.guard.started(u, placement.node, placement.gpus, end)
        self.moves += len(members)
        self.recent.extend([now] * len(members))
        self.lost_gpu_s += self.settings.cost_s * len(members) * int(m.shapes.total_gpu_milli[s]) / 1000
        return left
