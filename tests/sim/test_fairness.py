"""Fair share between users: the drf queue's exact timeline, weights from --quotas, and the
per-user metrics with Jain's index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.metrics.fairness import jain
from schedlab.sim import ReplayConfig, replay
from schedlab.sim.queues import QueueContext, make_queue_policy
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from tests.test_cli import run_cli

JOBS = """id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,user
a0,0,100,1000,1000,1,1000,alice
a1,0,100,1000,1000,1,1000,alice
a2,0,100,1000,1000,1,1000,alice
a3,0,100,1000,1000,1,1000,alice
b0,1,100,1000,1000,1,1000,bob
b1,1,100,1000,1000,1,1000,bob
"""
TWO_GPUS = Nodes.build([("n0", 32000, 262144, 2, "T4")])


def starts(tmp_path: Path, queue: str) -> tuple[list[float], dict[str, object]]:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS)
    result = replay(load_jobs(path), TWO_GPUS, ReplayConfig(policy="bestfit", queue=queue, compiled=True))
    slow = replay(load_jobs(path), TWO_GPUS, ReplayConfig(policy="bestfit", queue=queue, compiled=False))
    assert slow.tasks.equals(result.tasks)
    return result.tasks["start"].tolist(), result.summary


def test_fifo_serves_alice_first_and_drf_shares(tmp_path: Path) -> None:
    fifo, fifo_summary = starts(tmp_path, "fifo")
    assert fifo == [0, 0, 100, 100, 200, 200]
    # drf: at 100 a0 leaves first (alice holds half the GPUs, bob none): b0 starts; then a1
    # leaves (alice holds none, bob half): a2 before b1; at 200 the same again.
    drf, drf_summary = starts(tmp_path, "drf")
    assert drf == [0, 0, 100, 200, 100, 200]
    assert drf_summary["path"] == "compiled"
    # Jain's index over the users' mean bounded slowdown: fifo alice 1.5, bob 2.99
    assert fifo_summary["fairness"] == pytest.approx(
        {"users": 2, "jain_slowdown": 4.49**2 / (2 * (1.5**2 + 2.99**2)), "slowdown_max_user": 2.99,
         "slowdown_min_user": 1.5}
    )  # fmt: skip
    assert drf_summary["fairness"]["jain_slowdown"] > fifo_summary["fairness"]["jain_slowdown"]


def test_weights_scale_a_users_dominant_share() -> None:
    n = 3
    context = QueueContext(
        np.zeros(n),
        np.ones(n),
        np.zeros(n, dtype=np.int64),
        np.array(["alice", "bob", "alice"], dtype=object),
        np.zeros(n, dtype=bool),
        gpu_milli=np.array([1000, 1000, 1000]),
        cpu_milli=np.array([1000, 8000, 1000]),
        capacity=(4000, 16000),
        weights={"alice": 2.0},
    )
    drf = make_queue_policy("drf", context)
    drf.started(0)  # alice: 1/4 of the GPUs, 1/16 of the CPU: dominant 0.25, / weight 2
    drf.started(1)  # bob: 1/4 of the GPUs, 1/2 of the CPU: dominant 0.5
    assert drf.key(2) == (0.125, 0.0) and drf.key(1) == (0.5, 0.0)
    drf.stopped(0)
    assert drf.key(2) == (0.0, 0.0)


def test_quotas_and_users_parquet_from_the_command_line(tmp_path: Path) -> None:
    jobs, quotas = tmp_path / "jobs.csv", tmp_path / "quotas.csv"
    jobs.write_text(JOBS)
    quotas.write_text("user,weight\nalice,3\nbob,1\n")
    out = tmp_path / "out"
    args = ["--jobs", str(jobs), "--queue", "drf", "--quotas", str(quotas), "--out", str(out), "--json"]
    done = run_cli("replay", *args, "--nodes", str(_nodes(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["quotas"] == [["alice", 3.0], ["bob", 1.0]]
    users = pd.read_parquet(out / "users.parquet")
    assert users["user"].tolist() == ["alice", "bob"] and users["gpu_share"].sum() == pytest.approx(1.0)
    quotas.write_text("user,weight\nalice,-1\n")
    bad = run_cli("replay", *args)
    assert bad.returncode == 2 and f"{quotas}:2: field 'weight'" in bad.stderr
    assert jain(np.array([1.0, 1.0, 1.0])) == 1.0 and jain(np.array([1.0, 0.0])) == 0.5


def _nodes(root: Path) -> Path:
    path = root / "nodes.csv"
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,2,T4\n")
    return path
