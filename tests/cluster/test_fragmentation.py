"""Fragmentation against hand-computed values, and the typical-task selection."""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.cluster import ClusterView, Fragmentation, TypicalTasks
from schedlab.cluster.fragmentation import NodeFragmentation
from schedlab.trace import load_tasks
from tests.conftest import shape, three_nodes, typical

# A: CPU-only (x1), B: sharing 500 (x2), C: one whole GPU (x1), E: sharing 200 on V100 only (x1).
TYPICAL = typical(
    [
        (1000, 0, 0, "", 1),
        (1000, 500, 1, "", 2),
        (1000, 1000, 1, "", 1),
        (1000, 200, 1, "V100", 1),
    ]
)
MODELS = ("T4", "V100")


def frag_of(cpu: int, free: list[int], model: str) -> float:
    f = Fragmentation(TYPICAL, MODELS)
    num = f.node_frag(np.array([cpu]), np.array([free]), np.array([MODELS.index(model)]))
    return float(num[0]) / f.scale


def test_hand_computed_nodes() -> None:
    # T4 [300, 1000]: A 1300, B 300 (the 300 GPU is below 500), C 300, E excluded 1300.
    assert frag_of(8000, [300, 1000], "T4") == (1300 + 2 * 300 + 300 + 1300) / 5
    # T4 [300, 400]: nothing fits a 500 or whole task: everything is fragment.
    assert frag_of(8000, [300, 400], "T4") == 700
    # Too little CPU for any typical task: all free GPU is fragment.
    assert frag_of(500, [1000, 1000], "T4") == 2000
    # V100 [300, 100]: A 400, B 400, C 400, E fits (300 >= 200) and leaves the 100 -> 100.
    assert frag_of(8000, [300, 100], "V100") == (400 + 800 + 400 + 100) / 5
    # A full node has no fragment; an empty 8-GPU node only the CPU-only share.
    assert frag_of(8000, [0, 0], "T4") == 0
    assert frag_of(8000, [1000] * 8, "T4") == 8000 * (1 + 1) / 5


def test_batch_equals_rows() -> None:
    f = Fragmentation(TYPICAL, MODELS)
    cpu = np.array([8000, 8000, 500, 8000])
    free = np.array([[300, 1000], [300, 400], [1000, 1000], [300, 100]])
    model = np.array([0, 0, 0, 1])
    batch = f.node_frag(cpu, free, model)
    rows = [f.node_frag(cpu[i : i + 1], free[i : i + 1], model[i : i + 1])[0] for i in range(4)]
    assert batch.tolist() == rows


def test_node_fragmentation_recomputes_only_the_nodes_that_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = three_nodes()
    view = ClusterView(cluster)
    f = Fragmentation(TYPICAL, cluster.models)
    memo = NodeFragmentation(f, len(cluster))
    asked: list[list[int]] = []
    node_frag = f.node_frag
    monkeypatch.setattr(f, "node_frag", lambda c, g, m: asked.append(len(c)) or node_frag(c, g, m))

    def fresh() -> list[int]:
        return node_frag(cluster.cpu_left, cluster.gpu_free, cluster.model).tolist()

    assert memo.of(cluster).tolist() == fresh() and asked == [3]
    assert memo.of(view, np.array([2, 0])).tolist() == [fresh()[2], fresh()[0]] and asked == [3]
    cluster.place(1, shape(cluster, 1000, 1000, 1, 500), [0])  # n1 changes, nothing else
    assert memo.of(view, np.array([0, 1])).tolist() == fresh()[:2] and asked == [3, 1]
    assert memo.of(cluster).tolist() == fresh() and asked == [3, 1]
    with pytest.raises(ValueError):
        memo.of(cluster)[0] = 0  # every node's numerators are read-only


def test_typical_tasks_of_default_trace(shared_data: object) -> None:
    from schedlab.trace import default_pods_path

    tasks = load_tasks(default_pods_path())
    tt = TypicalTasks.from_tasks(tasks)
    # The method document: 91 distinct keys, the top 35 kept (95.26%).
    keys = {
        (c, m, k, s)
        for c, m, k, s in zip(tasks.cpu_milli, tasks.gpu_milli, tasks.num_gpu, tasks.gpu_spec, strict=True)
    }
    assert len(keys) == 91
    assert len(tt) == 35
    assert round(tt.covered * 100, 2) == 95.26
    assert tt.count.tolist() == sorted(tt.count.tolist(), reverse=True)


def test_typical_ties_break_by_key_descending() -> None:
    from schedlab.trace import Tasks

    tasks = Tasks.build(
        [(1000, 1, 1, 500, ""), (2000, 1, 1, 500, ""), (2000, 1, 0, 0, ""), (3000, 1, 0, 0, "")]
    )
    tt = TypicalTasks.from_tasks(tasks, coverage=0.5)
    # All counts are 1; keys (cpu, milli, k, spec) descending: (3000,0,0), (2000,500,1), ...
    assert tt.cpu.tolist() == [3000, 2000]
    assert tt.gpu_milli.tolist() == [0, 500]
