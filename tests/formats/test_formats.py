"""Trace adapters: each format is recognised, maps its rows as documented (exact values on
fixtures in the documented formats), reports through `trace inspect`, and the shared traces
load and replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.formats import detect, read_nodes, read_workload
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from schedlab.workload.gangs import gang_layout
from tests.test_cli import run_cli

FIXTURES = Path(__file__).parents[1] / "data" / "traces"
SHARED = Path(__file__).parents[3] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")


def test_pai_tasks_become_gangs_with_their_requests_and_job_submissions() -> None:
    w = read_workload(FIXTURES / "pai" / "pai_task_table.csv")
    assert list(w.tasks.name) == [
        "4f057009a5d481acec67b088/tensorflow",
        *[f"6a1b2c3d4e5f60718293a4b5/worker/{k}" for k in range(4)],
        *[f"6a1b2c3d4e5f60718293a4b5/ps/{k}" for k in range(2)],
        "7b2c3d4e5f60718293a4b5c6/worker",
    ]
    assert w.arrival.tolist() == [0, 150, 150, 150, 150, 150, 150, 900]  # submissions, from the job table
    assert w.duration.tolist() == [38, *[3600] * 6, 600]
    assert w.tasks.num_gpu.tolist() == [1, 1, 1, 1, 1, 0, 0, 8]
    assert w.tasks.gpu_milli.tolist() == [500, 1000, 1000, 1000, 1000, 0, 0, 1000]
    assert w.tasks.cpu_milli.tolist() == [6000, 8000, 8000, 8000, 8000, 4000, 4000, 12000]
    assert w.tasks.memory_mib.tolist()[:2] == [30000, 32768]
    assert w.user.tolist()[:2] == ["a1b2c3d4e5f6", "b2c3d4e5f6a7"]
    assert gang_layout(w)[1].tolist() == [1, 4, 4, 4, 4, 2, 2, 1]
    assert w.excluded == {"not finished": 2, "no start or end time": 1}


def test_helios_jobs_keep_gpu_jobs_as_tasks_or_gangs() -> None:
    w = read_workload(FIXTURES / "helios" / "cluster_log.csv")
    assert list(w.tasks.name) == ["1425511", "1425513/0", "1425513/1", "1425514", "1425515"]
    assert w.arrival.tolist() == [0, 269, 269, 1139, 2939]
    assert w.duration.tolist() == [36848, 7200, 7200, 600, 86400]
    assert w.tasks.num_gpu.tolist() == [1, 8, 8, 4, 8] and w.tasks.cpu_milli.tolist()[:3] == [
        1000,
        32000,
        32000,
    ]
    assert w.excluded == {"CPU-only job": 1}


def test_philly_jobs_take_their_last_attempt_with_times() -> None:
    w = read_workload(FIXTURES / "philly" / "cluster_job_log")
    assert list(w.tasks.name) == [
        "application_1506638472019_14199",
        "application_1506638472019_14200/0",
        "application_1506638472019_14200/1",
        "application_1506638472019_14203",
    ]
    assert w.arrival.tolist() == [0, 1101, 1101, 6561]
    assert w.duration.tolist() == [193182, 7200, 7200, 1800]  # the retry of 14199 counts
    assert w.tasks.num_gpu.tolist() == [8, 8, 8, 2]
    assert w.excluded == {"no attempt": 1, "no attempt with start and end times": 1}


@needs_shared
@pytest.mark.parametrize(
    ("relative", "name", "nodes", "gpus"),
    [
        ("spot-gpu-2026/node_info_df.csv", "spot-gpu-2026", 4278, 10412),
        ("trace-samples/pai-2020/pai_machine_spec.csv", "pai-2020-machines", 1897, 6742),
        ("trace-samples/philly/cluster_machine_list", "philly-machines", 552, 2490),
        ("trace-samples/helios/Venus/cluster_gpu_number.csv", "helios-gpus", 158, 1264),
        ("openb-2023/openb_node_list_all_node.csv", "openb-nodes", 1523, 6212),
    ],
)
def test_shared_node_lists_load(relative: str, name: str, nodes: int, gpus: int) -> None:
    path = SHARED / relative
    assert detect(path).name == name
    table = read_nodes(path)
    assert len(table) == nodes and int(table.num_gpu.sum()) == gpus


@needs_shared
def test_the_shared_traces_replay(tmp_path: Path) -> None:
    dlrm = read_workload(SHARED / "dlrm-2025" / "disaggregated_DLRM_trace.csv")
    assert len(dlrm) == 23871 and int((dlrm.tasks.num_gpu == 1).sum()) == 7386
    assert set(dlrm.tasks.qos) == {"LS"} and len(set(dlrm.user)) == 156
    nodes = read_nodes(SHARED / "openb-2023" / "openb_node_list_all_node.csv")
    result = replay(dlrm, nodes, ReplayConfig(policy="bestfit"))
    s = result.summary
    assert s["tasks"] == 23871 and s["completed"] + s["rejected"] == 23871 and s["completed"] > 23000
    assert dlrm.max_per_node is not None
    limited = dlrm.max_per_node >= 0  # only instances with a limit count towards it
    limit = pd.Series(dlrm.max_per_node[limited], index=dlrm.user[limited]).groupby(level=0).max()
    attempts = result.attempts[limited[result.attempts["task"].to_numpy()]]
    peak = most_at_once(attempts, dlrm.user)
    assert (peak <= limit[peak.index]).all() and (peak == limit[peak.index]).any()
    for jobs, node_list in (
        (FIXTURES / "philly" / "cluster_job_log", SHARED / "trace-samples/philly/cluster_machine_list"),
        (
            FIXTURES / "helios" / "cluster_log.csv",
            SHARED / "trace-samples/helios/Venus/cluster_gpu_number.csv",
        ),
        (FIXTURES / "pai" / "pai_task_table.csv", SHARED / "trace-samples/pai-2020/pai_machine_spec.csv"),
    ):
        done = run_cli("replay", "--jobs", str(jobs), "--nodes", str(node_list), "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["completed"] == result["tasks"] > 0, jobs
    spot = run_cli("synth", "--tasks", "500", "--nodes", str(SHARED / "spot-gpu-2026/node_info_df.csv"),
                   "--out", str(tmp_path / "spot.csv"))  # fmt: skip
    assert spot.returncode == 0, spot.stderr


def test_trace_inspect_reports_mix_load_and_what_was_left_out() -> None:
    done = run_cli("trace", "inspect", str(FIXTURES / "pai" / "pai_task_table.csv"), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["format"] == "pai-2020-tasks" and doc["kind"] == "jobs"
    assert (doc["tasks"], doc["jobs"], doc["gangs"], doc["span_s"]) == (8, 4, 2, 900.0)
    assert doc["gpu_classes"] == {"1-gpu": 4, "cpu-only": 2, "8+-gpu": 1, "gpu-share": 1}
    assert doc["gang_sizes"] == {"2": 1, "4": 1}
    assert doc["left_out"] == {"not finished": 2, "no start or end time": 1}
    assert doc["offered_load"] == pytest.approx(
        (500 * 38 + 4 * 1000 * 3600 + 8000 * 600) / 900 / (6212 * 1000)
    )
    text = run_cli("trace", "inspect", str(FIXTURES / "helios" / "cluster_log.csv"))
    assert text.returncode == 0 and "SenseTime Helios cluster log (helios-jobs, jobs)" in text.stdout
    assert "left out: CPU-only job 1" in text.stdout and "gang sizes: 2 1" in text.stdout


def test_unknown_and_malformed_files_are_one_clear_line(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    done = run_cli("trace", "inspect", str(unknown))
    assert done.returncode == 2 and done.stderr.startswith(f"error: {unknown}:1: not a trace format")
    log = tmp_path / "cluster_log.csv"
    text = (FIXTURES / "helios" / "cluster_log.csv").read_text()
    log.write_text(text.replace("2020-06-09 19:00:00,2020", "June 9th,2020"))
    done = run_cli("replay", "--jobs", str(log))
    assert done.returncode == 2 and f"{log}:5: field 'submit_time'" in done.stderr
    pai = tmp_path / "pai_task_table.csv"
    pai.write_text((FIXTURES / "pai" / "pai_task_table.csv").read_text().replace(",4.0,", ",-4.0,"))
    done = run_cli("trace", "inspect", str(pai))
    assert done.returncode == 2 and f"{pai}:2: field 'inst_num'" in done.stderr
    helios, pai_tasks = FIXTURES / "helios" / "cluster_log.csv", FIXTURES / "pai" / "pai_task_table.csv"
    nodes_as_jobs = run_cli("replay", "--jobs", str(helios), "--nodes", str(pai_tasks))
    assert nodes_as_jobs.returncode == 2 and "not a node list" in nodes_as_jobs.stderr
    broken = tmp_path / "cluster_job_log"
    broken.write_text('[{"jobid": "a", "attempts": [')
    done = run_cli("trace", "inspect", str(broken))
    assert done.returncode == 2 and "not valid JSON" in done.stderr


def test_anti_affinity_keeps_a_service_under_its_limit_per_node() -> None:
    # three instances of one service, at most one a node, on two roomy nodes: the third
    # waits for the first to leave although both nodes have room.
    tasks = Tasks.build([(1000, 1000, 0, 0, "")] * 3)
    users = np.array(["svc"] * 3, dtype=object)
    workload = TimedWorkload(
        tasks, np.array([0.0, 0.0, 1.0]), np.array([10.0, 20.0, 5.0]), users, "t",
        max_per_node=np.array([1, 1, 1]),
    )  # fmt: skip
    nodes = Nodes.build([("n0", 32000, 65536, 1, "T4"), ("n1", 32000, 65536, 1, "T4")])
    for compiled in (True, False):
        result = replay(workload, nodes, ReplayConfig(policy="bestfit", compiled=compiled))
        assert result.tasks["start"].tolist() == [0.0, 0.0, 10.0]
        assert result.summary["path"] == ("compiled" if compiled else "reference")


def most_at_once(attempts: pd.DataFrame, users: np.ndarray) -> pd.Series:
    """The most attempts of one user running at once on one node, per user."""
    frame = attempts.assign(user=users[attempts["task"].to_numpy()])
    starts = frame.assign(step=1, time=frame["start"])
    ends = frame.assign(step=-1, time=frame["end"])
    events = pd.concat([starts, ends]).sort_values(["time", "step"])
    events["on"] = events.groupby(["user", "node"])["step"].cumsum()
    return events.groupby("user")["on"].max()
