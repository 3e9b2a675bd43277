"""A read-only view of the cluster state: what placement policies are given.

The arrays are views of the live state (they follow every placement and release) with
numpy's ``writeable`` flag off, so a policy that tries to change the cluster fails at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedlab.cluster.state import ClusterState
from schedlab.trace.tables import GPU_MILLI, IntArray


def _frozen(array: IntArray) -> IntArray:
    view = array.view()
    view.flags.writeable = False
    return view


class ClusterView:
    """Read-only node arrays (row = node) and the cluster's fixed facts.

    ``cpu_left``, ``mem_left``, ``gpu_free`` (N x G, 0 for GPUs a node does not have),
    ``class_count`` (N x (G+1): column 0 counts sharing tasks, column k tasks of k whole
    GPUs), ``num_gpu``, ``model`` (ids into ``models``), ``version`` (each node's change
    count: a node whose version is the same has not changed, so a policy may remember what
    it computed from it). ``cpu_scale`` and ``gpu_scale`` are
    the CPU (milli) and GPU (milli) capacity of the largest node: the normalisers of the
    policies that weigh CPU against GPU (128000 and 8000 on the openb cluster).
    ``colocation`` (a :class:`~schedlab.interference.colocation.Colocation`, or None when the
    run models no interference) tells which profiled tasks share each GPU and the task being
    placed, with the interference model: what an interference-aware policy consults.
    """

    __slots__ = (
        "class_count",
        "colocation",
        "cpu_left",
        "cpu_scale",
        "gpu_free",
        "gpu_scale",
        "mem_left",
        "model",
        "models",
        "num_gpu",
        "version",
        "width",
    )

    def __init__(self, state: ClusterState) -> None:
        self.cpu_left = _frozen(state.cpu_left)
        self.mem_left = _frozen(state.mem_left)
        self.gpu_free = _frozen(state.gpu_free)
        self.class_count = _frozen(state.class_count)
        self.num_gpu = _frozen(state.num_gpu)
        self.model = _frozen(state.model)
        self.version = _frozen(state.version)
        self.models = state.models
        self.width = state.width
        self.cpu_scale = max(int(state.nodes.cpu_milli.max(initial=0)), 1)
        self.gpu_scale = max(int(state.num_gpu.max(initial=0)), 1) * GPU_MILLI
        self.colocation: Any = None

    def __len__(self) -> int:
        return len(self.cpu_left)


def lowest_free_gpus(free: IntArray, count: int) -> IntArray:
    """The ``count`` lowest-indexed completely free GPUs of one node's ``free`` row."""
    result: IntArray = np.flatnonzero(free == GPU_MILLI)[:count]
    return result
