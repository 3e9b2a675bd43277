"""Progress rates: tasks that share a GPU slow each other down, as an interference model says.

A running task has work left (seconds of its run time at speed 1, running alone) and a rate
(its node's speed / its slowdown). Whenever the set of tasks on a GPU changes, every task on
that GPU is brought up to date (work left -= time since x old rate) and gets a new rate from
the model's slowdown for the new group; its departure is rescheduled at now + work left /
rate. Only tasks with a configuration (a ``profile``) take part; whole-GPU tasks are alone on
their GPUs and a task alone runs at its node's speed, on a MIG instance (a node of model
``<MODEL>/<profile>``, :mod:`schedlab.cluster.partition`) slowed as the model says the
configuration runs alone under MPS at the instance's compute share.

An inference service or LLM replica lives for its run time whatever its slowdown (slowdown
makes its requests slower, not its life longer): its departure is never moved, and every span
of constant slowdown is kept in :attr:`ProgressRates.segments` for its latency metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedlab.interference import InterferenceModel, Sharing
from schedlab.interference.colocation import Colocation
from schedlab.sim.model import ReplayModel


class _Solo:
    """``solo[t, node]``: task ``t``'s slowdown alone on ``node`` (its configuration's row of
    ``table``, the node's model's column)."""

    def __init__(self, table: np.ndarray, rows: np.ndarray, node_model: np.ndarray) -> None:
        self.table, self.rows, self.node_model = table, rows, node_model

    def __getitem__(self, key: tuple[int, int]) -> float:
        t, node = key
        return float(self.table[self.rows[t], self.node_model[node]])


class ProgressRates:
    """Per-GPU groups of profiled tasks and their rates; ``reschedule(task, end)`` is told each
    task's new departure time."""

    def __init__(
        self,
        model: InterferenceModel,
        sharing: Sharing,
        profile: np.ndarray,
        reschedule: Callable[[int, float], None],
        service: np.ndarray | None = None,
        solo: _Solo | None = None,
    ) -> None:
        self.model = model
        self.sharing = sharing
        self.profile = profile
        self.reschedule = reschedule
        n = len(profile)
        self.service = np.zeros(n, dtype=bool) if service is None else service
        #: (task, start, end, slowdown, speed) of every span a service ran at one slowdown
        self.segments: list[tuple[int, float, float, float, float]] = []
        self.left = np.zeros(n)  # work left, in seconds at speed 1 alone
        self.speed = np.ones(n)  # the node's speed for the task
        self.since = np.zeros(n)  # when left was last brought up to date
        self.slowdown = np.ones(n)  # the current slowdown: rate = speed / slowdown
        #: per node: the slowdown of each task's configuration alone there (None: 1)
        self.solo = solo
        self.groups: dict[tuple[int, int], list[int]] = {}
        self.busy_nodes: dict[int, int] = {}  # node: profiled tasks sharing its GPUs

    def start(self, t: int, node: int, gpus: tuple[int, ...], work: float, speed: float, now: float) -> None:
        """Task ``t`` starts on ``gpus`` of ``node`` with ``work`` seconds to do at ``speed``."""
        self.left[t], self.speed[t], self.since[t], self.slowdown[t] = work, speed, now, 1.0
        if self.service[t]:
            self.reschedule(t, now + work)  # a service lives its run time
        if not self.profile[t] or len(gpus) != 1:
            if not self.service[t]:
                self.reschedule(t, now + work / speed)
            return
        group = self.groups.setdefault((node, gpus[0]), [])
        group.append(t)
        self.busy_nodes[node] = self.busy_nodes.get(node, 0) + 1
        self._update(group, node, now, new=t)

    def stop(self, t: int, node: int, gpus: tuple[int, ...], now: float) -> None:
        """Task ``t`` leaves (finished or evicted): its GPU's others speed up."""
        self._close(t, now)
        if not self.profile[t] or len(gpus) != 1:
            return
        group = self.groups[(node, gpus[0])]
        group.remove(t)
        self.busy_nodes[node] -= 1
        if not self.busy_nodes[node]:
            del self.busy_nodes[node]
        self._update(group, node, now, new=-1)

    def _update(self, group: list[int], node: int, now: float, new: int) -> None:
        slowdowns = self.model.slowdowns([str(self.profile[u]) for u in group], self.sharing)
        if len(group) == 1:  # alone: no sharing, no slowdown (but a MIG slice's own)
            slowdowns[0] = 1.0 if self.solo is None else float(self.solo[group[0], node])
        for u, slowdown in zip(group, slowdowns, strict=True):
            if self.service[u]:
                self._close(u, now)
                self.slowdown[u] = float(slowdown)
                continue
            if u != new:  # the work done since the last change, at the rate of then
                done = (now - self.since[u]) * self.speed[u] / self.slowdown[u]
                self.left[u] = max(self.left[u] - done, 0.0)
            self.since[u] = now
            self.slowdown[u] = float(slowdown)
            self.reschedule(u, now + self.left[u] * self.slowdown[u] / self.speed[u])

    def _close(self, t: int, now: float) -> None:
        """End service ``t``'s current span of constant slowdown at ``now``."""
        if self.service[t] and now > self.since[t]:
            self.segments.append(
                (t, float(self.since[t]), now, float(self.slowdown[t]), float(self.speed[t]))
            )
        self.since[t] = now


def solo_slowdown(model: InterferenceModel, config: str, share: float) -> float:
    """The slowdown of ``config`` alone on a GPU of which it has ``share`` of the compute: 1
    on a whole GPU, on a MIG instance the model's MPS-alone slowdown at that SM share."""
    if share >= 1:
        return 1.0
    return model.alone(config, Sharing("mps", max(1, round(100 * share))))


def progress_rates(
    m: ReplayModel, reschedule: Callable[[int, float], None]
) -> tuple[ProgressRates | None, Colocation | None]:
    """A replay's progress rates and the co-location groups its policies read (None, None
    without an interference model); ``reschedule(task, end)`` moves a departure."""
    if m.interference is None:
        return None, None
    w = m.workload
    profile = w.profile if w.profile is not None else np.full(len(w), "", dtype=object)
    solo = None
    if (m.slice_share < 1).any():  # MIG instances: per task and node, its slowdown alone there
        names = sorted({str(p) for p in profile if p})
        table = np.array([[solo_slowdown(m.interference, a, s) for s in m.slice_share] for a in names])
        index = {a: i for i, a in enumerate(names)}
        rows = np.array([index.get(str(p), 0) for p in profile], dtype=np.int64)
        solo = _Solo(table, rows, m.cluster.model) if len(names) else None
    rates = ProgressRates(m.interference, m.sharing, profile, reschedule, w.serves_requests, solo)
    groups = Colocation(
        m.interference, m.sharing, profile, w.rate_rps, w.slo_ms, rates.groups, rates.busy_nodes, m.llm_limits
    )
    return rates, groups
