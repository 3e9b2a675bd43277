"""Dynamic MIG: GPUs re-partitioned while idle for the tasks that wait, a reconfiguration
time out of service; one node per GPU, layout and profile; the same on both paths (a hand
case and Hypothesis); errors in one line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from schedlab import jit
from schedlab.cluster.mig import MigError
from schedlab.cluster.partition import parse_layouts
from schedlab.cluster.reslicing import parse_alternatives, reslice
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.sim.test_compiled import same
from tests.test_cli import run_cli

A100 = "A100-SXM4-80GB"
NODES = Nodes.build([("a", 70000, 700000, 2, A100), ("t", 16000, 65536, 1, "T4")])
FIRST = f"{A100}=3g.40gb,2g.20gb,2x1g.10gb"
ALTS = (f"{A100}=7g.80gb", f"{A100}=7x1g.10gb")


def workload(rows: list[tuple[float, float, int, str]]) -> TimedWorkload:
    """(arrival, duration, num_gpu, gpu_spec) rows, 1 CPU each, whole instances or GPUs."""
    tasks = Tasks.build([(1000, 1024, k, 1000, spec) for _, _, k, spec in rows])
    users = np.full(len(rows), "u", dtype=object)
    arrival = np.array([r[0] for r in rows], dtype=np.float64)
    return TimedWorkload(tasks, arrival, np.array([r[1] for r in rows], dtype=np.float64), users, "mig")


def test_each_gpu_is_one_node_per_layout_and_profile() -> None:
    layouts = parse_layouts([FIRST], NODES)
    part, rs = reslice(NODES, layouts, parse_alternatives(layouts, ALTS, NODES))
    names = list(part.nodes.name)
    assert names[0] == "t" and names[1:5] == [
        "a/0/0/3g.40gb",
        "a/0/0/2g.20gb",
        "a/0/0/1g.10gb",
        "a/0/1/7g.80gb",
    ]
    assert names[5] == "a/0/2/1g.10gb" and names[6] == "a/1/0/3g.40gb" and len(names) == 11
    assert list(part.nodes.num_gpu[1:6]) == [1, 1, 2, 1, 7]
    # half the node's CPU per GPU, split 3 : 2 : 2 x 1 in the first layout, whole in the others
    assert list(part.nodes.cpu_milli[1:6]) == [15000, 10000, 10000, 35000, 35000]
    assert list(rs.gpu) == [-1] + [0] * 5 + [1] * 5
    assert list(rs.layout) == [-1, 0, 0, 0, 1, 2, 0, 0, 0, 1, 2]
    assert rs.nodes_of(1, 1) == range(9, 10) and rs.nodes_of(0, 0) == range(1, 4)


def test_with_node_scope_a_node_is_one_unit_of_all_its_gpus() -> None:
    layouts = parse_layouts([FIRST], NODES)
    part, rs = reslice(NODES, layouts, parse_alternatives(layouts, ALTS, NODES), "node")
    names = list(part.nodes.name)
    assert names == ["t", "a/0/3g.40gb", "a/0/2g.20gb", "a/0/1g.10gb", "a/1/7g.80gb", "a/2/1g.10gb"]
    assert list(part.nodes.num_gpu) == [1, 2, 2, 4, 2, 14]  # instances on both GPUs
    assert list(part.nodes.cpu_milli[1:]) == [30000, 20000, 20000, 70000, 70000]
    assert list(rs.gpu) == [-1, 0, 0, 0, 0, 0] and list(rs.layout) == [-1, 0, 0, 0, 1, 2]
    assert list(rs.size) == [2] and list(
        reslice(NODES, layouts, parse_alternatives(layouts, ALTS, NODES))[1].size
    ) == [1, 1]
    with pytest.raises(MigError, match="--mig-scope 'rack'"):
        reslice(NODES, layouts, parse_alternatives(layouts, ALTS, NODES), "rack")


@pytest.mark.parametrize("compiled", [False, True])
def test_with_node_scope_a_task_takes_instances_on_several_gpus(compiled: bool) -> None:
    if compiled and not jit.enabled():
        pytest.skip("numba is not available")
    rows = [(0.0, 100.0, 2, "mig-7g.80gb")]  # two 7g instances: one per GPU of node a
    base = ReplayConfig(policy="bestfit", mig=(FIRST,), mig_alt=ALTS, mig_reconfig=30.0, compiled=compiled)
    per_gpu = replay(workload(rows), NODES, base)
    assert list(per_gpu.tasks["status"]) == ["rejected"]  # no GPU alone holds two 7g instances
    result = replay(workload(rows), NODES, replace(base, mig_scope="node"))
    # the node is idle: the step at 60 s re-partitions both its GPUs, ready at 90 s
    assert list(result.tasks["start"]) == [90.0] and list(result.tasks["node"]) == [4]  # a/1/7g.80gb
    assert result.summary["mig_reconfigs"] == 2 and result.summary["mig_reconfig_gpu_s"] == 60.0


@pytest.mark.parametrize("compiled", [False, True])
def test_a_gpu_is_drained_then_repartitioned_for_a_task_no_layout_in_service_holds(compiled: bool) -> None:
    if compiled and not jit.enabled():
        pytest.skip("numba is not available")
    rows = [
        (0.0, 100.0, 1, "mig-7g.80gb"),  # the GPU has no 7g now
        (10.0, 100.0, 1, "mig-1g.10gb"),
        (20.0, 300.0, 1, "mig-3g.40gb"),  # the GPU is busy until 320 s
    ]
    one = Nodes.build([("a", 70000, 700000, 1, A100), ("t", 16000, 65536, 1, "T4")])
    config = ReplayConfig(policy="bestfit", mig=(FIRST,), mig_alt=ALTS, mig_reconfig=30.0, compiled=compiled)
    result = replay(workload(rows), one, config)
    # the step at 60 s drains the GPU (no new task there), idle at 320 s: the step at 360 s
    # re-partitions it into 7g, ready at 390 s
    assert list(result.tasks["start"]) == [390.0, 10.0, 20.0]
    assert list(result.tasks["node"]) == [4, 3, 1]  # a/0/1/7g.80gb, a/0/0/1g.10gb, a/0/0/3g.40gb
    assert result.summary["mig_reconfigs"] == 1 and result.summary["mig_reconfig_gpu_s"] == 30.0
    at, capacity = result.series["time"].to_numpy(), result.series["capacity_milli"].to_numpy()
    # the T4 and four instances; the T4 alone while the GPU drains and is re-partitioned;
    # then the T4 and one 7g instance
    assert set(capacity[at < 60]) == {5000} and set(capacity[(at >= 60) & (at < 390)]) == {1000}
    assert set(capacity[at >= 390]) == {2000}
    # a 1g task at 100 s waits: the GPU drains for the 7g task, then the step at 420 s drains it
    # back to the first layout with a 1g (idle at 490 s, re-partitioned at 540 s, ready at 570 s)
    late = replay(workload([*rows, (100.0, 10.0, 1, "mig-1g.10gb")]), one, config)
    assert list(late.tasks["start"]) == [390.0, 10.0, 20.0, 570.0]
    assert late.summary["mig_reconfigs"] == 2


@pytest.mark.parametrize("compiled", [False, True])
def test_defrag_moves_a_drained_gpus_tasks_so_it_is_repartitioned_at_once(compiled: bool) -> None:
    if compiled and not jit.enabled():
        pytest.skip("numba is not available")
    rows = [
        (0.0, 1000.0, 1, "mig-1g.10gb"),  # on GPU 0 (seed 1's node order)
        (1.0, 1000.0, 1, "mig-3g.40gb"),  # on GPU 1
        (10.0, 100.0, 1, "mig-7g.80gb"),  # no GPU has a 7g: the step at 60 s drains GPU 0
    ]
    config = ReplayConfig(
        policy="bestfit", mig=(FIRST,), mig_alt=ALTS, mig_reconfig=30.0, seed=1, compiled=compiled
    )
    waited = replay(workload(rows), NODES, config)
    # GPU 0 drains until its 1g task ends at 1000 s: re-partitioned at the step at 1,020 s
    assert list(waited.tasks["node"]) == [3, 6, 4] and list(waited.tasks["start"]) == [0.0, 1.0, 1050.0]
    moved = replay(workload(rows), NODES, replace(config, defrag="least-moved", defrag_cost=60.0))
    # at 60 s the 1g task moves to GPU 1's free 1g instance (60 s of its work kept, 60 s of
    # restart added): GPU 0 is empty, re-partitioned at once, ready at 90 s for the 7g task
    assert list(moved.tasks["node"]) == [8, 6, 4] and list(moved.tasks["start"]) == [60.0, 1.0, 90.0]
    assert list(moved.tasks["end"]) == [1060.0, 1001.0, 190.0]
    assert list(moved.attempts["task"]).count(0) == 2
    assert moved.summary["defrag_moves"] == 1 and moved.summary["defrag_lost_gpu_s"] == 60.0
    assert moved.summary["mig_reconfigs"] == 1


@pytest.mark.parametrize("compiled", [False, True])
def test_at_most_mig_drains_gpus_are_drained_at_once(compiled: bool) -> None:
    if compiled and not jit.enabled():
        pytest.skip("numba is not available")
    rows = [
        (0.0, 1000.0, 1, "mig-1g.10gb"),  # GPU 0 (seed 1's node order)
        (1.0, 2000.0, 1, "mig-3g.40gb"),  # GPU 1
        (10.0, 100.0, 1, "mig-7g.80gb"),  # two 7g tasks: no GPU has a 7g
        (10.0, 100.0, 1, "mig-7g.80gb"),
        (100.0, 50.0, 1, "mig-1g.10gb"),
    ]
    config = ReplayConfig(
        policy="bestfit", mig=(FIRST,), mig_alt=ALTS, mig_reconfig=30.0, seed=1, compiled=compiled
    )
    # by default a quarter of the two GPUs, one, drains: GPU 1 serves on, the late 1g task
    # starts there at once, the second 7g task follows the first on GPU 0's 7g instance
    capped = replay(workload(rows), NODES, config)
    assert list(capped.tasks["start"]) == [0.0, 1.0, 1050.0, 1150.0, 100.0]
    assert capped.summary["mig_reconfigs"] == 1
    # both drained at 60 s: the 1g task waits for GPU 0 to come back to a layout with 1g
    both = replay(workload(rows), NODES, replace(config, mig_drains=2))
    assert list(both.tasks["start"]) == [0.0, 1.0, 1050.0, 2070.0, 1230.0]
    assert both.summary["mig_reconfigs"] == 3


def test_a_gpu_whose_node_fails_is_neither_repartitioned_nor_back_before_its_node() -> None:
    from schedlab.sim.nodes import FAIL, REPAIR, NodeEvent

    one = Nodes.build([("a", 70000, 700000, 1, A100), ("t", 16000, 65536, 1, "T4")])
    rows = [(0.0, 100.0, 1, "mig-7g.80gb")]  # the GPU has no 7g: re-partitioned at the step at 60 s
    config = ReplayConfig(policy="bestfit", mig=(FIRST,), mig_alt=ALTS, mig_reconfig=30.0)
    same(replay(workload(rows), one, replace(config, compiled=True)), replay(workload(rows), one, config))
    # "a" fails at 70 s, while its GPU is re-partitioned (ready at 90 s): the 7g instance comes
    # into service with "a" at its repair at 200 s, when the task starts
    events = [NodeEvent(70.0, 0, FAIL), NodeEvent(200.0, 0, REPAIR)]
    results = [
        replay(workload(rows), one, replace(config, compiled=c), node_events=events) for c in (False, True)
    ]
    same(*results)
    result = results[0]
    assert list(result.tasks["start"]) == [200.0] and list(result.tasks["node"]) == [4]
    at, capacity = result.series["time"].to_numpy(), result.series["capacity_milli"].to_numpy()
    assert set(capacity[(at >= 60) & (at < 200)]) == {1000} and set(capacity[at >= 200]) == {2000}
    assert result.summary["node_events"] == 2 and result.summary["mig_reconfigs"] == 1
    # failed from 30 s to 200 s: no GPU to re-partition meanwhile, then its first layout back
    # (no 7g): re-partitioned at the step at 240 s, ready at 270 s
    events = [NodeEvent(30.0, 0, FAIL), NodeEvent(200.0, 0, REPAIR)]
    results = [
        replay(workload(rows), one, replace(config, compiled=c), node_events=events) for c in (False, True)
    ]
    same(*results)
    assert list(results[0].tasks["start"]) == [270.0]


@pytest.mark.parametrize("compiled", [False, True])
def test_with_strict_admission_only_the_head_is_helped(compiled: bool) -> None:
    # One A100 in 7g, which may become 3g + 2g + 2 x 1g; the T4 node is drained at 0 s for
    # good. A task of a whole T4 GPU heads the queue (it never starts), a 2g and a 7g task
    # wait behind it. With strict admission nothing behind the head can start, so no GPU is
    # re-partitioned and the run ends (helping each shape in turn flipped the layout every
    # step for ever); with backfill the 7g task starts at once and the 2g task once the GPU
    # is re-partitioned (the step at 16 s, on the grid from the first arrival; ready at 21 s).
    from schedlab.sim.nodes import DRAIN, NodeEvent

    one = Nodes.build([("a", 70000, 700000, 1, A100), ("t", 16000, 65536, 1, "T4")])
    rows = [(1.0, 10.0, 1, ""), (2.0, 10.0, 1, "mig-2g.20gb"), (3.0, 10.0, 1, "mig-7g.80gb")]
    config = ReplayConfig(
        mig=(f"{A100}=7g.80gb",), mig_alt=(FIRST,), mig_reconfig=5.0, mig_every=15.0, compiled=compiled
    )
    drained = [NodeEvent(0.0, 1, DRAIN)]
    strict = replay(workload(rows), one, replace(config, admission="strict"), node_events=drained)
    assert list(strict.tasks["status"]) == ["unfinished"] * 3 and strict.summary["mig_reconfigs"] == 0
    backfill = replay(workload(rows), one, config, node_events=drained)
    assert list(backfill.tasks["status"]) == ["unfinished", "completed", "completed"]
    assert list(backfill.tasks["start"].iloc[1:]) == [21.0, 3.0] and backfill.summary["mig_reconfigs"] == 1


def test_bad_alternatives_are_one_error_and_rejections_say_why(tmp_path: Path) -> None:
    layouts = parse_layouts([FIRST], NODES)
    for alts, message in (
        ((f"{A100}=3g.40gb,2x1g.10gb,2g.20gb",), "has this layout already"),
        (("T4=1g.10gb",), "--mig-alt 'T4=1g.10gb': T4 has no MIG"),
        ((f"{A100}=8x1g.10gb",), "--mig-alt"),
    ):
        with pytest.raises(MigError, match=message):
            parse_alternatives(layouts, alts, NODES)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli\nx,0,10,1000,1024,1,1000\n"
    )
    result = run_cli("replay", "--jobs", str(jobs), "--mig-alt", ALTS[0])
    assert (
        result.returncode == 2
        and result.stderr.strip()
        == "error: --mig-alt needs --mig MODEL=LAYOUT or a node list with a mig column"
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(f"sn,cpu_milli,memory_mib,gpu,model\na,70000,700000,2,{A100}\n")
    scoped = run_cli(
        "replay", "--jobs", str(jobs), "--nodes", str(nodes), "--mig", FIRST, "--mig-scope", "node"
    )
    assert scoped.returncode == 0 and "warning: --mig-scope has no effect without --mig-alt" in scoped.stderr
    assert "rejected 1" in scoped.stdout  # its one task asks for a whole GPU: none is left whole
    huge = run_cli(
        "replay", "--jobs", str(jobs), "--nodes", str(nodes), "--mig", FIRST, "--mig-alt", f"{A100}=7x1g.10gb"
    )
    assert huge.returncode == 0, huge.stderr  # 14 instances of a 2-GPU node, per GPU: 7
    two = tmp_path / "two.csv"
    two.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
        "x,0,10,1000,1024,2,1000,mig-7g.80gb\n"
    )
    per_gpu = run_cli(
        "replay", "--jobs", str(two), "--nodes", str(nodes), "--mig", FIRST, "--mig-alt", ALTS[0]
    )
    assert (
        f"warning: 1 of 1 tasks fit no node of {nodes} even when it is empty; they are counted as rejected"
        " (1 of them ask for several MIG instances, which --mig-scope gpu gives on one GPU only:"
        " --mig-scope node lets a task take them on several GPUs of a node)"
    ) in per_gpu.stderr


def test_mig_compare_adds_the_repartitioned_mode(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
        "a,0,100,1000,1024,1,1000,\nb,10,100,1000,1024,1,300,\n"  # --mig-fit: a 7g only if a layout has one
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(f"sn,cpu_milli,memory_mib,gpu,model\na,70000,700000,1,{A100}\nt,16000,65536,1,T4\n")
    args = ["mig", "compare", "--jobs", str(jobs), "--nodes", str(nodes), "--mig", FIRST, "--json"]
    done = run_cli(*args, "--mig-alt", ALTS[0])
    assert done.returncode == 0, done.stderr
    rows = {row["mode"]: row for row in json.loads(done.stdout)["rows"]}
    assert list(rows) == ["time-slicing", "mps", "mig", "mig-dynamic"]
    assert rows["mig-dynamic"]["mig_reconfigs"] == 1 and rows["mig"]["mig_reconfigs"] is None
