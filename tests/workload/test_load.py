"""Offered load, time scaling and the replay's allocation numbers and warnings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks, default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.workload import TimedWorkload, from_openb
from schedlab.workload.load import gpu_load, scale_for_load, time_scaled
from schedlab.workload.synth import warm_started
from tests.test_cli import run_cli

ONE_GPU = Nodes.build([("n0", 64000, 262144, 1, "T4")])


def two_tasks() -> TimedWorkload:
    tasks = Tasks.build([(1000, 1000, 1, 500, ""), (1000, 1000, 1, 500, "")])
    users = np.full(2, "", dtype=object)
    return TimedWorkload(tasks, np.array([0.0, 5.0]), np.array([10.0, 10.0]), users, "test")


def test_the_summary_gives_offered_load_and_allocation_exactly() -> None:
    summary = replay(two_tasks(), ONE_GPU, ReplayConfig(policy="bestfit")).summary
    assert summary["offered_load"] == pytest.approx((500 * 10 + 500 * 10) / 5 / 1000)
    # from the first arrival (0) to the last (5): 500 milli for 5 s; then 1000 and 500 (drain)
    assert summary["alloc_mean_pct"] == pytest.approx(50.0)
    assert summary["alloc_peak_pct"] == 100.0


def test_time_scaling_keeps_the_pattern_and_sets_the_load() -> None:
    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    before = gpu_load(trace, nodes)
    assert before < 0.01  # the default trace, as recorded, barely loads the embedded nodes
    faster = time_scaled(trace, 0.01)
    assert faster.arrival[0] == trace.arrival[0]
    assert np.allclose(np.diff(faster.arrival), np.diff(trace.arrival) * 0.01)
    assert gpu_load(faster, nodes) == pytest.approx(before / 0.01)
    scale = scale_for_load(trace, nodes, 0.9)
    assert gpu_load(time_scaled(trace, scale), nodes) == pytest.approx(0.9)
    slow, fast = (
        replay(time_scaled(trace, x), nodes, ReplayConfig(policy="bestfit")).summary for x in (1, scale)
    )
    assert slow["alloc_peak_pct"] < 10 < fast["alloc_peak_pct"]
    for bad in (0.0, float("nan"), -1.0):
        with pytest.raises(ConfigError):
            scale_for_load(trace, nodes, bad)
        with pytest.raises(ConfigError):
            time_scaled(trace, bad)
    with pytest.raises(ConfigError, match="cannot set a load"):
        one = two_tasks()
        scale_for_load(TimedWorkload(one.tasks, np.zeros(2), one.duration, one.user, "at once"), ONE_GPU, 1)


def test_replay_warns_when_the_cluster_stays_idle_and_takes_a_target_load() -> None:
    idle = run_cli("replay", "--json")
    assert idle.returncode == 0 and json.loads(idle.stdout)["alloc_peak_pct"] < 10
    assert "warning: the workload offers" in idle.stderr and "--target-load" in idle.stderr
    cold = run_cli("replay", "--json", "--target-load", "0.9", "--cold-start")
    assert cold.returncode == 0 and json.loads(cold.stdout)["offered_load"] == pytest.approx(0.9)
    assert "time scale" in cold.stderr and "warning: mean GPU allocation" in cold.stderr
    assert "--warm-start" in cold.stderr
    warm = {
        policy: run_cli("replay", "--json", "--target-load", "0.9", "--policy", policy)
        for policy in ("fgd", "random")
    }
    summaries = {policy: json.loads(done.stdout) for policy, done in warm.items()}
    for done, summary in zip(warm.values(), summaries.values(), strict=True):
        assert (
            done.returncode == 0 and "offers" not in done.stderr and "mean GPU allocation" not in done.stderr
        )
        assert summary["alloc_peak_pct"] > 50 and summary["alloc_mean_pct"] > 50
        assert summary["tasks"] == 7255 and summary["warmup_tasks"] > 1000  # warm-up not measured
        assert summary["offered_load"] == pytest.approx(0.9)
    assert summaries["fgd"]["wait_mean"] < summaries["random"]["wait_mean"]  # policies differ
    both = run_cli("replay", "--target-load", "0.9", "--time-scale", "2")
    assert both.returncode == 2 and "give --time-scale or --target-load, not both" in both.stderr


@pytest.mark.parametrize("load", [0.3, 0.6, 0.8])
def test_a_warm_start_holds_the_offered_load_from_the_start(load: float) -> None:
    """Trace run times (median 10 minutes, mean 8 hours), best-fit on the openb nodes: the
    mean allocation while the arrivals play is within 5 points of the offered load."""
    from schedlab.workload.synth import synthesize

    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    cold = replay(synthesize(trace, nodes, 3000, load, 1), nodes, ReplayConfig(policy="bestfit")).summary
    workload = synthesize(trace, nodes, 3000, load, 1, warm=True)
    warm = replay(workload, nodes, ReplayConfig(policy="bestfit")).summary
    assert cold["alloc_mean_pct"] < 50 * load  # without it the cluster never fills
    assert warm["alloc_mean_pct"] == pytest.approx(100 * load, abs=5)
    assert warm["tasks"] == 3000 and warm["warmup_tasks"] == int(workload.is_warmup.sum()) > 0
    assert warm["offered_load"] == pytest.approx(load, rel=0.1)


def test_warm_up_rows_round_trip_through_a_job_csv(tmp_path: Path) -> None:
    from schedlab.errors import TraceError
    from schedlab.workload import load_jobs, write_jobs
    from schedlab.workload.synth import synthesize

    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    workload = synthesize(trace, nodes, 200, 0.5, 3, warm=True)
    path = tmp_path / "jobs.csv"
    write_jobs(workload, path)
    back = load_jobs(path)
    assert np.array_equal(back.is_warmup, workload.is_warmup)
    assert back.is_warmup[: int(workload.is_warmup.sum())].all()
    rows = path.read_text().splitlines()
    rows[1] = rows[1][:-1] + "yes"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(TraceError, match=r"jobs\.csv:2: field 'warmup': must be 0 or 1: 'yes'"):
        load_jobs(path)


def test_a_warm_started_trace_keeps_its_rows_and_adds_the_steady_state_first() -> None:
    trace = time_scaled(from_openb(load_tasks(default_pods_path())), 0.003)
    nodes = load_nodes(default_nodes_path())
    warm = warm_started(trace, nodes, 0.5, seed=3)
    n = int(warm.is_warmup.sum())
    assert n > 0 and not warm.is_warmup[n:].any() and len(warm) == n + len(trace)
    assert (warm.arrival[:n] == trace.arrival[0]).all() and (warm.arrival[n:] == trace.arrival).all()
    assert (warm.duration[n:] == trace.duration).all() and (warm.tasks.name[n:] == trace.tasks.name).all()
    held = float((warm.tasks.total_gpu_milli[:n]).sum()) / nodes.gpu_capacity_milli
    assert held == pytest.approx(0.5, abs=0.05)  # the steady state holds the load's share of GPUs
    assert gpu_load(warm, nodes) == gpu_load(trace, nodes)  # warm-up rows are no offered load
    same = warm_started(trace, nodes, 0.5, seed=3)
    assert (same.duration == warm.duration).all()
    with pytest.raises(ConfigError, match="warm already"):
        warm_started(warm, nodes, 0.5, seed=3)
