"""The starvation guard: EASY-style reservations for a head that waited too long, on exact
timelines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.errors import ConfigError
from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload, load_jobs
from tests.sim.test_breakdown import JOBS, ONE

# JOBS on one 8-GPU node, plus f: one GPU from 60 for 30 s (it ends before the reservation).
WITH_F = JOBS + "f,60,30,1000,1000,1,1000,BE,ann\n"


def run(tmp_path: Path, reserve_after: float | None) -> ReplayResult:
    path = tmp_path / "jobs.csv"
    path.write_text(WITH_F)
    return replay(load_jobs(path), ONE, ReplayConfig(policy="bestfit", reserve_after=reserve_after))


def starts(result: ReplayResult) -> dict[str, float]:
    return {str(k): float(v) for k, v in result.tasks.set_index("name")["start"].items()}


def test_a_reservation_stops_backfill_from_delaying_the_starving_head(tmp_path: Path) -> None:
    # Without the guard the four 1-GPU tasks keep backfilling past big (8 GPUs): it starts at 299.
    assert starts(run(tmp_path, None))["big"] == 299.0
    # With it, big (waiting since 1) holds a reservation from 11 on: its shadow time is 100,
    # when a leaves. b (50, ends 150) and c (99, ends 199) may not take the node; f (60, ends
    # 90) may. e (CPU only, at 10) came before the guard started. big runs 100-150; then b
    # waits long enough to hold one, with shadow 150: d (149, ends 299) waits; all start at 150.
    guarded = starts(run(tmp_path, 10.0))
    assert guarded == {"a": 0.0, "big": 100.0, "b": 150.0, "c": 150.0, "d": 150.0, "e": 10.0, "f": 60.0}


def test_a_long_threshold_changes_nothing(tmp_path: Path) -> None:
    assert starts(run(tmp_path, 1e6)) == starts(run(tmp_path, None))
    assert run(tmp_path, 1e6).summary["path"] == "reference"


def test_the_guard_needs_fixed_run_times(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(WITH_F)
    with pytest.raises(ConfigError, match="--reserve-after needs fixed run times"):
        replay(load_jobs(path), ONE, ReplayConfig(policy="bestfit", reserve_after=5, interference="measured"))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(0, 100),
            st.floats(1, 60),
            st.sampled_from([(1, 1000), (2, 1000), (4, 1000), (1, 300)]),
            st.sampled_from(["LS", "BE"]),
        ),
        min_size=1,
        max_size=30,
    ),
    after=st.floats(0, 50),
)
def test_reservations_with_preemption_finish_every_task(
    rows: list[tuple[float, float, tuple[int, int], str]], after: float
) -> None:
    rows = sorted(rows, key=lambda r: r[0])
    tasks = Tasks.build([(1000, 1000, k, m, "") for _, _, (k, m), _ in rows])
    tasks = replace(tasks, qos=np.array([r[3] for r in rows], dtype=object))
    users = np.full(len(rows), "", dtype=object)
    workload = TimedWorkload(
        tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "h"
    )
    nodes = Nodes.build([("n0", 16000, 65536, 4, "T4"), ("n1", 16000, 65536, 4, "T4")])
    config = ReplayConfig(policy="bestfit", queue="qos", preemption="ls-over-be", reserve_after=after)
    result = replay(workload, nodes, config)
    assert (result.tasks["status"] == "completed").all()
