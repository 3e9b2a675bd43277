"""MIG-partitioned nodes in a replay: one node per profile of the layout with its instances
as GPUs and a share of the CPU and memory; tasks asking for a profile get its instances
only, other GPU tasks the whole GPUs only; ``--mig-fit``; errors in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.cluster.mig import MigError
from schedlab.cluster.partition import mig_tasks, parse_layouts, partition
from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.test_cli import run_cli

NODES = Nodes.build([("a", 70000, 700000, 1, "A100-80GB"), ("t", 16000, 65536, 2, "T4")])
LAYOUT = "A100-80GB=3g.40gb,2g.20gb,2x1g.10gb"


def workload(rows: list[tuple[float, float, int, int, str]]) -> TimedWorkload:
    """(arrival, duration, num_gpu, gpu_milli, gpu_spec) rows, 1 CPU each."""
    tasks = Tasks.build([(1000, 1000, k, m, spec) for _, _, k, m, spec in rows])
    users = np.full(len(rows), "u", dtype=object)
    return TimedWorkload(tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "mig")


def run(
    rows: list[tuple[float, float, int, int, str]], compiled: bool = False, fit: bool = False
) -> ReplayResult:
    config = ReplayConfig(policy="bestfit", mig=(LAYOUT,), mig_fit=fit, compiled=compiled)
    return replay(workload(rows), NODES, config)


def test_a_partitioned_node_is_one_node_per_profile_with_its_share_of_cpu_and_memory() -> None:
    part = partition(NODES, parse_layouts([LAYOUT], NODES))
    n = part.nodes
    assert list(n.name) == ["a/3g.40gb", "a/2g.20gb", "a/1g.10gb", "t"]
    assert list(n.model) == ["A100-80GB/3g.40gb", "A100-80GB/2g.20gb", "A100-80GB/1g.10gb", "T4"]
    assert list(n.num_gpu) == [1, 1, 2, 2]
    # compute slices 3 : 2 : 2 x 1 of the node's 70,000 milli-CPU and 700,000 MiB
    assert list(n.cpu_milli) == [30000, 20000, 20000, 16000]
    assert list(n.memory_mib) == [300000, 200000, 200000, 65536]
    assert part.share == {"A100-80GB/3g.40gb": 3 / 7, "A100-80GB/2g.20gb": 2 / 7, "A100-80GB/1g.10gb": 1 / 7}


@pytest.mark.parametrize("compiled", [False, True])
def test_tasks_get_instances_of_their_profile_and_whole_gpus_stay_whole(compiled: bool) -> None:
    rows = [(0.0, 10.0, 1, 1000, "mig-1g.10gb")] * 3 + [
        (0.0, 10.0, 1, 1000, "nvidia.com/mig-3g.40gb"),
        (0.0, 10.0, 2, 1000, ""),  # the two T4s
        (1.0, 10.0, 1, 500, ""),  # no whole GPU is free before 10 s: the A100 is partitioned
    ]
    t = run(rows, compiled).tasks
    # two 1g instances: the third 1g task waits for the first to end
    assert list(t["start"]) == [0.0, 0.0, 10.0, 0.0, 0.0, 10.0]
    names = ["a/3g.40gb", "a/2g.20gb", "a/1g.10gb", "t"]
    assert [names[i] for i in t["node"]] == ["a/1g.10gb"] * 3 + ["a/3g.40gb", "t", "t"]


def test_mig_fit_asks_for_the_smallest_instance_that_covers_the_task() -> None:
    rows = [(0.0, 1.0, 1, 100, ""), (0.0, 1.0, 1, 200, ""), (0.0, 1.0, 1, 300, ""), (0.0, 1.0, 1, 1000, "")]
    part = partition(NODES, parse_layouts([LAYOUT], NODES))
    fitted = mig_tasks(workload(rows), part, fit=True).tasks
    # 1/7 = 143 milli covers 100; 2/7 = 286 covers 200; 3/7 = 429 covers 300; no 7g: a whole T4
    assert list(fitted.gpu_spec) == ["A100-80GB/1g.10gb", "A100-80GB/2g.20gb", "A100-80GB/3g.40gb", "T4"]
    assert list(fitted.gpu_milli) == [1000, 1000, 1000, 1000]
    plain = mig_tasks(workload(rows), part, fit=False).tasks
    assert list(plain.gpu_spec) == ["T4"] * 4 and list(plain.gpu_milli) == [100, 200, 300, 1000]


def test_compute_allocation_counts_an_instance_as_its_share_of_a_gpu() -> None:
    # one 1g instance held from 0 to 200 s while arrivals span 0-100 s on 3 physical GPUs
    rows = [(0.0, 200.0, 1, 1000, "mig-1g.10gb"), (100.0, 1.0, 0, 0, "")]
    result = run(rows)
    assert result.summary["mig"]["compute_alloc_mean_pct"] == pytest.approx(100 * (1 / 7) / 3)
    assert result.summary["mig"]["instances"] == 4


def test_the_offered_load_counts_an_instance_as_its_compute_share() -> None:
    # Over 0 to 100 s: a 3g instance (3/7 of a GPU: 429 milli) for 70 s and a T4 for 30 s,
    # on 3 GPUs (3,000 milli).
    rows = [(0.0, 70.0, 1, 1000, "mig-3g.40gb"), (100.0, 30.0, 1, 1000, "")]
    s = run(rows).summary
    assert s["offered_load"] == pytest.approx((429 * 70 + 1000 * 30) / 100 / 3000, rel=1e-12)
    assert s["offered_loads"]["gpu"] == s["offered_load"]


@pytest.mark.parametrize("compiled", [False, True])
def test_fragmentation_samples_weigh_an_instance_by_its_compute(compiled: bool) -> None:
    # One 1g task holds one of the two 1g instances. Free: 3g, 2g, 1g instances and two T4s;
    # its typical task (a 1g instance) can use only the free 1g one: FGD counts the rest.
    first = run([(0.0, 100.0, 1, 1000, "mig-1g.10gb")], compiled=compiled).frag_series.iloc[0]
    assert (first["frag_milli"], first["free_milli"]) == (4000.0, 5000)  # an instance as a GPU
    # In 28ths of a GPU: a 3g instance 12, a 2g 8, a 1g 4, a T4 28.
    assert first["frag_compute_milli"] == (12 + 8 + 2 * 28) * 1000 / 28
    assert first["free_compute_milli"] == (12 + 8 + 4 + 2 * 28) * 1000 / 28


def test_layouts_the_cluster_cannot_have_are_one_error() -> None:
    with pytest.raises(MigError, match="does not fit one A100-80GB"):
        parse_layouts(["A100-80GB=4x2g.20gb"], NODES)
    with pytest.raises(MigError, match="T4 has no MIG"):
        parse_layouts(["T4=1g.5gb"], NODES)
    with pytest.raises(MigError, match="no node of <memory> has GPU model 'H100'"):
        parse_layouts(["H100=7g.80gb"], NODES)
    with pytest.raises(MigError, match="expected MODEL=LAYOUT"):
        parse_layouts(["A100-80GB"], NODES)
    alone = r"^mig: gpu_spec 'mig-7g\.80gb' \(id 'task-0'\): no partitioned GPU has 7g\.80gb$"
    with pytest.raises(MigError, match=alone):
        run([(0.0, 1.0, 1, 1000, "mig-7g.80gb")])
    with pytest.raises(MigError, match=r"\(id 'task-1' and 1 more\): no partitioned GPU has 7g\.80gb$"):
        run([(0.0, 1.0, 1, 1000, ""), (1.0, 1.0, 1, 1000, "mig-7g.80gb"), (2.0, 1.0, 1, 1000, "mig-7g.80gb")])


def test_the_cli_partitions_and_refuses_bad_layouts(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
        "a,0,10,1000,1000,1,1000,mig-1g.10gb\nb,1,10,1000,1000,1,300,\n"
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,70000,700000,1,A100-80GB\nt,16000,65536,2,T4\n")
    base = ["replay", "--jobs", str(jobs), "--nodes", str(nodes), "--json"]
    done = run_cli(*base, "--mig", LAYOUT, "--mig-fit")
    assert done.returncode == 0, done.stderr
    assert "gpu_spec" not in done.stderr  # a mig-<profile> constraint names no GPU model
    for flags, message in (
        (
            ["--mig", "A100-80GB=4x2g.20gb"],
            "error: --mig 'A100-80GB=4x2g.20gb': MIG layout 2g.20gb + 2g.20gb + 2g.20gb + 2g.20gb does not",
        ),
        (["--mig-fit"], "error: --mig-fit needs --mig MODEL=LAYOUT or a node list with a mig column"),
    ):
        bad = run_cli(*base, *flags)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("compiled", [False, True])
def test_a_profiled_task_alone_on_an_instance_runs_at_its_compute_share(compiled: bool) -> None:
    # A 1g instance has 1/7 of the GPU: the task runs as the interference model says its
    # configuration runs alone under MPS at a 14 % SM share; on a whole T4 at full speed.
    from dataclasses import replace as with_

    from schedlab.interference import Sharing, load_profiles, make_model

    slowed = make_model("measured", load_profiles()).alone("resnet50/8", Sharing("mps", 14))
    assert slowed > 1.5
    w = workload([(0.0, 100.0, 1, 1000, "mig-1g.10gb"), (0.0, 100.0, 1, 1000, "")])
    w = with_(w, profile=np.array(["resnet50/8", "resnet50/8"], dtype=object))
    config = ReplayConfig(policy="bestfit", mig=(LAYOUT,), interference="measured", compiled=compiled)
    t = replay(w, NODES, config).tasks
    assert t["end"].iloc[0] == pytest.approx(100.0 * slowed) and t["end"].iloc[1] == 100.0
