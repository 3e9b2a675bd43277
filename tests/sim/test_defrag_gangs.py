"""Gangs moved whole by defragmentation: the compiled path equals the reference on random
clusters built so that gangs block the head of the queue and have room elsewhere (the
general equality tests of every feature draw such cases too rarely)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab import jit
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.sim.test_compiled import same

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not available")

#: Fractional gang members, whole-GPU and two-GPU heads.
SHAPES = [(1, 300), (1, 300), (1, 500), (1, 1000), (2, 1000)]


@st.composite
def case(draw: st.DrawFn) -> tuple[TimedWorkload, Nodes, ReplayConfig]:
    gpus = draw(st.lists(st.sampled_from([1, 1, 2, 4]), min_size=2, max_size=6))
    models = draw(st.lists(st.sampled_from(["T4", "A10"]), min_size=len(gpus), max_size=len(gpus)))
    pairs = enumerate(zip(gpus, models, strict=True))
    cluster = Nodes.build([(f"n{i}", 64000, 131072, g, m) for i, (g, m) in pairs])
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 8),  # arrival
                st.sampled_from([2.0, 5.0, 30.0, 100.0]),  # duration
                st.sampled_from(SHAPES),
                st.sampled_from([1, 2, 2, 3]),  # gang size
            ),
            min_size=3,
            max_size=16,
        )
    )
    rows.sort(key=lambda r: r[0])
    expanded = [(r, g) for g, r in enumerate(rows) for _ in range(r[3])]
    tasks = Tasks.build([(1000, 4000, r[2][0], r[2][1], "") for r, _ in expanded])
    workload = TimedWorkload(
        tasks,
        np.array([float(r[0]) for r, _ in expanded]),
        np.array([r[1] for r, _ in expanded]),
        np.full(len(expanded), "u", dtype=object),
        "gangs",
        gang=np.array([g if r[3] > 1 else -1 for r, g in expanded], dtype=np.int64),
    )
    config = ReplayConfig(
        policy=draw(st.sampled_from(["bestfit", "fgd", "random", "packing"])),
        queue=draw(st.sampled_from(["fifo", "sjf-est"])),
        admission=draw(st.sampled_from(["backfill", "strict"])),
        seed=draw(st.integers(0, 2**16)),
        samples=7,
        defrag=draw(st.sampled_from(["least-moved", "fgd"])),
        defrag_every=draw(st.sampled_from([1.0, 2.5])),
        defrag_moves=draw(st.sampled_from([1, 2, 3, 50])),
        defrag_cost=draw(st.sampled_from([0.0, 0.5, 3.0])),
        reserve_after=draw(st.sampled_from([None, None, 3.0])),
        defrag_gangs=draw(st.sampled_from([True, True, False])),
    )
    return workload, cluster, config


@settings(max_examples=80, deadline=None)
@given(case())
def test_gangs_moved_whole_compiled_equals_reference(
    case: tuple[TimedWorkload, Nodes, ReplayConfig],
) -> None:
    workload, cluster, config = case
    fast = replay(workload, cluster, replace(config, compiled=True))
    slow = replay(workload, cluster, replace(config, compiled=False))
    assert fast.summary["path"] == "compiled" and slow.summary["path"] == "reference"
    same(fast, slow)
