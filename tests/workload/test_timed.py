"""Timed workloads: openb timelines, job CSVs, synthetic workloads, speed tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.cluster.speeds import SpeedTable
from schedlab.errors import ConfigError, TraceError
from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.workload import from_openb, load_jobs, write_jobs
from schedlab.workload.load import gpu_load
from schedlab.workload.synth import synthesize
from tests.test_cli import run_cli

JOBS = """id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user
j1,0,100,4000,8000,1,500,,LS,alice
j2,5.5,20,2000,4000,0,0,,BE,bob
j0,1,10,0,100,2,1000,T4|V100,BE,alice
"""


def test_openb_timeline_leaves_out_tasks_that_never_ran() -> None:
    w = from_openb(load_tasks(default_pods_path()))
    assert len(w) == 8152 - 897 and w.excluded == {"never_ran": 897}
    assert (np.diff(w.arrival) >= 0).all() and (w.duration >= 0).all()
    assert w.duration[0] == 12537496  # openb-pod-0000: deleted at 12537496, scheduled at 0


def test_openb_variant_without_timeline_is_an_error(shared_data: Path) -> None:
    with pytest.raises(TraceError, match="no timeline"):
        from_openb(load_tasks(shared_data / "openb_pod_list_multigpu20.csv"))


def test_job_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS)
    w = load_jobs(path)
    assert w.tasks.name.tolist() == ["j1", "j0", "j2"]  # sorted by submit time
    assert w.arrival.tolist() == [0.0, 1.0, 5.5] and w.duration.tolist() == [100.0, 10.0, 20.0]
    assert w.tasks.cpu_milli.tolist() == [4000, 100, 2000]
    assert w.is_ls.tolist() == [True, False, False] and w.user.tolist() == ["alice", "alice", "bob"]
    write_jobs(w, tmp_path / "again.csv")
    again = load_jobs(tmp_path / "again.csv")
    assert (
        again.tasks.gpu_spec.tolist() == ["", "T4|V100", ""] and again.arrival.tolist() == w.arrival.tolist()
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("j2,5.5,20", "j2,soon,20", 3, "submit_time"),
        ("j2,5.5,20", "j2,5.5,", 3, "duration"),
        ("j0,1,10,0,100,2,1000", "j0,1,10,0,100,2,500", 4, "num_gpu"),
        ("j1,0,100,4000", "j1,0,-100,4000", 2, "duration"),
    ],
)
def test_bad_job_rows(tmp_path: Path, old: str, new: str, line: int, field: str) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS.replace(old, new))
    with pytest.raises(TraceError) as err:
        load_jobs(path)
    assert (err.value.line, err.value.field) == (line, field)


def test_synth_hits_the_offered_load_and_is_seeded() -> None:
    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    a = synthesize(trace, nodes, 50_000, 0.8, seed=5, durations="exp:600")
    b = synthesize(trace, nodes, 50_000, 0.8, seed=5, durations="exp:600")
    assert np.array_equal(a.arrival, b.arrival) and np.array_equal(a.duration, b.duration)
    assert gpu_load(a, nodes) == pytest.approx(0.8, rel=0.03)
    assert abs(a.duration.mean() / 600 - 1) < 0.02
    gaps = np.diff(a.arrival)
    assert abs(gaps.std() / gaps.mean() - 1) < 0.03  # exponential gaps: coefficient of variation 1
    kept = synthesize(trace, nodes, 1000, 0.5, seed=1)  # durations from the trace, per drawn task
    assert set(kept.duration.tolist()) <= set(trace.duration.tolist())
    with pytest.raises(ConfigError, match="bad durations"):
        synthesize(trace, nodes, 10, 0.5, seed=1, durations="weibull:3")


def test_speed_table_file(tmp_path: Path) -> None:
    path = tmp_path / "speeds.csv"
    path.write_text("model,speed,task_class\nV100,2.0,\nV100,3.0,sharing\nT4,0.5,\n")
    table = SpeedTable.load(path)
    speeds = table.node_factors(np.array([0, 1, 2]), ("T4", "V100", "G2"))
    assert speeds.tolist() == [[0.5, 0.5, 0.5], [2.0, 3.0, 2.0], [1.0, 1.0, 1.0]]
    path.write_text("model,speed\nV100,0\n")
    with pytest.raises(TraceError, match="must be a positive finite number"):
        SpeedTable.load(path)
    path.write_text("model,speed,task_class\nV100,2,gpu\n")
    with pytest.raises(TraceError, match="task_class"):
        SpeedTable.load(path)


def test_drawn_run_times_keep_the_tasks_that_never_ran_in_the_mix(tmp_path: Path) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time,scheduled_time,deletion_time\n"
        "ran,1000,1000,1,1000,0,0,100\n"
        "pending,1000,1000,2,1000,10,,\n"
    )

    mixes = {}
    for durations in ("trace", "exp:60"):
        out = tmp_path / f"{durations.replace(':', '')}.csv"
        done = run_cli("synth", "--pods", str(pods), "--tasks", "200", "--durations", durations,
                       "--cold-start", "--out", str(out))  # fmt: skip
        assert done.returncode == 0, done.stderr
        mixes[durations] = set(pd.read_csv(out)["num_gpu"])
    assert mixes == {"trace": {1}, "exp:60": {1, 2}}


def test_synth_users_and_anti_affinity_round_trip_through_a_job_csv(tmp_path: Path) -> None:
    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    w = synthesize(trace, nodes, 20_000, 0.8, seed=3, durations="exp:600", users=10, spread=(0.1, 1, 4))
    capped = w.max_per_node is not None and w.max_per_node >= 0
    assert 0.08 < capped.mean() < 0.12 and set(w.max_per_node[capped].tolist()) == {1}
    services = pd.Series(w.user[capped]).value_counts()
    assert (services <= 4).all() and all(str(u).startswith("svc-") for u in services.index)
    counts = pd.Series(w.user[~capped]).value_counts()
    assert counts.index[0] == "user-0" and counts["user-0"] > 2.5 * counts["user-9"]  # Zipf: 10 to 1
    write_jobs(w, tmp_path / "jobs.csv")
    again = load_jobs(tmp_path / "jobs.csv")
    assert again.max_per_node is not None and np.array_equal(again.max_per_node, w.max_per_node)
    assert again.user.tolist() == w.user.tolist()


def test_an_unknown_job_column_is_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS.replace("qos,user\n", "qos,user,team\n").replace("alice\n", "alice,9\n"))
    result = run_cli("replay", "--jobs", str(path), "--json")
    warnings = [line for line in result.stderr.splitlines() if "team" in line]
    assert result.returncode == 0 and len(warnings) == 1 and warnings[0].startswith("warning: ")
    assert "'team' ignored" in warnings[0]
    # Kueue's columns are known, and replay says it does not use them
    path.write_text(JOBS.replace("qos,user\n", "qos,user,priority\n").replace("alice\n", "alice,9\n"))
    result = run_cli("replay", "--jobs", str(path), "--json")
    warnings = [line for line in result.stderr.splitlines() if "priority" in line]
    assert result.returncode == 0 and len(warnings) == 1
    assert "read by `schedlab kueue replay`; replay does not use them" in warnings[0]
