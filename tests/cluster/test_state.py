"""Cluster state: placing and releasing, feasibility, capacity errors."""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.cluster import CapacityError, ClusterState
from schedlab.trace import Nodes
from tests.conftest import shape, three_nodes


def test_initial_state() -> None:
    cluster = ClusterState(Nodes.build([("a", 8000, 100, 2, "T4"), ("b", 4000, 50, 0, "")]))
    assert cluster.gpu_free.tolist() == [[1000, 1000], [0, 0]]
    assert cluster.gpu_capacity == 2000
    assert cluster.models == ("", "T4")


def test_place_and_release_round_trip() -> None:
    cluster = three_nodes()
    before = (cluster.cpu_left.copy(), cluster.mem_left.copy(), cluster.gpu_free.copy())
    s = shape(cluster, 2000, 3000, 2, 1000)
    cluster.place(0, s, [0, 2])
    assert cluster.gpu_free[0, :4].tolist() == [0, 400, 0, 700]
    assert cluster.class_count[0, 2] == 1
    assert cluster.allocated_gpu_milli == 600 + 300 + 1000 + 2000
    cluster.release(0, s, [0, 2])
    for a, b in zip(before, (cluster.cpu_left, cluster.mem_left, cluster.gpu_free), strict=True):
        assert np.array_equal(a, b)
    assert cluster.class_count[0, 2] == 0
    assert cluster.version[0] == 4


def test_feasibility_rules() -> None:
    cluster = three_nodes()
    nodes = np.arange(3)
    assert cluster.feasible(shape(cluster, 1000, 1000, 0, 0), nodes).tolist() == [True, True, True]
    assert cluster.feasible(shape(cluster, 1000, 1000, 1, 800), nodes).tolist() == [True, True, True]
    # Two whole GPUs: n0 has GPUs 0 and 2 free; n1 both; n2 seven.
    assert cluster.feasible(shape(cluster, 1000, 1000, 3, 1000), nodes).tolist() == [False, False, True]
    assert cluster.feasible(shape(cluster, 1000, 1000, 1, 300, "T4"), nodes).tolist() == [True, True, False]
    assert cluster.feasible(shape(cluster, 1000, 60000, 1, 300), nodes).tolist() == [True, False, False]
    assert cluster.feasible(shape(cluster, 40000, 1000, 0, 0), nodes).tolist() == [False, False, True]


def test_capacity_errors() -> None:
    cluster = three_nodes()
    with pytest.raises(CapacityError):
        cluster.place(0, shape(cluster, 1000, 1000, 1, 500), [1])  # GPU 1 has 400 left
    with pytest.raises(CapacityError):
        cluster.place(0, shape(cluster, 1000, 1000, 2, 1000), [0, 0])  # same GPU twice
    with pytest.raises(CapacityError):
        cluster.place(2, shape(cluster, 1000, 1000, 1, 300, "T4"), [1])  # wrong model
    with pytest.raises(CapacityError):
        cluster.release(1, shape(cluster, 1000, 1000, 1, 300), [0])  # nothing held there
