"""Quota plus placement: an admitted workload's pods go on its flavors' nodes or it waits,
with quota left untaken; flavors stand for the nodes of their GPU model; unmatchable labels
and pods that fit no node even when empty are said so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError
from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.placement import Placements, flavor_nodes
from schedlab.trace import Nodes, Tasks
from tests.test_cli import run_cli

NODES = Nodes.build([("t0", 8000, 65536, 2, "T4"), ("v0", 64000, 262144, 8, "V100M32")])


def config(
    tmp_path: Path, labels: str = "{alibabacloud.com/gpu-card-model: T4}", strategy: str = "StrictFIFO"
) -> KueueConfig:
    path = tmp_path / "k.yaml"
    path.write_text(
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: t4}\n"
        f"spec:\n  nodeLabels: {labels}\n---\n"
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: q}\nspec:\n"
        f"  queueingStrategy: {strategy}\n"
        "  resourceGroups:\n  - coveredResources: [cpu, nvidia.com/gpu]\n    flavors:\n"
        "    - name: t4\n      resources:\n"
        "      - {name: cpu, nominalQuota: 100}\n      - {name: nvidia.com/gpu, nominalQuota: 4}\n"
    )
    return load_config([path])


def run(c: KueueConfig, jobs: list[tuple[float, float, int]], placement: bool) -> object:
    """One-GPU jobs of (arrival, duration, CPU cores) on queue q."""
    items = [Workload("q", 0, a, d, {"cpu": cpu * 1000, "nvidia.com/gpu": 1}) for a, d, cpu in jobs]
    tasks = Tasks.build([(cpu * 1000, 1024, 1, 1000, "") for _, _, cpu in jobs])
    n = len(jobs)
    places = (
        Placements(c, NODES, tasks, np.arange(n), np.ones(n, dtype=np.int64), "bestfit", 42)
        if placement
        else None
    )
    return replay(c, items, placements=places)


def test_a_flavor_stands_for_the_nodes_of_its_gpu_model(tmp_path: Path) -> None:
    assert flavor_nodes(config(tmp_path), NODES)["t4"].tolist() == [True, False]
    assert flavor_nodes(config(tmp_path, "{}"), NODES)["t4"].tolist() == [True, True]
    with pytest.raises(ConfigError, match="nodeLabels zone=a: a node list knows each node's GPU model only"):
        flavor_nodes(config(tmp_path, "{zone: a}"), NODES)
    with pytest.raises(ConfigError, match="ResourceFlavor t4: no node of <memory> has the labels it names"):
        flavor_nodes(config(tmp_path, "{nvidia.com/gpu.product: A100}"), NODES)


def test_quota_fits_but_the_node_does_not_so_the_workload_waits(tmp_path: Path) -> None:
    # Quota: 4 GPUs and 100 cores, enough for both jobs. The T4 node has 8 cores: the second
    # 6-core job waits for the first to end (100 s) with placement, not without.
    c = config(tmp_path)
    jobs = [(0.0, 100.0, 6), (1.0, 10.0, 6)]
    assert run(c, jobs, placement=False).admitted == [0.0, 1.0]  # type: ignore[attr-defined]
    assert run(c, jobs, placement=True).admitted == [0.0, 100.0]  # type: ignore[attr-defined]


def test_pods_that_fit_no_node_of_their_flavor_even_empty_pend_with_that_reason(tmp_path: Path) -> None:
    for strategy in ("StrictFIFO", "BestEffortFIFO"):
        out = run(config(tmp_path, strategy=strategy), [(0.0, 10.0, 16), (1.0, 10.0, 2)], placement=True)
        assert out.pending[0] == "quota fits, but its pods fit no node of flavor t4 even when empty"  # type: ignore[attr-defined]
        # StrictFIFO: the head blocks the queue; BestEffortFIFO: the next job goes ahead
        assert out.admitted[1] == (None if strategy == "StrictFIFO" else 1.0)  # type: ignore[attr-defined]


def test_the_cli_replays_with_placement(tmp_path: Path) -> None:
    c = tmp_path / "k.yaml"
    config(tmp_path)  # writes k.yaml
    c.write_text(c.read_text() + "---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\n"
                 "metadata: {name: lq, namespace: ns}\nspec: {clusterQueue: q}\n")  # fmt: skip
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,queue\n"
        "a,0,100,6000,1024,1,1000,ns/lq\nb,1,10,6000,1024,1,1000,ns/lq\n"
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nt0,8000,65536,2,T4\nv0,64000,262144,8,V100M32\n")
    args = ["kueue", "replay", str(c), "--jobs", str(jobs), "--nodes", str(nodes), "--json"]
    quota = json.loads(run_cli(*args[:-3], "--json").stdout)
    placed = run_cli(*args, "--placement", "bestfit")
    assert placed.returncode == 0, placed.stderr
    doc = json.loads(placed.stdout)
    assert doc["config"]["mode"] == "quota-and-placement" and doc["config"]["placement"] == "bestfit"
    assert quota["cluster_queues"]["q"]["wait_s"]["max"] == 0.0
    assert doc["cluster_queues"]["q"]["wait_s"]["max"] == 99.0  # b: 1 s -> 100 s
