"""Mutable cluster state held in numpy arrays: what each node has left.

Tasks are placed and released through :meth:`ClusterState.place` and
:meth:`ClusterState.release`; every change bumps the node's entry in :attr:`version`, so
callers can cache per-node work and recompute only nodes that changed.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from schedlab.cluster.feasibility import nodes_fitting
from schedlab.cluster.shapes import Shape
from schedlab.trace.tables import GPU_MILLI, BoolArray, IntArray, Nodes


class CapacityError(RuntimeError):
    """A placement that does not fit, or a release of resources that were not held."""


class ClusterState:
    """Free CPU, memory and per-GPU milli of every node, plus the task classes on it.

    Arrays (row = node): ``cpu_left``, ``mem_left``, ``gpu_free`` (N x G, 0 for GPUs a node
    does not have), ``class_count`` (N x (G+1): column 0 counts sharing tasks, column k
    tasks of k whole GPUs), ``model`` (id into :attr:`models`), ``version``.
    """

    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        models, model = np.unique(nodes.model.astype(str), return_inverse=True)
        self.models: tuple[str, ...] = tuple(str(m) for m in models)
        self.model: IntArray = model.astype(np.int64)
        self.num_gpu: IntArray = nodes.num_gpu.copy()
        self.width = max(1, int(nodes.num_gpu.max(initial=0)))
        self.cpu_capacity = int(nodes.cpu_milli.sum())
        self.gpu_capacity = int(nodes.num_gpu.sum()) * GPU_MILLI
        self.cpu_left: IntArray = nodes.cpu_milli.copy()
        self.mem_left: IntArray = nodes.memory_mib.copy()
        has = np.arange(self.width)[None, :] < nodes.num_gpu[:, None]
        self.gpu_free: IntArray = np.where(has, GPU_MILLI, 0).astype(np.int64)
        self.class_count: IntArray = np.zeros((len(nodes), self.width + 1), dtype=np.int64)
        self.version: IntArray = np.zeros(len(nodes), dtype=np.int64)
        #: Whether each node is in service (node events take nodes out and back).
        self.up: BoolArray = np.ones(len(nodes), dtype=bool)
        self.changes = array("q")  # every node changed, in order: lets caches find what changed
        self.allocated_gpu_milli = 0

    def __len__(self) -> int:
        return len(self.cpu_left)

    def feasible(self, shape: Shape, nodes: IntArray) -> BoolArray:
        """Which of ``nodes`` can host ``shape`` now (see :mod:`schedlab.cluster.feasibility`);
        a node out of service hosts nothing."""
        fits: BoolArray = nodes_fitting(
            self.cpu_left[nodes], self.mem_left[nodes], self.gpu_free[nodes], self.model[nodes], shape
        )
        return fits & self.up[nodes]

    def set_up(self, node: int, up: bool) -> None:
        """Take ``node`` out of service (no new placements; what runs there stays) or back."""
        self.up[node] = up
        self.version[node] += 1
        self.changes.append(node)

    @property
    def gpu_capacity_up(self) -> int:
        """GPU milli of the nodes in service."""
        return int(self.num_gpu[self.up].sum()) * GPU_MILLI

    def place(self, node: int, shape: Shape, gpus: npt.ArrayLike, check: bool = True) -> None:
        """Take ``shape``'s resources on ``node``, ``shape.gpu_milli`` from each of ``gpus``.

        ``check=False`` skips the capacity check, for callers that know it fits.
        """
        idx = np.asarray(gpus, dtype=np.int64)
        why = self.why_not(node, shape, idx) if check else None
        if why:
            name = self.nodes.name[node]
            raise CapacityError(f"{shape.describe()} does not fit node {name} on GPUs {idx.tolist()}: {why}")
        self._apply(node, shape, idx, -1)

    def why_not(self, node: int, shape: Shape, idx: IntArray) -> str | None:
        """Why ``shape`` cannot take GPUs ``idx`` of ``node`` now, or None if it can."""
        if self.cpu_left[node] < shape.cpu or self.mem_left[node] < shape.mem:
            return "not enough CPU or memory left"
        if len(idx) != shape.num_gpu:
            return f"the task needs {shape.num_gpu} GPU(s), {len(idx)} given"
        if not ((idx >= 0) & (idx < self.num_gpu[node])).all():
            return f"the node has GPUs 0..{self.num_gpu[node] - 1}"
        if len(np.unique(idx)) != len(idx):
            return "a GPU is given twice"
        if not (shape.is_cpu_only or shape.allowed is None or bool(shape.allowed[self.model[node]])):
            return f"the task may not run on {self.models[self.model[node]]}"
        short = idx[self.gpu_free[node, idx] < shape.gpu_milli]
        if len(short):
            return f"GPU {short[0]} has {self.gpu_free[node, short[0]]} milli free, {shape.gpu_milli} needed"
        return None

    def release(self, node: int, shape: Shape, gpus: npt.ArrayLike) -> None:
        """Give back what :meth:`place` took."""
        idx = np.asarray(gpus, dtype=np.int64)
        if (self.gpu_free[node, idx] + shape.gpu_milli > GPU_MILLI).any() or (
            shape.task_class >= 0 and self.class_count[node, shape.task_class] == 0
        ):
            raise CapacityError(f"node {node} does not hold shape {shape.id} on GPUs {idx}")
        self._apply(node, shape, idx, +1)

    def _apply(self, node: int, shape: Shape, gpus: IntArray, sign: int) -> None:
        self.cpu_left[node] += sign * shape.cpu
        self.mem_left[node] += sign * shape.mem
        if len(gpus):
            self.gpu_free[node, gpus] += sign * shape.gpu_milli
            self.class_count[node, shape.task_class] -= sign
            self.allocated_gpu_milli -= sign * shape.total_gpu_milli
        if (
            self.cpu_left[node] < 0
            or self.mem_left[node] < 0
            or (len(gpus) and self.gpu_free[node, gpus].min() < 0)
        ):
            raise CapacityError(f"node {self.nodes.name[node]}: resources below zero (cluster state broken)")
        self.version[node] += 1
        self.changes.append(node)

    def changed_since(self, position: int) -> IntArray:
        """Nodes changed since :attr:`changes` had ``position`` entries (each once)."""
        return np.fromiter(dict.fromkeys(self.changes[position:]), dtype=np.int64)
