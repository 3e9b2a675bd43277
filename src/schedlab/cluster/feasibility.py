"""Feasibility, the hard filter shared by every policy, written once.

A task fits a node when the node has the CPU and memory it asks for, its GPU-type constraint
allows the node's model (GPU tasks only), and at least ``num_gpu`` of the node's GPUs each
have ``gpu_milli`` free. Two vectorised forms: many nodes for one shape (placement), and
many shapes for one node (which waiting tasks a freed node could take).
"""

from __future__ import annotations

from schedlab.cluster.shapes import Shape, ShapeArrays
from schedlab.trace.tables import BoolArray, IntArray


def nodes_fitting(
    cpu_left: IntArray, mem_left: IntArray, gpu_free: IntArray, model: IntArray, shape: Shape
) -> BoolArray:
    """Which nodes (rows of the arrays) can host ``shape``."""
    ok: BoolArray = (cpu_left >= shape.cpu) & (mem_left >= shape.mem)
    if shape.is_cpu_only:
        return ok
    if shape.allowed is not None:
        ok &= shape.allowed[model]
    fit: BoolArray = (gpu_free >= shape.gpu_milli).sum(axis=1) >= shape.num_gpu
    return ok & fit


def shapes_fitting(
    cpu_left: int, mem_left: int, gpu_free: IntArray, model: int, shapes: ShapeArrays, ids: IntArray
) -> BoolArray:
    """Which of the shapes ``ids`` one node (``gpu_free`` is its row) can host."""
    ok: BoolArray = (
        (shapes.cpu[ids] <= cpu_left)
        & (shapes.mem[ids] <= mem_left)
        & shapes.allowed[ids, model]
        & ((gpu_free[None, :] >= shapes.gpu_milli[ids][:, None]).sum(axis=1) >= shapes.num_gpu[ids])
    )
    return ok
