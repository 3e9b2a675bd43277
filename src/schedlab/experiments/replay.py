"""Event-driven cluster simulation: arrivals, departures, queueing, preemption, speeds.

The engine (:mod:`schedlab.engine`) is a clock and an event heap; this module plugs the
cluster state, the placer (same policies and caches as the fill experiment), a queue
policy, an optional preemption of best-effort tasks, and a speed table into it.

Semantics (see ``docs/replay.md``):
- A task arrives; if it fits (and, in strict mode, nothing is waiting) it starts, else it
  waits in the queue. Departures at an instant come before arrivals at that instant.
- Queue order is the queue policy's key (ties: earlier arrival). ``backfill=True`` (the
  default) tries waiting tasks in that order and starts every one that fits; with
  ``backfill=False`` the first waiting task blocks all others until it starts (strict FIFO).
- Only a departure (or eviction) frees resources, and only on its node, so after it only
  waiting tasks whose shape fits that node are tried: exact, and cheap on long queues.
- With ``preempt``, a latency-sensitive (LS) task that cannot start evicts best-effort (BE)
  tasks of one node, in the victim policy's order, until it fits; the node chosen loses the
  least GPU-seconds (ties: the node order). Evicted tasks restart from scratch; they are
  tried again at once and otherwise wait. Preemption is tried when an LS task arrives and,
  in strict mode, when an LS task heads the queue.
- A task that fits no node even on the empty cluster is rejected on arrival.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sortedcontainers import SortedList

from schedlab.cluster import ClusterState, Fragmentation, ShapeTable, TypicalTasks
from schedlab.cluster.speeds import SpeedTable, class_index
from schedlab.engine import Simulator
from schedlab.metrics.latency import latency_stats
from schedlab.policies import PolicyContext, make_policy
from schedlab.queueing import VICTIM_POLICIES, QueueContext, make_queue_policy
from schedlab.scheduler import Placement, Placer
from schedlab.trace.tables import FloatArray, Nodes
from schedlab.workload.timed import TimedWorkload

log = logging.getLogger(__name__)

DEPART, ARRIVE, SAMPLE = 0, 1, 2  # event priorities at equal times
WAITING, RUNNING, DONE, REJECTED, FUTURE = 0, 1, 2, 3, 4
#: What each internal state is reported as, indexed by state.
STATUS = np.array(["unfinished", "unfinished", "completed", "rejected", "unfinished"], dtype=object)


@dataclass(frozen=True)
class ReplayConfig:
    """How to simulate: placement and queue policies, head-of-line rule, preemption, seed."""

    policy: str = "fgd"
    queue: str = "fifo"
    backfill: bool = True
    preempt: bool = False
    victim: str = "least-lost"
    seed: int = 42
    samples: int = 200


@dataclass
class ReplayResult:
    """Per-task records, every run attempt, time series and the summary of one simulation."""

    config: ReplayConfig
    tasks: pd.DataFrame
    attempts: pd.DataFrame
    series: pd.DataFrame
    frag_series: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


class Replay:
    """One simulation of ``workload`` on ``nodes``; call :meth:`run` once."""

    def __init__(
        self,
        workload: TimedWorkload,
        nodes: Nodes,
        config: ReplayConfig,
        speeds: SpeedTable | None = None,
    ) -> None:
        self.workload = workload
        self.config = config
        self.cluster = cluster = ClusterState(nodes)
        tie_rng, policy_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(2))
        self.frag = Fragmentation(TypicalTasks.from_tasks(workload.tasks), cluster.models)
        policy = make_policy(config.policy, PolicyContext(self.frag, policy_rng))
        self.node_order = tie_rng.permutation(len(cluster))
        self.placer = Placer(cluster, policy, self.node_order)
        self.rank = np.empty(len(cluster), dtype=np.int64)
        self.rank[self.node_order] = np.arange(len(cluster))
        table = ShapeTable.build(workload.tasks, cluster.models)
        self.shapes = table.shapes
        self.shape_of = table.of_task
        self.is_ls = workload.is_ls
        self.queue_policy = make_queue_policy(
            config.queue,
            QueueContext(workload.arrival, workload.duration, table.of_task, workload.user, self.is_ls),
        )
        self.victims = VICTIM_POLICIES.get(config.victim)()
        speed = (speeds or SpeedTable()).node_factors(cluster.model, cluster.models)
        self.speed = [speed[:, class_index(s)].tolist() for s in self.shapes]  # per shape: per node
        everywhere = np.arange(len(cluster))
        self.schedulable = [bool(ClusterState(nodes).feasible(s, everywhere).any()) for s in self.shapes]
        self._shape_arrays()

        n = len(workload)
        self.status = np.full(n, FUTURE, dtype=np.int64)
        self.start = np.full(n, np.nan)
        self.end = np.full(n, np.nan)
        self.node = np.full(n, -1, dtype=np.int64)
        self.gpu_mask = np.zeros(n, dtype=np.int64)
        self.preemptions = np.zeros(n, dtype=np.int64)
        self.waited = np.zeros(n)
        self.ran = np.zeros(n)
        self.enqueued_at = np.full(n, np.nan)
        self.attempt = np.zeros(n, dtype=np.int64)
        self.placement: list[Placement | None] = [None] * n
        self.queues: dict[int, SortedList] = {}
        self.queued = 0
        self.running = 0
        self.lost_gpu_s = 0.0
        self.be_on_node: list[set[int]] = [set() for _ in range(len(cluster))]
        # Typed column buffers (8 bytes a value; typecode q = int64, d = float64), in table order:
        # a million-task run keeps tens of millions of values.
        self.attempts: dict[str, array[Any]] = {
            k: array(code)
            for k, code in (
                ("task", "q"),
                ("node", "q"),
                ("gpu_mask", "q"),
                ("start", "d"),
                ("end", "d"),
                ("attempt", "q"),
            )
        }
        self.series: dict[str, array[Any]] = {
            k: array(code)
            for k, code in (("time", "d"), ("allocated_milli", "q"), ("queued", "q"), ("running", "q"))
        }
        self.frag_series: list[tuple[float, float, int]] = []
        self.sim = Simulator()
        self.be_cpu = np.zeros(len(cluster), dtype=np.int64)  # resources held by BE tasks, per node
        self.be_mem = np.zeros(len(cluster), dtype=np.int64)
        self.be_gpu = np.zeros_like(cluster.gpu_free)
        self._node_frag = np.zeros(len(cluster), dtype=np.int64)
        self._frag_seen = np.full(len(cluster), -1, dtype=np.int64)

    def _shape_arrays(self) -> None:
        s = self.shapes
        self.s_cpu = np.array([x.cpu for x in s], dtype=np.int64)
        self.s_mem = np.array([x.mem for x in s], dtype=np.int64)
        self.s_k = np.array([x.num_gpu for x in s], dtype=np.int64)
        self.s_milli = np.array([x.gpu_milli for x in s], dtype=np.int64)
        models = max(len(self.cluster.models), 1)
        self.s_allowed = np.array(
            [np.ones(models, bool) if x.allowed is None or x.is_cpu_only else x.allowed for x in s]
        ).reshape(len(s), models)
        self.s_total = (self.s_k * self.s_milli).tolist()

    # ----- events -------------------------------------------------------------------------

    def run(self) -> ReplayResult:
        wall = time.perf_counter()
        n = len(self.workload)
        arrival = self.workload.arrival
        if n:
            self.sim.schedule(float(arrival[0]), self._arrive, 0, ARRIVE)
            horizon = float(arrival[-1])
            self._sample_dt = horizon / self.config.samples if horizon > 0 else 0.0
            self.sim.schedule(float(arrival[0]), self._sample, 0, SAMPLE)
        self.sim.run()
        self._sample_now()
        return self._result(time.perf_counter() - wall)

    def _arrive(self, t: int) -> None:
        if t + 1 < len(self.status):
            self.sim.schedule(float(self.workload.arrival[t + 1]), self._arrive, t + 1, ARRIVE)
        s = int(self.shape_of[t])
        if not self.schedulable[s]:
            self.status[t] = REJECTED
            return
        self.status[t] = WAITING
        if self.config.backfill or not self.queued:
            if not self._start(t) and not (self.config.preempt and self.is_ls[t] and self._preempt_for(t)):
                self._enqueue(t)
        else:
            self._enqueue(t)
            self._drain_strict()
        self._record()

    def _depart(self, payload: tuple[int, int]) -> None:
        t, attempt = payload
        if attempt != self.attempt[t]:
            return  # evicted since: this departure was cancelled
        node = self._stop(t)
        self.status[t] = DONE
        self.end[t] = self.sim.now
        self.queue_policy.observe(t, self.sim.now - self.start[t])
        self._drain(node)
        self._record()

    def _sample(self, i: int) -> None:
        """Sample ``samples`` times over the arrival span, then ``samples`` times over what is
        left to run (as scheduled when the last arrival is sampled); at most 3 x ``samples``."""
        self._sample_now()
        samples = self.config.samples
        if i == samples and self.sim.pending:
            latest = self.sim.latest()
            self._sample_dt = max(self._sample_dt, (latest - self.sim.now) / samples)
        following = self.sim.now + self._sample_dt
        if self.sim.pending and i < 3 * samples and following > self.sim.now:
            self.sim.schedule(following, self._sample, i + 1, SAMPLE)

    def _sample_now(self) -> None:
        """Record cluster fragmentation, recomputing only nodes changed since the last sample."""
        c = self.cluster
        dirty = np.flatnonzero(self._frag_seen != c.version)
        if len(dirty):
            self._node_frag[dirty] = self.frag.node_frag(c.cpu_left[dirty], c.gpu_free[dirty], c.model[dirty])
            self._frag_seen[dirty] = c.version[dirty]
        frag = float(self._node_frag.sum()) / self.frag.scale
        self.frag_series.append((self.sim.now, frag, c.free_gpu_milli))

    def _record(self) -> None:
        series = self.series
        series["time"].append(self.sim.now)
        series["allocated_milli"].append(self.cluster.allocated_gpu_milli)
        series["queued"].append(self.queued)
        series["running"].append(self.running)

    # ----- starting, stopping, queueing ------------------------------------------------------

    def _start(self, t: int) -> bool:
        s = int(self.shape_of[t])
        placement = self.placer.place(self.shapes[s])
        if placement is None:
            return False
        now = self.sim.now
        node = placement.node
        self.placement[t] = placement
        self.status[t] = RUNNING
        self.start[t] = now
        self.node[t] = node
        self.gpu_mask[t] = placement.gpu_mask
        arrived = self.enqueued_at[t] if not np.isnan(self.enqueued_at[t]) else now
        self.waited[t] += now - arrived
        self.enqueued_at[t] = np.nan
        end = now + float(self.workload.duration[t]) / self.speed[s][node]
        self.sim.schedule(end, self._depart, (t, int(self.attempt[t])), DEPART)
        if self.config.preempt and not self.is_ls[t]:  # victims are only needed for preemption
            self.be_on_node[node].add(t)
            self._hold_be(t, placement, +1)
        self.running += 1
        return True

    def _hold_be(self, t: int, placement: Placement, sign: int) -> None:
        shape = self.shapes[int(self.shape_of[t])]
        self.be_cpu[placement.node] += sign * shape.cpu
        self.be_mem[placement.node] += sign * shape.mem
        if placement.gpus:
            self.be_gpu[placement.node, list(placement.gpus)] += sign * shape.gpu_milli

    def _stop(self, t: int) -> int:
        placement = self.placement[t]
        assert placement is not None
        self.placer.release(self.shapes[int(self.shape_of[t])], placement)
        self.placement[t] = None
        self.ran[t] += self.sim.now - self.start[t]
        rows = self.attempts
        rows["task"].append(t)
        rows["node"].append(placement.node)
        rows["gpu_mask"].append(placement.gpu_mask)
        rows["start"].append(float(self.start[t]))
        rows["end"].append(self.sim.now)
        rows["attempt"].append(int(self.attempt[t]))
        if t in self.be_on_node[placement.node]:
            self.be_on_node[placement.node].discard(t)
            self._hold_be(t, placement, -1)
        self.running -= 1
        return placement.node

    def _enqueue(self, t: int) -> None:
        s = int(self.shape_of[t])
        queue = self.queues.get(s)
        if queue is None:
            queue = self.queues[s] = SortedList()
        queue.add((self.queue_policy.key(t), t))
        self.status[t] = WAITING
        self.enqueued_at[t] = self.sim.now
        self.queued += 1

    def _pop(self, s: int) -> int:
        queue = self.queues[s]
        _, t = queue.pop(0)
        if not queue:
            del self.queues[s]
        self.queued -= 1
        return int(t)

    def _head(self, shapes: Any) -> int | None:
        """The shape (among ``shapes``) whose first waiting task comes first in queue order."""
        best, best_item = None, None
        for s in shapes:
            item = self.queues[s][0]
            if best_item is None or item < best_item:
                best, best_item = s, item
        return best

    def _fits_on(self, node: int) -> set[int]:
        """Waiting shapes that fit ``node`` as it is now."""
        if not self.queues:
            return set()
        waiting = np.fromiter(self.queues, dtype=np.int64, count=len(self.queues))
        c = self.cluster
        ok = (
            (self.s_cpu[waiting] <= c.cpu_left[node])
            & (self.s_mem[waiting] <= c.mem_left[node])
            & self.s_allowed[waiting, c.model[node]]
            & ((c.gpu_free[node][None, :] >= self.s_milli[waiting][:, None]).sum(axis=1) >= self.s_k[waiting])
        )
        return set(waiting[ok].tolist())

    def _drain(self, node: int) -> None:
        """Start waiting tasks after ``node`` gained resources."""
        if not self.config.backfill:
            self._drain_strict()
            return
        candidates = self._fits_on(node)
        while candidates:
            s = self._head(candidates)
            assert s is not None
            t = self.queues[s][0][1]
            if self._start(t):
                self._pop(s)
                candidates = self._fits_on(node)
            else:
                candidates.discard(s)

    def _drain_strict(self) -> None:
        """Start tasks from the head of the queue until the head does not fit."""
        while self.queues:
            s = self._head(self.queues)
            assert s is not None
            item = self.queues[s][0]
            t = int(item[1])
            if self._start(t):
                self._pop(s)
                continue
            if not (self.config.preempt and self.is_ls[t]):
                return
            self._pop(s)  # out of the queue while its preemption drains the queue
            if not self._preempt_for(t):
                self.queues.setdefault(s, SortedList()).add(item)
                self.queued += 1
                return

    # ----- preemption -------------------------------------------------------------------------

    def _preempt_for(self, t: int) -> bool:
        """Evict BE tasks of one node so that LS task ``t`` starts there; False if impossible."""
        s = int(self.shape_of[t])
        shape = self.shapes[s]
        c = self.cluster
        now = self.sim.now
        best: tuple[float, int, list[int]] | None = None
        # Only nodes where evicting every BE task would make room can host it after evictions.
        room = (
            (c.cpu_left + self.be_cpu >= shape.cpu)
            & (c.mem_left + self.be_mem >= shape.mem)
            & self.s_allowed[s, c.model]
            & ((c.gpu_free + self.be_gpu >= shape.gpu_milli).sum(axis=1) >= shape.num_gpu)
            & (self.be_cpu > 0)
        )
        for node in np.flatnonzero(room).tolist():
            tasks = np.fromiter(self.be_on_node[node], dtype=np.int64)
            order = self.victims.order(
                tasks, self.start[tasks], np.array([self.s_total[self.shape_of[v]] for v in tasks]), now
            )
            cpu, mem, free = int(c.cpu_left[node]), int(c.mem_left[node]), c.gpu_free[node].copy()
            chosen: list[int] = []
            cost = 0.0
            for v in order.tolist():
                if self._fits(shape, cpu, mem, free):
                    break
                placement = self.placement[v]
                assert placement is not None
                vs = self.shapes[int(self.shape_of[v])]
                cpu, mem = cpu + vs.cpu, mem + vs.mem
                free[list(placement.gpus)] += vs.gpu_milli
                chosen.append(v)
                cost += (now - float(self.start[v])) * vs.total_gpu_milli / 1000
            if chosen and self._fits(shape, cpu, mem, free):
                key = (cost, int(self.rank[node]), chosen)
                if best is None or key[:2] < best[:2]:
                    best = key
        if best is None:
            return False
        victims = best[2]
        for v in victims:
            self._stop(v)
            self.preemptions[v] += 1
            self.attempt[v] += 1
            self.lost_gpu_s += (now - float(self.start[v])) * self.s_total[self.shape_of[v]] / 1000
            self.status[v] = WAITING
        started = self._start(t)
        assert started, "the preempting task must fit after eviction"
        for v in victims:
            if not (self.config.backfill and self._start(v)):
                self._enqueue(v)
        self._drain(int(self.node[t]))
        return True

    @staticmethod
    def _fits(shape: Any, cpu: int, mem: int, free: np.ndarray) -> bool:
        return bool(
            cpu >= shape.cpu and mem >= shape.mem and int((free >= shape.gpu_milli).sum()) >= shape.num_gpu
        )

    # ----- results ------------------------------------------------------------------------------

    def _result(self, wall_s: float) -> ReplayResult:
        w = self.workload
        done = self.status == DONE
        jct = np.where(done, self.end - w.arrival, np.nan)
        wait = np.where(done, jct - self.ran, np.nan)
        tasks = pd.DataFrame(
            {
                "task": np.arange(len(w)),
                "name": w.tasks.name,
                "qos": w.tasks.qos,
                "ls": self.is_ls,
                "shape": self.shape_of,
                "arrival": w.arrival,
                "duration": w.duration,
                "start": self.start,
                "end": self.end,
                "node": self.node,
                "gpu_mask": self.gpu_mask,
                "preemptions": self.preemptions,
                "run_time": self.ran,
                "jct": jct,
                "wait": wait,
                "status": STATUS[self.status],
            }
        )
        attempts, series = (
            pd.DataFrame({k: np.frombuffer(v, dtype=v.typecode) for k, v in buffers.items()})
            for buffers in (self.attempts, self.series)
        )
        frag_series = pd.DataFrame(self.frag_series, columns=["time", "frag_milli", "free_milli"])
        summary = self._summary(tasks, wall_s)
        return ReplayResult(self.config, tasks, attempts, series, frag_series, summary)

    def _summary(self, tasks: pd.DataFrame, wall_s: float) -> dict[str, Any]:
        done = tasks[tasks["status"] == "completed"]
        doc: dict[str, Any] = {
            "tasks": len(tasks),
            "completed": len(done),
            "unfinished": int((tasks["status"] == "unfinished").sum()),
            "rejected": int((tasks["status"] == "rejected").sum()),
            "excluded": dict(self.workload.excluded),
        }
        for name, values in (("jct", done["jct"]), ("wait", done["wait"])):
            for stat, value in latency_stats(values.to_numpy()).items():
                doc[f"{name}_{stat}"] = value
        for label, mask in (("ls", done["ls"]), ("be", ~done["ls"])):
            part = done[mask]
            doc[label] = {"completed": len(part)} | {
                f"{name}_{stat}": value
                for name in ("jct", "wait")
                for stat, value in latency_stats(part[name].to_numpy()).items()
            }
        end = float(np.nanmax(tasks["end"])) if len(done) else 0.0
        first = float(tasks["arrival"].min()) if len(tasks) else 0.0
        doc |= {
            "preemptions": int(tasks["preemptions"].sum()),
            "lost_gpu_s": self.lost_gpu_s,
            "makespan": end - first,
            "events": self.sim.events,
            "wall_s": round(wall_s, 4),
            "tasks_per_s": round(len(tasks) / wall_s, 1) if wall_s > 0 else None,
            "config": asdict(self.config),
            "workload": self.workload.source,
        }
        return doc


def replay(
    workload: TimedWorkload, nodes: Nodes, config: ReplayConfig, speeds: SpeedTable | None = None
) -> ReplayResult:
    """Simulate ``workload`` on ``nodes``."""
    return Replay(workload, nodes, config, speeds).run()


def time_average(times: FloatArray, values: FloatArray, end: float) -> float:
    """Time average of a step function (``values[i]`` holds from ``times[i]`` to the next time)."""
    if not len(times) or end <= times[0]:
        return 0.0
    spans = np.diff(np.append(times, end))
    return float((values * spans).sum() / (end - times[0]))
