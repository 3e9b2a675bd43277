"""`schedlab kueue explain`: one more workload at a moment of a trace, answered exactly."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.errors import ConfigError
from schedlab.kueue.admission import Workload
from schedlab.kueue.explain import explain
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig

FLAVOR = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n---\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kueue"


def one_queue(folder: Path, strategy: str = "BestEffortFIFO", preemption: str = "") -> KueueConfig:
    path = folder / "k.yaml"
    path.write_text(
        FLAVOR + "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: a}\nspec:\n"
        f"  queueingStrategy: {strategy}\n"
        + (f"  preemption: {preemption}\n" if preemption else "")
        + "  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
        "    - name: default\n      resources: [{name: cpu, nominalQuota: 4}]\n"
    )
    return load_config([path])


def job(cpu: int, arrival: float, duration: float, priority: int = 0) -> Workload:
    return Workload("a", priority, arrival, duration, {"cpu": cpu * 1000})


def test_a_workload_that_waits_for_quota_and_the_one_it_delays(tmp_path: Path) -> None:
    trace = [job(3, 0, 10), job(3, 5, 10)]
    answer = explain(one_queue(tmp_path), trace, job(2, 0, 10), at=1)
    assert answer.pending_at == "flavor default: insufficient quota for cpu: 2 asked, 1 available"
    assert answer.ahead == 0 and answer.admitted_at == 10.0 and answer.flavors == (("cpu", "default"),)
    # at 10 it takes 2 of the 4 CPUs, so the trace's second job (3 CPUs) waits until 20
    assert (answer.delayed, answer.delay_s) == (1, 10.0)


def test_behind_a_strict_fifo_head(tmp_path: Path) -> None:
    trace = [job(4, 0, 10), job(4, 1, 10)]
    answer = explain(one_queue(tmp_path, "StrictFIFO"), trace, job(1, 0, 5), at=2)
    assert answer.pending_at == "blocked by its queue's head" and answer.ahead == 1
    assert answer.admitted_at == 20.0 and answer.delayed == 0


def test_admitted_at_once_by_preempting(tmp_path: Path) -> None:
    c = one_queue(tmp_path, preemption="{withinClusterQueue: LowerPriority}")
    answer = explain(c, [job(4, 0, 100)], job(4, 0, 30, priority=5), at=10)
    assert answer.pending_at is None and answer.admitted_at == 10.0
    assert answer.evicts == ((0, "InClusterQueue"),) and answer.evicted == 0
    never = explain(one_queue(tmp_path), [job(4, 0, 100)], job(4, 0, 30, priority=5), at=10)
    assert never.pending_at is not None and never.admitted_at == 100.0 and not never.evicts


def test_the_command_on_the_example(tmp_path: Path) -> None:
    header = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,queue,priority,gang_size\n"
    burst = tmp_path / "burst.csv"
    burst.write_text(header + "burst,0,600,1000,4096,1,1000,prod/inference,production,500\n")
    args = ["kueue", "explain", str(EXAMPLES / "teams.yaml"), "--jobs", str(EXAMPLES / "jobs.csv")]
    result = CliRunner().invoke(cli, [*args, "--workload", str(burst), "--at", "3000", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["cluster_queue"] == "serving" and doc["requests"]["nvidia.com/gpu"] == 500
    assert doc["pending_at"].startswith("flavor t4: insufficient quota for nvidia.com/gpu: 500 asked")
    assert doc["admitted_at"] > 3000 and doc["flavors"] == {"cpu": "t4", "nvidia.com/gpu": "t4"}
    two = tmp_path / "two.csv"
    two.write_text(header + "x,0,1,1000,1,0,0,prod/inference,,1\ny,0,1,1000,1,0,0,prod/inference,,1\n")
    result = CliRunner().invoke(cli, [*args, "--workload", str(two)])
    assert isinstance(result.exception, ConfigError) and "2 workloads with a queue; give one" in str(
        result.exception
    )
