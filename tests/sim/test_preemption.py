"""Preemption, branch by branch, on hand-built cases with exact timelines; every case runs on
the compiled and on the reference path. One node of two GPUs unless said otherwise."""

from __future__ import annotations

import pytest

from schedlab.cluster.speeds import SpeedTable
from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes
from tests.sim.test_replay import ONE_NODE, timeline, workload

WHOLE1, WHOLE2, SHARE200, SHARE900 = (1, 1000), (2, 1000), (1, 200), (1, 900)
PATHS = pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "reference"])


def run(
    rows: list[tuple[float, float, int, int, int, str]], compiled: bool, **config: object
) -> ReplayResult:
    options = {"policy": "bestfit", "preemption": "ls-over-be", "compiled": compiled} | config
    return replay(workload(rows), ONE_NODE, ReplayConfig(**options))  # type: ignore[arg-type]


def attempts(result: ReplayResult) -> list[tuple[int, float, float, int]]:
    a = result.attempts
    return sorted(zip(a["task"], a["start"], a["end"], a["attempt"], strict=True))


@PATHS
def test_no_victim_set_frees_enough(compiled: bool) -> None:
    # t2 (LS) needs both GPUs; only t1 (BE, GPU 1) may be evicted, t0 (LS) holds GPU 0:
    # evicting cannot make room, so nothing is evicted and t2 waits for both to leave.
    rows = [
        (0.0, 10.0, *WHOLE1, 1000, "LS"),
        (1.0, 10.0, *WHOLE1, 1000, "BE"),
        (2.0, 3.0, *WHOLE2, 1000, "LS"),
    ]
    result = run(rows, compiled)
    assert timeline(result) == [(0, 10), (1, 11), (11, 14)]
    assert result.summary["preemptions"] == 0 and result.summary["lost_gpu_s"] == 0.0


@PATHS
@pytest.mark.parametrize("victim", ["least-lost", "newest"])
def test_ties_among_victims_go_to_the_lower_task_index(compiled: bool, victim: str) -> None:
    # t0 and t1 (BE) started together on one GPU each and would lose the same: t0 goes.
    rows = [
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (5.0, 2.0, *WHOLE1, 1000, "LS"),
    ]
    result = run(rows, compiled, victim=victim)
    assert timeline(result) == [(7, 17), (0, 10), (5, 7)]
    assert attempts(result) == [(0, 0.0, 5.0, 0), (0, 7.0, 17.0, 1), (1, 0.0, 10.0, 0), (2, 5.0, 7.0, 0)]
    assert result.summary["lost_gpu_s"] == 5.0


# t0 (BE, 200 milli of GPU 0) from 0; t1 (BE, GPU 1) from 5; at 10 t2 (LS, 900 milli) needs one
# of them gone. least-lost: t0 has lost 10 s x 0.2 GPU = 2, t1 5 s x 1 GPU = 5: t0 goes.
# newest: t1 started last: t1 goes. Either victim restarts when t2 leaves at 12.
VICTIM_ROWS = [
    (0.0, 20.0, *SHARE200, 1000, "BE"),
    (5.0, 20.0, *WHOLE1, 1000, "BE"),
    (10.0, 2.0, *SHARE900, 1000, "LS"),
]


@PATHS
@pytest.mark.parametrize(
    ("victim", "expected", "lost"),
    [
        ("least-lost", [(12, 32), (5, 25), (10, 12)], 2.0),
        ("newest", [(0, 20), (12, 32), (10, 12)], 5.0),
    ],
)
def test_victim_policies_choose_differently(
    compiled: bool, victim: str, expected: list[tuple[int, int]], lost: float
) -> None:
    result = run(VICTIM_ROWS, compiled, victim=victim)
    assert timeline(result) == expected
    assert result.summary["preemptions"] == 1 and result.summary["lost_gpu_s"] == pytest.approx(lost)


@PATHS
def test_a_victim_waiting_for_its_restart_is_not_evicted_again(compiled: bool) -> None:
    # newest evicts t1 at 10 (it waits). At 11 t3 (LS, whole GPU) arrives: the running
    # preemptible tasks are t0 only (t1 waits), so t0 is evicted. At 12 t2 leaves: t0
    # (queued first) restarts there; t1 needs a whole GPU and starts when t3 leaves at 15.
    # t1's first departure (25, from its evicted run) is cancelled.
    rows = [*VICTIM_ROWS, (11.0, 4.0, *WHOLE1, 1000, "LS")]
    result = run(rows, compiled, victim="newest")
    assert timeline(result) == [(12, 32), (15, 35), (10, 12), (11, 15)]
    assert attempts(result) == [
        (0, 0.0, 11.0, 0),
        (0, 12.0, 32.0, 1),
        (1, 5.0, 10.0, 0),
        (1, 15.0, 35.0, 1),
        (2, 10.0, 12.0, 0),
        (3, 11.0, 15.0, 0),
    ]
    assert result.tasks["preemptions"].tolist() == [1, 1, 0, 0]
    assert result.summary["lost_gpu_s"] == pytest.approx(5.0 + 11 * 0.2)


@PATHS
def test_preemption_with_speeds_loses_elapsed_time(compiled: bool) -> None:
    # One V100 (speed 2): t0 (20 s of work) runs 0-10; t1 (LS, 6 s) evicts it at 4 and runs
    # 4-7; t0 restarts from scratch, 7-17. Lost: 4 elapsed seconds of one GPU.
    node = Nodes.build([("fast", 32000, 256000, 1, "V100")])
    rows = [(0.0, 20.0, *WHOLE1, 1000, "BE"), (4.0, 6.0, *WHOLE1, 1000, "LS")]
    config = ReplayConfig(policy="bestfit", preemption="ls-over-be", compiled=compiled)
    result = replay(workload(rows), node, config, SpeedTable({("V100", ""): 2.0}))
    assert timeline(result) == [(7, 17), (4, 7)]
    assert result.summary["lost_gpu_s"] == 4.0
    assert result.tasks["run_time"].tolist() == [14.0, 3.0] and result.tasks["wait"].tolist() == [3.0, 0.0]


@PATHS
@pytest.mark.parametrize(
    ("queue", "expected", "lost"),
    [
        # qos: the LS task heads the queue, evicts t0 (tie: lower index) and runs 2-5; in strict
        # admission the victim is queued, not restarted; it heads the BE tasks (arrived first).
        ("qos", [(5, 15), (0, 10), (10, 15), (2, 5)], 2.0),
        # fifo: t2 (BE) heads the queue and blocks the LS task behind it until 10, when t0
        # leaves and t2 starts on its GPU; t3 then heads the queue and evicts t2, which has
        # lost nothing; t2 restarts on t1's GPU as t1 leaves at the same instant.
        ("fifo", [(0, 10), (0, 10), (10, 15), (10, 13)], 0.0),
    ],
)
def test_preemption_in_strict_admission_only_from_the_head(
    compiled: bool, queue: str, expected: list[tuple[int, int]], lost: float
) -> None:
    rows = [
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (1.0, 5.0, *WHOLE1, 1000, "BE"),
        (2.0, 3.0, *WHOLE1, 1000, "LS"),
    ]
    result = run(rows, compiled, queue=queue, admission="strict")
    assert timeline(result) == expected
    assert result.summary["preemptions"] == 1 and result.summary["lost_gpu_s"] == lost
