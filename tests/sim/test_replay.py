"""The event-driven simulation: hand-computed timelines, queueing theory, invariants."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.cluster.speeds import SpeedTable
from schedlab.sim import ReplayConfig, ReplayResult, replay, time_average
from schedlab.trace import Nodes, Tasks
from schedlab.validation.mmc import mmc_case, mmc_check
from schedlab.workload import TimedWorkload

LS_OVER_BE = "ls-over-be"
ONE_NODE = Nodes.build([("n0", 32000, 256000, 2, "T4")])


def workload(
    rows: list[tuple[float, float, int, int, int, str]], cpu: list[int] | None = None
) -> TimedWorkload:
    """Rows of (arrival, duration, num_gpu, gpu_milli, cpu_milli, qos), in arrival order."""
    rows = sorted(rows, key=lambda r: r[0])
    tasks = Tasks.build([(c, 1000, k, m, "") for _, _, k, m, c, _ in rows])
    tasks = Tasks(**{**tasks.__dict__, "qos": np.array([r[5] for r in rows], dtype=object)})
    arrival = np.array([r[0] for r in rows], dtype=float)
    duration = np.array([r[1] for r in rows], dtype=float)
    return TimedWorkload(tasks, arrival, duration, np.full(len(rows), "", dtype=object), "test")


def timeline(result: ReplayResult) -> list[tuple[float, float]]:
    return list(zip(result.tasks["start"].tolist(), result.tasks["end"].tolist(), strict=True))


WHOLE2, WHOLE1, SHARE500, SHARE300 = (2, 1000), (1, 1000), (1, 500), (1, 300)
# One node with two GPUs. t0 holds both until 10; the others wait for it.
QUEUED = [
    (0.0, 10.0, *WHOLE2, 1000, "BE"),
    (1.0, 5.0, *WHOLE1, 1000, "BE"),
    (2.0, 3.0, *SHARE500, 1000, "BE"),
    (3.0, 1.0, *WHOLE1, 1000, "LS"),
    (4.0, 2.0, *SHARE300, 1000, "BE"),
]


@pytest.mark.parametrize(
    ("queue", "backfill", "expected"),
    [
        # fifo: at 10 t1 takes GPU 0, t2 (500) GPU 1, t3 needs a whole GPU: waits; t4 (300)
        # fits GPU 1's 500 left: backfilled 10-12. At 13 t2 leaves and t3 runs 13-14.
        ("fifo", True, [(0, 10), (10, 15), (10, 13), (13, 14), (10, 12)]),
        # strict fifo: t3 blocks t4 until t3 starts at 13; t4 then fits nowhere until t3 leaves at 14.
        ("fifo", False, [(0, 10), (10, 15), (10, 13), (13, 14), (14, 16)]),
        # sjf: t3 (1 s) on GPU 0, t4 (2 s) and t2 (3 s) share GPU 1, t1 (5 s) waits for GPU 0 at 11.
        ("sjf", True, [(0, 10), (11, 16), (10, 13), (10, 11), (10, 12)]),
        # qos: LS t3 first (GPU 0), then BE in arrival order: t1 GPU 1; t2 and t4 wait for GPU 0 at 11.
        ("qos", True, [(0, 10), (10, 15), (11, 14), (10, 11), (11, 13)]),
    ],
)
def test_queue_policies_exact_timelines(queue: str, backfill: bool, expected: list[tuple[int, int]]) -> None:
    result = replay(
        workload(QUEUED),
        ONE_NODE,
        ReplayConfig(policy="bestfit", queue=queue, admission="backfill" if backfill else "strict"),
    )
    assert timeline(result) == [(float(a), float(b)) for a, b in expected]
    jct = result.tasks["jct"].tolist()
    assert jct == [b - r[0] for (_, b), r in zip(expected, QUEUED, strict=True)]
    assert result.summary["completed"] == 5 and result.summary["unfinished"] == 0


def test_sjf_est_learns_only_from_finished_tasks() -> None:
    one_gpu = Nodes.build([("n0", 32000, 256000, 1, "T4")])
    rows = [
        (0.0, 10.0, *WHOLE1, 1000, "BE"),  # shape A, runs 0-10: A's estimate becomes 10
        (1.0, 1.0, *WHOLE1, 2000, "BE"),  # shape B, runs 10-11: B's estimate becomes 1
        (2.0, 100.0, *WHOLE1, 3000, "BE"),  # shape C, blocks 11-111
        (20.0, 3.0, *WHOLE1, 1000, "BE"),  # A again: estimated 10 (true 3)
        (21.0, 5.0, *WHOLE1, 2000, "BE"),  # B again: estimated 1 (true 5) -> goes first
    ]
    est = replay(workload(rows), one_gpu, ReplayConfig(policy="bestfit", queue="sjf-est"))
    assert timeline(est) == [(0, 10), (10, 11), (11, 111), (116, 119), (111, 116)]
    oracle = replay(workload(rows), one_gpu, ReplayConfig(policy="bestfit", queue="sjf"))
    assert timeline(oracle)[3:] == [(111, 114), (114, 119)]


def test_preemption_evicts_best_effort_and_counts_lost_work() -> None:
    rows = [(0.0, 10.0, *WHOLE2, 1000, "BE"), (2.0, 3.0, *WHOLE1, 1000, "LS")]
    # Without preemption the LS task waits for the BE task: 10-13.
    plain = replay(workload(rows), ONE_NODE, ReplayConfig(policy="bestfit"))
    assert timeline(plain) == [(0, 10), (10, 13)]
    # With it, the BE task is evicted at 2 (2 s x 2 GPUs lost), restarts at 5 when the LS task leaves.
    result = replay(workload(rows), ONE_NODE, ReplayConfig(policy="bestfit", preemption=LS_OVER_BE))
    assert timeline(result) == [(5, 15), (2, 5)]
    assert result.tasks["preemptions"].tolist() == [1, 0]
    assert result.summary["preemptions"] == 1 and result.summary["lost_gpu_s"] == 4.0
    assert result.tasks["wait"].tolist() == [3.0, 0.0]  # t0 waited 2..5; JCT 15 = 3 waiting + 12 running
    assert result.attempts[["task", "start", "end"]].values.tolist() == [[0, 0, 2], [1, 2, 5], [0, 5, 15]]
    # LS tasks are never evicted, and BE tasks never evict.
    rows_be = [(0.0, 10.0, *WHOLE2, 1000, "LS"), (2.0, 3.0, *WHOLE1, 1000, "BE")]
    assert timeline(replay(workload(rows_be), ONE_NODE, ReplayConfig(preemption=LS_OVER_BE))) == [
        (0, 10),
        (10, 13),
    ]


def test_speed_factors_scale_run_time_by_gpu_model() -> None:
    # bestfit prefers the node with less CPU left: the fast V100 node (16 cores) first.
    nodes = Nodes.build([("slow", 32000, 64000, 1, "T4"), ("fast", 16000, 64000, 1, "V100")])
    speeds = SpeedTable({("V100", ""): 2.0})
    rows = [
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (0.0, 10.0, *WHOLE1, 1000, "BE"),
        (1.0, 4.0, *WHOLE1, 1000, "BE"),
    ]
    result = replay(workload(rows), nodes, ReplayConfig(policy="bestfit"), speeds)
    assert timeline(result) == [(0, 5), (0, 10), (5, 7)]
    assert result.tasks["node"].tolist() == [1, 0, 1]
    # A class-specific row wins over the model's general row.
    by_class = SpeedTable({("V100", ""): 2.0, ("V100", "whole"): 4.0})
    assert timeline(replay(workload(rows[:1]), nodes, ReplayConfig(policy="bestfit"), by_class)) == [(0, 2.5)]


def test_sampling_ends_on_a_tiny_arrival_span() -> None:
    # Arrival span of 5e-324 s: a sampling interval of span / 200 would not advance the clock.
    result = replay(
        workload([(0.0, 5.0, *WHOLE1, 1000, "BE"), (5e-324, 2.0, *WHOLE1, 1000, "BE")]),
        ONE_NODE,
        ReplayConfig(),
    )
    assert result.summary["completed"] == 2 and len(result.frag_series) <= 3 * 200 + 2


def test_unplaceable_task_is_rejected_not_blocking() -> None:
    rows = [(0.0, 5.0, 4, 1000, 1000, "BE"), (1.0, 2.0, *WHOLE1, 1000, "BE")]
    result = replay(workload(rows), ONE_NODE, ReplayConfig(policy="fgd", admission="strict"))
    assert result.tasks["status"].tolist() == ["rejected", "completed"]
    assert timeline(result)[1] == (1, 3)


def fifo_waits(arrival: np.ndarray, duration: np.ndarray, servers: int) -> np.ndarray:
    """Textbook FIFO multi-server recursion: each task takes the earliest free server."""
    free = [0.0] * servers
    waits = np.empty(len(arrival))
    for i, (a, d) in enumerate(zip(arrival.tolist(), duration.tolist(), strict=True)):
        start = max(a, heapq.heappop(free))
        waits[i] = start - a
        heapq.heappush(free, start + d)
    return waits


@pytest.mark.parametrize("load", [0.7, 0.8, 0.9])
def test_mmc_waits_equal_the_textbook_recursion(load: float) -> None:
    _, result = mmc_check(servers=10, load=load, tasks=20_000, seed=3)
    workload, _ = mmc_case(10, load, 20_000, 3)
    np.testing.assert_allclose(
        result.tasks["wait"], fifo_waits(workload.arrival, workload.duration, 10), atol=1e-9
    )
    assert_littles_law(result)


def assert_littles_law(result: ReplayResult) -> None:
    """Time-average number in system (queue) x time = sum of JCTs (waits): L = lambda W."""
    s = result.series
    done = result.tasks[result.tasks["status"] == "completed"]
    if not len(done):
        return
    start, end = float(result.tasks["arrival"].min()), float(done["end"].max())
    times = np.concatenate([[start], s["time"].to_numpy()])
    in_system = np.concatenate([[0], (s["queued"] + s["running"]).to_numpy()])
    queued = np.concatenate([[0], s["queued"].to_numpy()])
    span = end - start
    assert time_average(times, in_system, end) * span == pytest.approx(done["jct"].sum(), rel=1e-9, abs=1e-6)
    assert time_average(times, queued, end) * span == pytest.approx(done["wait"].sum(), rel=1e-9, abs=1e-6)


def test_littles_law_on_mmc_and_queue_cases() -> None:
    _, result = mmc_check(4, 0.9, 5000, 7)
    assert_littles_law(result)
    for queue in ("fifo", "sjf", "sjf-est", "qos"):
        assert_littles_law(
            replay(workload(QUEUED), ONE_NODE, ReplayConfig(queue=queue, preemption=LS_OVER_BE))
        )


CLUSTER = Nodes.build(
    [
        ("a", 16000, 32000, 2, "T4"),
        ("b", 32000, 64000, 4, "V100"),
        ("c", 8000, 8000, 0, ""),
        ("d", 64000, 64000, 8, "T4"),
    ]
)
task_rows = st.lists(
    st.tuples(
        st.floats(0, 50, allow_nan=False),
        st.floats(0.1, 30, allow_nan=False),
        st.sampled_from([(0, 0), (1, 250), (1, 500), (1, 700), (1, 1000), (2, 1000), (4, 1000), (8, 1000)]),
        st.integers(100, 16000),
        st.sampled_from(["LS", "BE"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(
    rows=task_rows,
    policy=st.sampled_from(["fgd", "bestfit", "random", "packing"]),
    queue=st.sampled_from(["fifo", "sjf", "sjf-est", "qos"]),
    backfill=st.booleans(),
    preempt=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_invariants(
    rows: list[tuple[float, float, tuple[int, int], int, str]],
    policy: str,
    queue: str,
    backfill: bool,
    preempt: bool,
    seed: int,
) -> None:
    w = workload([(a, d, k, m, c, q) for a, d, (k, m), c, q in rows])
    config = ReplayConfig(
        policy=policy,
        queue=queue,
        admission="backfill" if backfill else "strict",
        preemption=LS_OVER_BE if preempt else "none",
        seed=seed,
    )
    result = replay(w, CLUSTER, config)
    again = replay(w, CLUSTER, config)
    pd.testing.assert_frame_equal(result.tasks, again.tasks)  # same seed, same result
    tasks, attempts = result.tasks, result.attempts
    # Every task completes or is reported: here all fit the empty cluster or are rejected.
    assert set(tasks["status"]) <= {"completed", "rejected"}
    done = tasks[tasks["status"] == "completed"]
    assert (done["start"] >= done["arrival"]).all()  # no task starts before it arrives
    assert (attempts["start"] >= tasks["arrival"].to_numpy()[attempts["task"]]).all()
    if not preempt:
        assert (tasks["preemptions"] == 0).all()
    # Capacity is never exceeded at any instant: replay every attempt as +/- events in time order.
    events = sorted(
        [(a.end, 0, a.task, a.node, a.gpu_mask, -1) for a in attempts.itertuples()]
        + [(a.start, 1, a.task, a.node, a.gpu_mask, +1) for a in attempts.itertuples()]
    )
    cpu = np.zeros(len(CLUSTER), dtype=np.int64)
    gpu = np.zeros((len(CLUSTER), 8), dtype=np.int64)
    for _, _, t, node, mask, sign in events:
        cpu[node] += sign * w.tasks.cpu_milli[t]
        for g in range(8):
            if mask >> g & 1:
                gpu[node, g] += sign * w.tasks.gpu_milli[t]
        assert (cpu <= CLUSTER.cpu_milli).all()
        assert (gpu <= 1000).all() and (gpu[np.arange(8)[None, :] >= CLUSTER.num_gpu[:, None]] == 0).all()
    assert_littles_law(result)
