"""Preemptible running tasks, kept incrementally per node in start order, with the
resources they hold (so that nodes where evictions could make room are found at once)."""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import ShapeArrays
from schedlab.cluster.state import ClusterState
from schedlab.trace.tables import BoolArray, FloatArray, IntArray


class Evictable:
    """Per node: the preemptible tasks running there (insertion = start order) and the CPU,
    memory and per-GPU milli they hold."""

    def __init__(self, cluster: ClusterState, shapes: ShapeArrays, tasks: int) -> None:
        n = len(cluster)
        self.cluster = cluster
        self.shapes = shapes
        #: Per task: the node where it runs and can be evicted, holding a GPU; -1 otherwise.
        self.gpu_node = np.full(tasks, -1, dtype=np.int64)
        self.on_node: list[dict[int, None]] = [{} for _ in range(n)]
        self.cpu = np.zeros(n, dtype=np.int64)
        self.mem = np.zeros(n, dtype=np.int64)
        self.gpu = np.zeros_like(cluster.gpu_free)
        self.count = np.zeros(n, dtype=np.int64)

    def add(self, task: int, shape: int, node: int, gpus: tuple[int, ...]) -> None:
        self.on_node[node][task] = None
        self._hold(shape, node, gpus, +1)
        if gpus:
            self.gpu_node[task] = node

    def remove(self, task: int, shape: int, node: int, gpus: tuple[int, ...]) -> None:
        del self.on_node[node][task]
        self._hold(shape, node, gpus, -1)
        self.gpu_node[task] = -1

    def least_gpu_loss(self, started: FloatArray, total: IntArray, now: float) -> FloatArray:
        """Per node: the fewest GPU-seconds that evicting one of its GPU-holding tasks loses
        (``(now - started) * total / 1000``, as an eviction counts them); inf where none."""
        tasks = np.flatnonzero(self.gpu_node >= 0)
        least = np.full(len(self.cluster), np.inf)
        np.minimum.at(least, self.gpu_node[tasks], (now - started[tasks]) * total[tasks] / 1000)
        return least

    def _hold(self, shape: int, node: int, gpus: tuple[int, ...], sign: int) -> None:
        s = self.shapes
        self.cpu[node] += sign * int(s.cpu[shape])
        self.mem[node] += sign * int(s.mem[shape])
        if gpus:
            self.gpu[node, list(gpus)] += sign * int(s.gpu_milli[shape])
        self.count[node] += sign

    def tasks_on(self, node: int) -> IntArray:
        return np.fromiter(self.on_node[node], dtype=np.int64, count=len(self.on_node[node]))

    def room(self, shape: int) -> BoolArray:
        """Nodes in service holding preemptible tasks whose eviction, all of them, would make
        ``shape`` fit."""
        c, s = self.cluster, self.shapes
        fit: BoolArray = (
            (self.count > 0)
            & c.up
            & (c.cpu_left + self.cpu >= s.cpu[shape])
            & (c.mem_left + self.mem >= s.mem[shape])
            & s.allowed[shape, c.model]
            & ((c.gpu_free + self.gpu >= s.gpu_milli[shape]).sum(axis=1) >= s.num_gpu[shape])
        )
        return fit
