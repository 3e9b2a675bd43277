"""The compiled replay equals the pure-Python reference: same placements, times and metrics,
for random clusters, workloads and every combination of built-in policies (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab import jit
from schedlab.arrays import IntArray
from schedlab.cluster import ClusterView, Shape
from schedlab.cluster.speeds import SpeedTable
from schedlab.policies import PlacementPolicy, register
from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not available")

MODELS = ["T4", "V100", "A10"]
nodes_strategy = st.lists(
    st.tuples(
        st.sampled_from([4000, 8000, 16000, 32000]),
        st.sampled_from([8000, 32000, 64000]),
        st.integers(0, 8),
        st.sampled_from(MODELS),
    ),
    min_size=1,
    max_size=6,
)
task_strategy = st.tuples(
    st.integers(0, 30),  # arrival (coarse, so that times tie)
    st.sampled_from([0.0, 1.0, 2.5, 4.0, 7.0, 10.0, 30.0]),  # duration
    st.sampled_from([(0, 0), (1, 200), (1, 500), (1, 500), (1, 800), (1, 1000), (2, 1000), (4, 1000)]),
    st.sampled_from([500, 1000, 2000, 4000, 8000]),  # CPU
    st.sampled_from([1000, 4000, 16000]),  # memory
    st.sampled_from(["", "", "T4", "V100|A10"]),  # GPU-type constraint
    st.sampled_from(["LS", "BE", "Burstable"]),
    st.sampled_from(["u1", "u2"]),
)


def workload(rows: list[tuple[int, float, tuple[int, int], int, int, str, str, str]]) -> TimedWorkload:
    rows = sorted(rows, key=lambda r: r[0])
    tasks = Tasks.build([(cpu, mem, k, milli, spec) for _, _, (k, milli), cpu, mem, spec, _, _ in rows])
    tasks = replace(tasks, qos=np.array([r[6] for r in rows], dtype=object))
    return TimedWorkload(
        tasks,
        np.array([float(r[0]) for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[7] for r in rows], dtype=object),
        "hypothesis",
    )


def same(a: ReplayResult, b: ReplayResult) -> None:
    for name in ("tasks", "attempts", "series", "frag_series"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    skip = {"wall_s", "tasks_per_s", "config", "path"}
    assert {k: v for k, v in a.summary.items() if k not in skip} == {
        k: v for k, v in b.summary.items() if k not in skip
    }


@settings(max_examples=120, deadline=None)
@given(
    nodes=nodes_strategy,
    rows=st.lists(task_strategy, min_size=1, max_size=40),
    policy=st.sampled_from(["random", "dotprod", "clustering", "packing", "bestfit", "fgd"]),
    queue=st.sampled_from(["fifo", "sjf", "sjf-est", "qos"]),
    admission=st.sampled_from(["backfill", "strict"]),
    preemption=st.sampled_from(["none", "ls-over-be"]),
    victim=st.sampled_from(["least-lost", "newest"]),
    speeds=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_compiled_replay_equals_reference(
    nodes: list[tuple[int, int, int, str]],
    rows: list[tuple[int, float, tuple[int, int], int, int, str, str, str]],
    policy: str,
    queue: str,
    admission: str,
    preemption: str,
    victim: str,
    speeds: bool,
    seed: int,
) -> None:
    cluster = Nodes.build([(f"n{i}", *node) for i, node in enumerate(nodes)])
    table = SpeedTable({("V100", ""): 2.0, ("T4", "sharing"): 0.5}) if speeds else None
    config = ReplayConfig(
        policy=policy,
        queue=queue,
        admission=admission,
        preemption=preemption,
        victim=victim,
        seed=seed,
        samples=7,
        compiled=True,
    )
    w = workload(rows)
    fast = replay(w, cluster, config, table)
    slow = replay(w, cluster, replace(config, compiled=False), table)
    assert fast.summary["path"] == "compiled" and slow.summary["path"] == "reference"
    same(fast, slow)


@register
class Emptiest(PlacementPolicy):
    """A user policy without a compiled form."""

    name = "test-emptiest"

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        result: IntArray = view.gpu_free[nodes].sum(axis=1)
        return result


def test_a_plugin_policy_runs_the_reference_path() -> None:
    w = workload([(0, 5.0, (1, 500), 1000, 1000, "", "BE", "u")])
    result = replay(w, Nodes.build([("a", 8000, 8000, 2, "T4")]), ReplayConfig(policy="test-emptiest"))
    assert result.summary["path"] == "reference" and result.summary["completed"] == 1
