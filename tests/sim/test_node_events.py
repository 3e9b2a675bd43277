"""Cluster events: failures restart running tasks elsewhere (lost work counted), drains stop
new placements, repairs and additions bring capacity; random failures are seeded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.sim.nodes import FAIL, REPAIR, load_node_events, random_failures
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.test_cli import run_cli

TWO = Nodes.build([("n0", 32000, 262144, 1, "T4"), ("n1", 32000, 262144, 1, "T4")])


def one_gpu_tasks(rows: list[tuple[float, float]]) -> TimedWorkload:
    tasks = Tasks.build([(1000, 1000, 1, 1000, "")] * len(rows))
    users = np.full(len(rows), "", dtype=object)
    return TimedWorkload(tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "t")


def run(tmp_path: Path, events: str, rows: list[tuple[float, float]]) -> ReplayResult:
    path = tmp_path / "events.csv"
    path.write_text("time,node,event\n" + events)
    return replay(
        one_gpu_tasks(rows), TWO, ReplayConfig(policy="bestfit"), node_events=load_node_events(path, TWO)
    )


def spans(result: ReplayResult) -> list[tuple[float, float, int]]:
    t = result.tasks
    return list(zip(t["start"], t["end"], t["node"], strict=True))


def test_a_failure_restarts_its_tasks_and_a_repair_brings_the_node_back(tmp_path: Path) -> None:
    # a (n1) and b (n0) start at 0; c waits. n0 fails at 10: b restarts (10 s lost) and
    # waits before c (earlier arrival); n0 is back at 50: b runs 50-80, then c 80-90.
    result = run(tmp_path, "10,n0,fail\n50,n0,repair\n", [(0, 100), (0, 30), (5, 10)])
    assert spans(result) == [(0, 100, 1), (50, 80, 0), (80, 90, 0)]
    s = result.summary
    assert (s["failure_restarts"], s["failure_lost_gpu_s"], s["capacity_min_pct"]) == (1, 10.0, 50.0)
    assert result.series["capacity_milli"].tolist() == [2000, 2000, 2000, 1000, 2000, 2000, 2000, 2000]
    assert result.attempts[result.attempts["task"] == 1]["start"].tolist() == [0.0, 50.0]


@pytest.mark.parametrize("compiled", [False, True])
def test_fragmentation_samples_count_the_nodes_in_service_only(tmp_path: Path, compiled: bool) -> None:
    # n0 fails at 10 (b's GPU freed, but n0 is no capacity until its repair at 50); n1 holds a.
    path = tmp_path / "events.csv"
    path.write_text("time,node,event\n10,n0,fail\n50,n0,repair\n")
    rows = [(0, 100), (0, 30), (5, 10)]
    config = ReplayConfig(policy="bestfit", compiled=compiled)
    result = replay(one_gpu_tasks(rows), TWO, config, node_events=load_node_events(path, TWO))
    f = result.frag_series
    down = f[(f["time"] > 10) & (f["time"] < 50)]
    assert len(down) and (down["free_milli"] == 0).all() and (down["free_compute_milli"] == 0).all()
    after = f[f["time"] > 90]  # c done at 90, a on n1 to 100: n0 free again
    assert after["free_milli"].iloc[0] == 1000 and after["free_compute_milli"].iloc[0] == 1000.0


def test_a_drained_node_finishes_its_work_and_takes_no_more(tmp_path: Path) -> None:
    # n1 drains at 1: a keeps running there until 100; c (arrives 5) waits for n0 (b, to 30).
    result = run(tmp_path, "1,n1,drain\n", [(0, 100), (0, 30), (5, 10)])
    assert spans(result) == [(0, 100, 1), (0, 30, 0), (30, 40, 0)]
    assert result.summary["failure_restarts"] == 0


def test_an_added_node_is_out_of_service_until_it_joins(tmp_path: Path) -> None:
    result = run(tmp_path, "20,n1,add\n", [(0, 100), (0, 30)])
    assert spans(result) == [(0, 100, 0), (20, 50, 1)]
    assert result.series["capacity_milli"].iloc[0] == 1000


def test_random_failures_are_seeded_and_bounded() -> None:
    one = random_failures(50, 0.0, 86400.0, mtbf_h=24, mttr_h=2, seed=3)
    assert one == random_failures(50, 0.0, 86400.0, mtbf_h=24, mttr_h=2, seed=3)
    assert one != random_failures(50, 0.0, 86400.0, mtbf_h=24, mttr_h=2, seed=4)
    fails = [e for e in one if e.kind == FAIL]
    assert 15 < len(fails) < 90 and all(e.time < 86400 for e in fails)  # about 50 x 1 day / 24 h
    assert len([e for e in one if e.kind == REPAIR]) == len(fails)


def test_mtbf_from_the_command_line_counts_restarts(tmp_path: Path) -> None:
    args = ["replay", "--target-load", "0.9", "--mtbf", "2000", "--mttr", "2", "--json"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (
        summary["node_events"] > 0 and summary["failure_restarts"] > 0 and summary["failure_lost_gpu_s"] > 0
    )
    assert summary["config"]["mtbf_h"] == 2000 and summary["path"] == "compiled"


@pytest.mark.parametrize(
    ("row", "field", "why"),
    [
        ("5,n9,fail", "node", "no node 'n9'"),
        ("5,n0,explode", "event", "unknown event 'explode'"),
        ("-1,n0,fail", "time", ""),
    ],
)
def test_bad_event_files_are_one_clear_line(tmp_path: Path, row: str, field: str, why: str) -> None:
    events = tmp_path / "events.csv"
    events.write_text(f"time,node,event\n{row}\n")
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,1,T4\n")
    done = run_cli("replay", "--nodes", str(nodes), "--node-events", str(events))
    assert done.returncode == 2 and f"{events}:2: field '{field}': {why}" in done.stderr, done.stderr


MIG_NODES = Nodes.build(
    [("m0", 64000, 524288, 1, "A100-SXM4-80GB"), ("m1", 64000, 524288, 1, "A100-SXM4-80GB")]
)
LAYOUT = ("A100-SXM4-80GB=3g.40gb,4x1g.10gb",)  # per node: <node>/3g.40gb, <node>/1g.10gb


def mig_tasks(rows: list[tuple[float, float, str]]) -> TimedWorkload:
    tasks = Tasks.build([(1000, 1024, 1, 1000, spec) for _, _, spec in rows])
    users = np.full(len(rows), "", dtype=object)
    return TimedWorkload(tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "t")


def test_a_node_partitioned_by_mig_fails_and_comes_back_whole(tmp_path: Path) -> None:
    from schedlab import jit
    from tests.sim.test_compiled import same

    path = tmp_path / "events.csv"
    path.write_text("time,node,event\n10,m1,fail\n50,m1,repair\n")
    rows = [(0.0, 100.0, "mig-3g.40gb"), (0.0, 100.0, "mig-3g.40gb"), (0.0, 100.0, "mig-1g.10gb")]
    config = ReplayConfig(policy="bestfit", mig=LAYOUT, compiled=False)
    events = load_node_events(path, MIG_NODES)
    result = replay(mig_tasks(rows), MIG_NODES, config, node_events=events)
    # m1 is the replayed nodes m1/3g.40gb (2) and m1/1g.10gb (3): both fail at 10 s
    assert result.summary["node_events"] == 2
    assert result.series["capacity_milli"].min() == 5000  # m0's five instances of ten
    a = result.attempts
    on_m1 = a[a["node"].isin([2, 3])]
    assert ((on_m1["start"] >= 50) | (on_m1["end"] <= 10)).all()  # nothing runs there meanwhile
    moved = a[(a["node"] == 2) & (a["start"] == 50)]
    assert len(moved) == 1 and result.summary["failure_restarts"] >= 1  # the 3g task there restarted
    if jit.enabled():
        compiled = replay(mig_tasks(rows), MIG_NODES, replace(config, compiled=True), node_events=events)
        assert compiled.summary["path"] == "compiled"
        same(compiled, result)


def test_random_failures_are_drawn_per_node_of_the_node_list_under_mig() -> None:
    rows = [(float(t), 50.0, "mig-1g.10gb") for t in range(0, 20000, 100)]
    config = ReplayConfig(policy="bestfit", mig=LAYOUT, mtbf_h=1.0, mttr_h=0.5, seed=3)
    result = replay(mig_tasks(rows), MIG_NODES, config)
    drawn = random_failures(2, 0.0, 19900.0, 1.0, 0.5, 3)
    assert result.summary["node_events"] == len(drawn) > 0
