"""`schedlab kueue compare`: alternatives x quota scalings on replicate traces, exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.kueue.compare import scaled
from schedlab.kueue.load import load_config
from schedlab.kueue.quota import QuotaTree
from schedlab.metrics.stats import describe

QUEUE = (
    "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n---\n"
    "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: a}\nspec:\n"
    "  cohort: all\n  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
    "    - name: default\n      resources: [{name: cpu, nominalQuota: 4, lendingLimit: 2}]\n---\n"
    "apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: q, namespace: ns}\n"
    "spec: {clusterQueue: a}\n"
)
HEADER = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,queue,priority\n"


def test_scaling_multiplies_every_quota(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(QUEUE)
    tree = QuotaTree.build(scaled(load_config([path]), 1.5))
    k = tree.column("default", "cpu")
    a = tree.index("a")
    assert (tree.nominal[a, k], tree.lending[a, k]) == (6000, 3000)


def test_alternatives_on_replicate_traces(tmp_path: Path) -> None:
    config = tmp_path / "k.yaml"
    config.write_text(QUEUE)
    # Two traces: 4-CPU jobs of 10 s arriving together; with 4 CPUs they go one after another.
    jobs = []
    for name, count in (("one", 2), ("two", 3)):
        path = tmp_path / f"{name}.csv"
        path.write_text(HEADER + "".join(f"j{i},0,10,4000,1,0,0,ns/q,\n" for i in range(count)))
        jobs += ["--jobs", str(path)]
    args = ["kueue", "compare", "--config", str(config), "--scale", "1,2", *jobs, "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)["alternatives"]
    # waits: (0, 10) -> mean 5; (0, 10, 20) -> mean 10; twice the quota: two at a time
    assert doc["k.yaml"]["wait_mean_s"] == pytest.approx(describe([5.0, 10.0]))
    assert doc["k.yaml x2"]["wait_mean_s"]["mean"] == pytest.approx((0.0 + 10 / 3) / 2)
    assert doc["k.yaml"]["traces"] == 2 and doc["k.yaml"]["cluster_queues"]["a"]["wait_p99_s"]["n"] == 2
    table = CliRunner().invoke(cli, args[:-1])
    assert "7.5 [" in table.output and "k.yaml x2" in table.output
