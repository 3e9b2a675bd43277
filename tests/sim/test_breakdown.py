"""Who waits: the by-class breakdown (exact counts and times on a small workload), task
shape columns in tasks.parquet, and the starvation warning."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from tests.test_cli import run_cli

# One node of 8 GPUs. Four 1-GPU tasks arrive first and keep backfilling past the 8-GPU task:
# it starts only when the cluster is empty at 300.
JOBS = """id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,user
a,0,100,1000,1000,1,1000,LS,ann
big,1,50,1000,1000,8,1000,BE,bob
b,50,100,1000,1000,1,1000,LS,ann
c,99,100,1000,1000,1,1000,LS,ann
d,149,150,1000,1000,1,1000,BE,ann
e,10,5,1000,1000,0,0,BE,cat
"""
ONE = Nodes.build([("n0", 96000, 786432, 8, "V100")])


def test_the_breakdown_counts_and_times_each_class_exactly(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS)
    result = replay(load_jobs(path), ONE, ReplayConfig(policy="bestfit"))
    by_class = result.summary["by_class"]
    assert list(by_class["gpu"]) == ["cpu-only", "1-gpu", "8+-gpu"]  # in GPU_CLASSES order
    assert result.tasks.set_index("name")["start"].to_dict() == {
        "a": 0, "big": 299, "b": 50, "c": 99, "d": 149, "e": 10
    }  # fmt: skip
    big = by_class["gpu"]["8+-gpu"]
    assert (big["tasks"], big["completed"]) == (1, 1)
    assert big["wait"] == {"mean": 298.0, "p50": 298.0, "p99": 298.0, "max": 298.0}
    assert big["jct"]["max"] == 348.0
    assert by_class["gpu"]["1-gpu"]["wait"]["max"] == 0.0
    assert {k: v["tasks"] for k, v in by_class["qos"].items()} == {"BE": 3, "LS": 3}
    assert {k: v["tasks"] for k, v in by_class["user"].items()} == {"ann": 4, "bob": 1, "cat": 1}
    columns = ["num_gpu", "gpu_milli", "cpu_milli", "memory_mib", "gpu_spec", "qos", "user"]
    row = result.tasks.set_index("name").loc["big", columns].tolist()
    assert row == [8, 1000, 1000, 1000, "", "BE", "bob"]


def test_a_starving_class_is_named_in_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    quick = "".join(f"q{i},{i},5,1000,1000,0,0,BE,cat\n" for i in range(200))  # never wait
    path.write_text(JOBS + quick)
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,V100\n")
    out = tmp_path / "out"
    done = run_cli("replay", "--jobs", str(path), "--nodes", str(nodes), "--policy", "bestfit", "--json",
                   "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning: gpu class '8+-gpu' waits 298 s at p99" in done.stderr
    assert json.loads(done.stdout)["by_class"]["gpu"]["8+-gpu"]["wait"]["max"] == 298.0
    tasks = pd.read_parquet(out / "tasks.parquet")
    assert {"num_gpu", "gpu_milli", "cpu_milli", "memory_mib", "gpu_spec", "user"} <= set(tasks.columns)
