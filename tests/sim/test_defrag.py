"""Defragmentation: a descheduling step moves running tasks off one node so that the head
of the queue fits; the moved task keeps its work and pays the restart cost; the budget holds.
Worked by hand, on both paths (their equality on random workloads is in
``test_compiled_features``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError
from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.test_cli import run_cli

#: (arrival, duration, GPU milli) of one-GPU tasks: on each pair of one-GPU nodes, two long
#: half-GPU tasks and two short ones; at 6 s a whole-GPU task arrives for each pair.
PAIR = [(0.0, 100.0, 500), (0.0, 5.0, 500), (0.0, 100.0, 500), (0.0, 5.0, 500)]


def workload(pairs: int) -> TimedWorkload:
    rows = PAIR * pairs + [(6.0, 10.0, 1000)] * pairs
    rows.sort(key=lambda r: r[0])
    tasks = Tasks.build([(1000, 1000, 1, milli, "") for _, _, milli in rows])
    users = np.full(len(rows), "u", dtype=object)
    return TimedWorkload(
        tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "pairs"
    )


def nodes(count: int) -> Nodes:
    return Nodes.build([(f"n{i}", 64000, 131072, 1, "T4") for i in range(count)])


def run(pairs: int, compiled: bool, **defrag: object) -> ReplayResult:
    config = ReplayConfig(policy="bestfit", compiled=compiled, **defrag)  # type: ignore[arg-type]
    return replay(workload(pairs), nodes(2 * pairs), config)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("policy", ["least-moved", "fgd"])
def test_a_move_lets_the_waiting_task_start_at_the_next_step(compiled: bool, policy: str) -> None:
    # The short tasks leave at 5 s: each node keeps one long half-GPU task, so the whole-GPU
    # task arriving at 6 s fits nowhere. Without defragmentation it waits for one of them
    # (100 s). With steps every 5 s, the step at 10 s moves one long task beside the other
    # (it ran 10 s of its 100: 90 left + 2 s of restart, to 102 s) and the waiting task runs
    # 10-20 s on the node it left.
    plain = run(1, compiled)
    assert plain.tasks["start"].iloc[4] == 100.0 and "defrag_moves" not in plain.summary
    result = run(1, compiled, defrag=policy, defrag_every=5.0, defrag_cost=2.0)
    t = result.tasks
    assert (t["start"].iloc[4], t["end"].iloc[4], t["wait"].iloc[4]) == (10.0, 20.0, 4.0)
    moved = result.attempts[result.attempts["attempt"] == 1]
    assert len(moved) == 1
    row = moved.iloc[0]
    assert (row["start"], row["end"]) == (10.0, 102.0)
    first = result.attempts[(result.attempts["task"] == row["task"]) & (result.attempts["attempt"] == 0)]
    assert (first["start"].iloc[0], first["end"].iloc[0]) == (0.0, 10.0)
    assert first["node"].iloc[0] != row["node"] == t["node"].iloc[int(row["task"])]
    assert t["node"].iloc[4] == first["node"].iloc[0]  # the node it left
    assert t["run_time"].iloc[int(row["task"])] == 102.0  # 10 + 92: the restart counts as run time
    assert (result.summary["defrag_moves"], result.summary["defrag_lost_gpu_s"]) == (
        1,
        1.0,
    )  # 2 s x half a GPU


@pytest.mark.parametrize("compiled", [False, True])
def test_moves_and_the_starvation_guard_go_together(compiled: bool) -> None:
    # The waiting task starves from 9 s (--reserve-after 3) and holds a reservation for the
    # node it could start on the earliest; the step at 10 s still frees a node for it, and
    # the moved task (ending at 102 s, after the reservation's 100 s) goes to the other.
    result = run(1, compiled, defrag="least-moved", defrag_every=5.0, defrag_cost=2.0, reserve_after=3.0)
    t = result.tasks
    assert (t["start"].iloc[4], t["end"].iloc[4]) == (10.0, 20.0) and result.summary["defrag_moves"] == 1
    moved = result.attempts[result.attempts["attempt"] == 1]
    assert list(moved["end"]) == [102.0] and int(moved["node"].iloc[0]) != int(t["node"].iloc[4])


@pytest.mark.parametrize("compiled", [False, True])
def test_the_budget_caps_moves_in_any_hour(compiled: bool) -> None:
    # Two pairs, two waiting tasks: a budget of 2 moves an hour helps both at 10 s; a budget
    # of 1 helps one, and the other waits until the first ends on the node freed for it at
    # 20 s (the next move would be allowed at 3610 s).
    both = run(2, compiled, defrag="least-moved", defrag_every=5.0, defrag_moves=2)
    assert both.summary["defrag_moves"] == 2
    assert sorted(both.tasks["start"].iloc[-2:]) == [10.0, 10.0]
    one = run(2, compiled, defrag="least-moved", defrag_every=5.0, defrag_moves=1)
    assert one.summary["defrag_moves"] == 1
    assert sorted(one.tasks["start"].iloc[-2:]) == [10.0, 20.0]


@pytest.mark.parametrize("compiled", [False, True])
def test_nothing_moves_when_the_moved_task_would_fit_nowhere_else(compiled: bool) -> None:
    # One pair on one node of one GPU each is no pair: with a single node nothing can move.
    rows = [(0.0, 100.0, 500), (0.0, 5.0, 500), (6.0, 10.0, 1000)]
    tasks = Tasks.build([(1000, 1000, 1, milli, "") for _, _, milli in rows])
    users = np.full(3, "u", dtype=object)
    w = TimedWorkload(tasks, np.array([0.0, 0.0, 6.0]), np.array([100.0, 5.0, 10.0]), users, "one")
    config = ReplayConfig(policy="bestfit", compiled=compiled, defrag="fgd", defrag_every=5.0)
    result = replay(w, nodes(1), config)
    assert result.summary["defrag_moves"] == 0
    assert result.tasks["start"].iloc[2] == 100.0


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("policy", ["least-moved", "fgd"])
def test_a_node_is_freed_by_several_moves_within_the_budget(compiled: bool, policy: str) -> None:
    # Two nodes of two GPUs. n1: two long half-GPU tasks (A, B) on its two GPUs once the
    # short ones beside them leave at 5 s; n0: a long whole-GPU task C, one GPU free. A
    # two-GPU task arriving at 6 s fits nowhere: no single move frees n1, and C fits nowhere
    # else. The step at 10 s moves A and B (in index order: same GPU milli) onto n0's free
    # GPU and the two-GPU task runs 10-20 s on n1; each move costs 2 s x half a GPU. With a
    # budget of one move an hour the set is out of reach: it waits for A and B (100 s).
    rows = [(0.0, 100.0, 1, 500), (0.0, 5.0, 1, 500), (0.0, 100.0, 1, 500), (0.0, 5.0, 1, 500)]
    rows += [(0.0, 200.0, 1, 1000), (6.0, 10.0, 2, 1000)]
    tasks = Tasks.build([(1000, 1000, k, milli, "") for _, _, k, milli in rows])
    users = np.full(len(rows), "u", dtype=object)
    w = TimedWorkload(tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "set")
    two = Nodes.build([(f"n{i}", 64000, 131072, 2, "T4") for i in range(2)])

    def go(**defrag: object) -> ReplayResult:
        config = ReplayConfig(policy="bestfit", compiled=compiled, **defrag)  # type: ignore[arg-type]
        return replay(w, two, config)

    plain = go()
    assert plain.tasks["start"].iloc[5] == 100.0 and list(plain.tasks["node"].iloc[[0, 2, 4]]) == [1, 1, 0]
    result = go(defrag=policy, defrag_every=5.0, defrag_cost=2.0)
    t = result.tasks
    assert list(t["start"].iloc[[0, 2, 5]]) == [10.0, 10.0, 10.0] and t["end"].iloc[5] == 20.0
    assert list(t["end"].iloc[[0, 2]]) == [102.0, 102.0] and list(t["node"].iloc[[0, 2, 5]]) == [0, 0, 1]
    assert (result.summary["defrag_moves"], result.summary["defrag_lost_gpu_s"]) == (2, 2.0)
    held = go(defrag=policy, defrag_every=5.0, defrag_cost=2.0, defrag_moves=1)
    assert held.summary["defrag_moves"] == 0 and held.tasks["start"].iloc[5] == 100.0


@pytest.mark.parametrize("compiled", [False, True])
def test_a_gang_gets_as_many_nodes_freed_as_it_lacks(compiled: bool) -> None:
    # Four one-GPU nodes, each left with one long half-GPU task at 5 s; a gang of two
    # whole-GPU tasks arrives at 6 s: it lacks room for both. The step at 10 s frees two
    # nodes (the first in the policy's tie order; half a GPU moved from each), moving their
    # tasks beside the other two (not onto a node of the plan), and the gang runs 10-20 s on
    # the nodes freed. A budget of one move an hour
    # cannot free both: the gang waits for the long tasks (100 s).
    base = workload(2)  # PAIR twice: four long and four short half-GPU tasks at 0 s
    keep = np.flatnonzero(base.arrival == 0.0)
    rows = [(float(base.arrival[i]), float(base.duration[i]), 1, 500) for i in keep]
    rows += [(6.0, 10.0, 1, 1000)] * 2
    tasks = Tasks.build([(1000, 1000, k, milli, "") for _, _, k, milli in rows])
    users = np.full(len(rows), "u", dtype=object)
    gang = np.array([-1] * len(keep) + [0, 0])
    w = TimedWorkload(
        tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "gang", gang=gang
    )

    def go(**defrag: object) -> ReplayResult:
        config = ReplayConfig(policy="bestfit", compiled=compiled, **defrag)  # type: ignore[arg-type]
        return replay(w, nodes(4), config)

    assert list(go().tasks["start"].iloc[-2:]) == [100.0, 100.0]
    result = go(defrag="least-moved", defrag_every=5.0, defrag_cost=2.0)
    t = result.tasks
    assert list(t["start"].iloc[-2:]) == [10.0, 10.0]
    a = result.attempts
    moved = a[a["attempt"] == 1]
    left = a[(a["attempt"] == 0) & a["task"].isin(moved["task"])]
    stayed = a[(a["end"] == 100.0)]  # the two long tasks not moved
    assert len(moved) == 2 and list(moved["end"]) == [102.0, 102.0]
    assert sorted(left["node"]) == sorted(t["node"].iloc[-2:])  # the gang runs where they were
    assert sorted(moved["node"]) == sorted(stayed["node"])  # beside the others, off the plan's nodes
    assert (result.summary["defrag_moves"], result.summary["defrag_lost_gpu_s"]) == (2, 2.0)
    held = go(defrag="least-moved", defrag_every=5.0, defrag_cost=2.0, defrag_moves=1)
    assert held.summary["defrag_moves"] == 0 and list(held.tasks["start"].iloc[-2:]) == [100.0, 100.0]


@pytest.mark.parametrize("compiled", [False, True])
def test_a_gang_moves_whole(compiled: bool) -> None:
    # Three one-GPU nodes. A gang G of two 300-milli tasks sits on n0 and n1 (beside short
    # 700-milli tasks, gone at 5 s), a long 700-milli task P on n2; a whole-GPU task H
    # arrives at 6 s and fits nowhere. Moving G (600 milli, two moves) frees n0 and is
    # cheaper than moving P (700 milli): the step at 10 s places G's members off n0 (on n2
    # and n1), both keep their 10 s of work and end together at 102 s, H runs 10-20 s on n0.
    # With one move an hour G cannot move: P moves instead (to n0) and H runs on n2, as it
    # does without --defrag-gangs.
    rows = [(0.0, 5.0, 700), (0.0, 100.0, 300), (0.0, 100.0, 300), (0.0, 5.0, 700)]
    rows += [(0.0, 100.0, 700), (6.0, 10.0, 1000)]
    tasks = Tasks.build([(1000, 1000, 1, milli, "") for _, _, milli in rows])
    users = np.full(len(rows), "u", dtype=object)
    gang = np.array([-1, 0, 0, -1, -1, -1])
    w = TimedWorkload(
        tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "g", gang=gang
    )

    def go(**defrag: object) -> ReplayResult:
        config = ReplayConfig(policy="bestfit", compiled=compiled, **defrag)  # type: ignore[arg-type]
        return replay(w, nodes(3), config)

    plain = go()
    assert list(plain.tasks["node"]) == [0, 0, 1, 1, 2, 0] and plain.tasks["start"].iloc[5] == 100.0
    kept = go(defrag="least-moved", defrag_every=5.0, defrag_cost=2.0)  # gangs stay by default
    assert list(kept.attempts[kept.attempts["attempt"] == 1]["task"]) == [4]
    result = go(defrag="least-moved", defrag_every=5.0, defrag_cost=2.0, defrag_gangs=True)
    t, a = result.tasks, result.attempts
    assert (t["start"].iloc[5], t["end"].iloc[5], t["node"].iloc[5]) == (10.0, 20.0, 0)
    moved = a[a["attempt"] == 1].sort_values("task")
    assert list(moved["task"]) == [1, 2] and list(moved["node"]) == [2, 1]
    assert list(moved["start"]) == [10.0, 10.0] and list(moved["end"]) == [102.0, 102.0]
    assert result.summary["defrag_moves"] == 2
    assert result.summary["defrag_lost_gpu_s"] == pytest.approx(1.2)  # 2 s x 2 x 0.3 GPU
    one = go(defrag="least-moved", defrag_every=5.0, defrag_cost=2.0, defrag_moves=1, defrag_gangs=True)
    moved = one.attempts[one.attempts["attempt"] == 1]
    assert list(moved["task"]) == [4] and list(moved["node"]) == [0]
    assert (one.tasks["start"].iloc[5], one.tasks["node"].iloc[5]) == (10.0, 2)


def test_defragmentation_refuses_what_it_cannot_model() -> None:
    with pytest.raises(ConfigError, match="unknown defragmentation policy 'nope'"):
        run(1, False, defrag="nope")
    with pytest.raises(ConfigError, match="--defrag-moves must be at least 1"):
        run(1, False, defrag="fgd", defrag_moves=0)
    with pytest.raises(ConfigError, match="--defrag needs fixed run times"):
        run(1, False, defrag="fgd", interference="measured")


def test_the_cli_reports_moves_and_refuses_bad_flags(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    w = workload(1)
    lines = ["id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli"]
    for i in range(len(w)):
        lines.append(f"t{i},{w.arrival[i]},{w.duration[i]},1000,1000,1,{w.tasks.gpu_milli[i]}")
    jobs.write_text("\n".join(lines) + "\n")
    node_file = tmp_path / "nodes.csv"
    node_file.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,131072,1,T4\nn1,64000,131072,1,T4\n")
    base = ["replay", "--jobs", str(jobs), "--nodes", str(node_file), "--policy", "bestfit"]
    done = run_cli(*base, "--defrag", "least-moved", "--defrag-every", "5", "--defrag-cost", "2")
    assert done.returncode == 0, done.stderr
    assert (
        "defragmentation (least-moved): 1 tasks moved (1 GPU-s lost to checkpoints and restarts)"
        in done.stdout
    )
    summary = json.loads(run_cli(*base, "--defrag", "fgd", "--defrag-every", "5", "--json").stdout)
    assert summary["defrag_moves"] == 1 and summary["config"]["defrag"] == "fgd"
    for flags, message in (
        (["--defrag", "nope"], "error: unknown defragmentation policy 'nope' (known: least-moved, fgd)"),
        (["--defrag-every", "0"], "--defrag-every"),
        (["--defrag", "fgd", "--interference"], "error: --defrag needs fixed run times"),
    ):
        bad = run_cli(*base, *flags)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("compiled", [False, True])
def test_a_fragmentation_threshold_holds_moves_back(compiled: bool) -> None:
    # At the step (10 s) each node has half a GPU free; FGD's measure over the workload's
    # tasks (four of half a GPU, one whole) counts a fifth of it unusable. A threshold of
    # 1 % lets the step move; one above the most the run ever counts holds it back.
    moved = run(1, compiled, defrag="least-moved", defrag_every=5.0, defrag_above=1.0)
    assert moved.summary["defrag_moves"] == 1
    samples = moved.frag_series
    most = 100 * float((samples["frag_milli"] / samples["free_milli"]).max())
    assert 1.0 < most < 99.0
    held = run(1, compiled, defrag="least-moved", defrag_every=5.0, defrag_above=most + 1)
    assert held.summary["defrag_moves"] == 0 and held.tasks["start"].iloc[4] == 100.0
