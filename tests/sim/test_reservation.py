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
    """The compiled replay (checked against the reference)."""
    path = tmp_path / "jobs.csv"
    path.write_text(WITH_F)
    config = ReplayConfig(policy="bestfit", reserve_after=reserve_after, compiled=True)
    fast = replay(load_jobs(path), ONE, config)
    assert fast.tasks.equals(replay(load_jobs(path), ONE, replace(config, compiled=False)).tasks)
    return fast


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
    assert run(tmp_path, 1e6).summary["path"] == "compiled"


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


HEADER = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,user\n"


def guarded(
    tmp_path: Path, rows: str, nodes: Nodes, after: float | None, evict: bool = False
) -> ReplayResult:
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + rows)
    config = ReplayConfig(
        policy="bestfit", queue="qos", preemption="ls-over-be", reserve_after=after, evict_starved=evict
    )
    return replay(load_jobs(path), nodes, config)


def test_a_preemptor_does_not_take_a_reserved_node_and_an_evicted_task_waits_afresh(
    tmp_path: Path,
) -> None:
    # big (8 GPUs, 90 cores) fits n0 only and starves from 11: n0 is reserved with shadow time
    # 100 (a leaves). ls (LS, ends at 220) may not take n0, so it evicts y (BE) on n1. Best-fit
    # would pick n0 for it after the eviction: it stays on n1, the node it evicted for.
    # y's wait starts again at 20 (it ran 20 s): it does not take big's reservation.
    two = Nodes.build([("n0", 96000, 600000, 8, "V100"), ("n1", 85000, 786432, 8, "V100")])
    rows = (
        "y,0,1000,1000,700000,8,1000,BE,ann\na,0,100,1000,1000,1,1000,BE,ann\n"
        "big,1,50,90000,1000,8,1000,BE,bob\nls,20,200,1000,1000,1,1000,LS,cat\n"
    )
    plain = guarded(tmp_path, rows, two, None).tasks.set_index("name")
    assert plain["start"].to_dict() == {"y": 0, "a": 0, "big": 220, "ls": 20}  # ls fits n0
    tasks = guarded(tmp_path, rows, two, 10.0).tasks.set_index("name")
    assert tasks["start"].to_dict() == {"y": 220, "a": 0, "big": 100, "ls": 20}
    assert tasks["node"].to_dict() == {"y": 1, "a": 0, "big": 0, "ls": 1}
    assert tasks["preemptions"].to_dict() == {"y": 1, "a": 0, "big": 0, "ls": 0}


def test_a_task_that_starved_is_not_evicted(tmp_path: Path) -> None:
    # big (BE) waits 99 s for a and starts at 100. Without the guard the LS task arriving at
    # 120 evicts it (big starts again at 130); with it, big has starved and keeps its GPUs.
    rows = (
        "a,0,100,1000,1000,1,1000,BE,ann\nbig,1,50,1000,1000,8,1000,BE,bob\n"
        "ls,120,10,1000,1000,1,1000,LS,cat\n"
    )
    plain = guarded(tmp_path, rows, ONE, None).tasks.set_index("name")
    assert plain["start"].to_dict() == {"a": 0, "big": 130, "ls": 120}
    assert plain.loc["big", "preemptions"] == 1
    tasks = guarded(tmp_path, rows, ONE, 10.0).tasks.set_index("name")
    assert tasks["start"].to_dict() == {"a": 0, "big": 100, "ls": 150}
    assert tasks.loc["big", "preemptions"] == 0
    # --evict-starved leaves it to the preemption policy: as without the guard here.
    evicted = guarded(tmp_path, rows, ONE, 10.0, evict=True).tasks.set_index("name")
    assert evicted["start"].to_dict() == plain["start"].to_dict()
    assert evicted.loc["big", "preemptions"] == 1


@pytest.mark.parametrize(
    ("queue", "starts"), [("qos", {"ls": 100, "big": 110}), ("fifo", {"big": 100, "ls": 150})]
)
def test_a_task_that_starved_goes_first_within_its_queue_tier(
    tmp_path: Path, queue: str, starts: dict[str, float]
) -> None:
    # x (LS) holds the node until 100; big (BE) starves from 21 and holds the reservation;
    # ls (LS, 50) cannot evict x and waits. At 100, qos keeps LS tasks ahead of a BE task that
    # starved (ls takes big's node: it comes first in the queue); fifo puts big first.
    path = tmp_path / "jobs.csv"
    rows = "x,0,100,1000,1000,8,1000,LS,a\nbig,1,50,1000,1000,8,1000,BE,b\nls,50,10,1000,1000,8,1000,LS,c\n"
    path.write_text(HEADER + rows)
    config = ReplayConfig(policy="bestfit", queue=queue, preemption="ls-over-be", reserve_after=20)
    tasks = replay(load_jobs(path), ONE, config).tasks.set_index("name")
    assert tasks["start"].to_dict() == {"x": 0, **starts}
