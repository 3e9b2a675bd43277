"""Shared fixtures and helpers for tiny hand-built clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.cluster import ClusterState, Fragmentation, ShapeTable, TypicalTasks
from schedlab.cluster.shapes import Shape
from schedlab.policies import PolicyContext, make_policy
from schedlab.scheduler import Placer
from schedlab.trace import Nodes, Tasks

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "openb-2023"


def shape(cluster: ClusterState, cpu: int, mem: int, k: int, milli: int, spec: str = "") -> Shape:
    """A single task shape bound to ``cluster``'s GPU models."""
    return ShapeTable.build(Tasks.build([(cpu, mem, k, milli, spec)]), cluster.models).shapes[0]


def typical(rows: list[tuple[int, int, int, str, int]]) -> TypicalTasks:
    """Typical tasks from ``(cpu, gpu_milli, num_gpu, gpu_spec, count)`` rows."""
    cpu, milli, k, spec, count = zip(*rows, strict=True)
    return TypicalTasks(
        cpu=np.array(cpu, dtype=np.int64),
        gpu_milli=np.array(milli, dtype=np.int64),
        num_gpu=np.array(k, dtype=np.int64),
        gpu_spec=tuple(spec),
        count=np.array(count, dtype=np.int64),
        covered=1.0,
    )


def three_nodes() -> ClusterState:
    """The hand-built cluster of the policy tests.

    n0: T4, 4 GPUs, 32 cores, 100 GiB; holds sharing tasks of 600 (GPU 1) and 300 (GPU 3)
        -> CPU left 30000, GPU free [1000, 400, 1000, 700].
    n1: T4, 2 GPUs, 32 cores, 50 GiB; empty -> GPU free [1000, 1000].
    n2: V100, 8 GPUs, 64 cores, 50 GiB; one whole-GPU task on GPU 0
        -> CPU left 63000, GPU free [0, 1000 x 7].
    """
    cluster = ClusterState(
        Nodes.build(
            [
                ("n0", 32000, 100000, 4, "T4"),
                ("n1", 32000, 50000, 2, "T4"),
                ("n2", 64000, 50000, 8, "V100"),
            ]
        )
    )
    cluster.place(0, shape(cluster, 1000, 1000, 1, 600), [1])
    cluster.place(0, shape(cluster, 1000, 1000, 1, 300), [3])
    cluster.place(2, shape(cluster, 1000, 1000, 1, 1000), [0])
    return cluster


def placer(
    cluster: ClusterState,
    policy: str,
    order: list[int] | None = None,
    typical_tasks: TypicalTasks | None = None,
    seed: int = 0,
) -> Placer:
    frag = Fragmentation(typical_tasks or typical([(1000, 500, 1, "", 1)]), cluster.models)
    context = PolicyContext(frag, np.random.default_rng(seed))
    node_order = np.array(order if order is not None else range(len(cluster)), dtype=np.int64)
    return Placer(cluster, make_policy(policy, context), node_order)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared trace data not found at {SHARED_DATA}")
    return SHARED_DATA
