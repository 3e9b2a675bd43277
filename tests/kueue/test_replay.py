"""A trace through a Kueue configuration: jobs as workloads (queues, priorities, gangs,
requests in Kueue's units), the operator's report (waits, quota used and borrowed, pending
reasons), and `schedlab kueue replay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlab.errors import ConfigError
from schedlab.kueue.admission import replay
from schedlab.kueue.load import load_config
from schedlab.kueue.report import summary
from schedlab.kueue.workloads import workloads
from schedlab.workload import load_jobs
from tests.test_cli import run_cli

CONFIG = """apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: default}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: team}
spec:
  cohort: org
  resourceGroups:
  - coveredResources: [cpu, nvidia.com/gpu]
    flavors:
    - name: default
      resources: [{name: cpu, nominalQuota: 10}, {name: nvidia.com/gpu, nominalQuota: 4}]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: other}
spec:
  cohort: org
  resourceGroups:
  - coveredResources: [cpu, nvidia.com/gpu]
    flavors:
    - name: default
      resources: [{name: cpu, nominalQuota: 2}, {name: nvidia.com/gpu, nominalQuota: 0}]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {namespace: ml, name: jobs}
spec: {clusterQueue: team}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: high}
value: 1000
"""
HEAD = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,queue,priority,gang_size\n"


def files(tmp_path: Path, rows: str) -> tuple[Path, Path]:
    (tmp_path / "k.yaml").write_text(CONFIG)
    (tmp_path / "j.csv").write_text(HEAD + rows)
    return tmp_path / "k.yaml", tmp_path / "j.csv"


def test_jobs_become_workloads_in_kueue_units(tmp_path: Path) -> None:
    k, j = files(
        tmp_path,
        "a,0,100,6000,1024,1,1000,ml/jobs,high,1\n"
        "g,5,50,2000,1024,2,1000,ml/jobs,7,2\n"
        "s,6,10,1000,512,1,500,ml/jobs,,1\n"
        "free,7,10,1000,512,0,0,,,1\n",
    )
    found = workloads(load_jobs(j), load_config([k]))
    assert found.resources == ("cpu", "nvidia.com/gpu")  # memory is covered by no queue
    a, g, s = found.items
    assert (a.queue, a.priority, a.requests) == ("team", 1000, {"cpu": 6000, "nvidia.com/gpu": 1})
    assert (g.priority, g.requests) == (7, {"cpu": 4000, "nvidia.com/gpu": 4})  # a gang of 2: one workload
    assert (s.priority, s.requests) == (0, {"cpu": 1000, "nvidia.com/gpu": 1})  # half a GPU counts one
    assert found.tasks.tolist() == [1, 2, 1] and found.unmanaged == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "a,0,1,1000,1,0,0,ml/nope,,1\n",
            "job a: queue 'ml/nope' is not a LocalQueue of the configuration (ml/jobs)",
        ),
        (
            "a,0,1,1000,1,0,0,ml/jobs,urgent,1\n",
            "job a: priority 'urgent' is neither an integer nor a priority class (high)",
        ),
    ],
)
def test_unknown_queues_and_priorities_are_errors(tmp_path: Path, row: str, message: str) -> None:
    k, j = files(tmp_path, row)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        workloads(load_jobs(j), load_config([k]))


def test_the_report_of_a_queue_that_waits_and_borrows(tmp_path: Path) -> None:
    # team has 10 CPUs, its cohort 12 (other's 2 lie idle): a (6) fits, b (6) fits by borrowing
    # 2, c (1) would take the cohort to 13 and waits until a and b finish at 100.
    k, j = files(
        tmp_path,
        "a,0,100,6000,1,0,0,ml/jobs,,1\nb,0,100,6000,1,0,0,ml/jobs,,1\nc,0,100,1000,1,0,0,ml/jobs,,1\n",
    )
    config = load_config([k])
    found = workloads(load_jobs(j), config)
    doc = summary(config, found, replay(config, found.items))
    team = doc["cluster_queues"]["team"]
    assert team["wait_s"] == {
        "mean": pytest.approx(100 / 3),
        "p50": 0.0,
        "p99": pytest.approx(98.0),
        "max": 100.0,
    }
    cpu = team["usage"]["default/cpu"]
    # 12 CPUs for 100 s, then 1 for 100 s, over 200 s; borrowed 2 for the first 100 s
    assert cpu == {
        "nominal": 10000,
        "mean": 6500.0,
        "peak": 12000,
        "mean_frac_of_nominal": 0.65,
        "borrowed_mean": 1000.0,
    }
    assert doc["admitted"] == 3 and doc["pending_reasons"] == {}
    assert doc["local_queues"]["ml/jobs"]["cluster_queue"] == "team"


def test_kueue_replay_command(tmp_path: Path) -> None:
    k, j = files(tmp_path, "a,0,100,6000,1,1,1000,ml/jobs,,1\nb,1,100,1000,1,8,1000,ml/jobs,,1\n")
    shown = run_cli("kueue", "replay", str(k), "--jobs", str(j))
    assert shown.returncode == 0, shown.stderr
    assert "pending at the end: 1 more than the queue can ever use" in shown.stdout
    drawn = run_cli("kueue", "replay", str(k), "--jobs", str(j), "--figure", str(tmp_path / "use.png"))
    assert drawn.returncode == 0 and (tmp_path / "use.png").stat().st_size > 10_000
    doc = json.loads(run_cli("kueue", "replay", str(k), "--jobs", str(j), "--json").stdout)
    assert doc["pending"] == 1 and doc["config"]["mode"] == "quota-only" and str(j) in doc["inputs"]
    (tmp_path / "plain.csv").write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli\na,0,1,1,1,0,0\n"
    )
    missing = run_cli("kueue", "replay", str(k), "--jobs", str(tmp_path / "plain.csv"))
    assert missing.returncode == 2 and "no `queue` column" in missing.stderr
