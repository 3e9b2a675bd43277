"""Gang jobs in the replay: which gangs can ever run, and placing a whole gang at once.

A gang of N tasks starts only when all N can be placed at the same instant (the placement
policy picks each member's node in turn, on the cluster as the members before it left it);
if any member finds no node, the members placed so far are released and nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.scheduler import Placement, Placer
from schedlab.trace.tables import GPU_MILLI, BoolArray, IntArray


def copies_that_fit(cluster: ClusterState, shape: Shape) -> int:
    """How many tasks of ``shape`` the cluster holds at once as it is now, each node packed
    on its own (exact for identical tasks: a node's GPUs, CPU and memory bound them)."""
    return int(copies_per_node(cluster, shape).sum())


def copies_per_node(cluster: ClusterState, shape: Shape) -> IntArray:
    """How many tasks of ``shape`` each node holds now, packed on its own (0 out of service)."""
    cpu = cluster.cpu_left // max(shape.cpu, 1)
    mem = cluster.mem_left // max(shape.mem, 1) if shape.mem > 0 else np.full(len(cluster), 1 << 40)
    count = np.minimum(cpu, mem)
    if shape.num_gpu:
        if shape.is_sharing:
            per_node = (cluster.gpu_free // shape.gpu_milli).sum(axis=1)
        else:
            per_node = (cluster.gpu_free == GPU_MILLI).sum(axis=1) // shape.num_gpu
        count = np.minimum(count, per_node)
        if shape.allowed is not None:
            count = np.where(shape.allowed[cluster.model], count, 0)
    return np.where(cluster.up, count, 0)


def gangs_that_fit(cluster: ClusterState, shapes: Sequence[Shape], shape_of: IntArray, leader: IntArray,
                   size: IntArray) -> BoolArray:  # fmt: skip
    """Per task: whether its gang fits the empty ``cluster`` at all (True for tasks alone)."""
    fits = np.ones(len(leader), dtype=bool)
    leaders = np.flatnonzero((size > 1) & (leader == np.arange(len(leader))))
    room: dict[int, int] = {}
    for t in leaders:
        s = int(shape_of[t])
        if s not in room:
            room[s] = copies_that_fit(cluster, shapes[s])
        if room[s] < size[t]:
            fits[t : t + size[t]] = False
    return fits


def place_gang(
    placer: Placer, shape: Shape, size: int, excluded: IntArray | None = None
) -> list[Placement] | None:
    """Place ``size`` tasks of ``shape`` one after another, not on the nodes ``excluded``;
    all of them, or none (released)."""
    placed: list[Placement] = []
    for _ in range(size):
        placement = placer.place(shape, excluded)
        if placement is None:
            for done in reversed(placed):
                placer.release(shape, done)
            return None
        placed.append(placement)
    return placed
