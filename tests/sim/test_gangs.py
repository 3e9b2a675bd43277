"""Gang jobs: all-or-nothing placement across nodes, released and evicted together, never
starved by backfill; exact timelines on small cases and a Hypothesis invariant."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.sim import ReplayConfig, ReplayResult, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload, load_jobs, write_jobs
from schedlab.workload.gangs import expand_gangs
from tests.test_cli import run_cli

TWO_NODES = Nodes.build([("n0", 96000, 786432, 8, "V100"), ("n1", 96000, 786432, 8, "V100")])
JOBS = """id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,gang_size
x,0,100,1000,1000,8,1000,BE,1
a,1,100,1000,1000,8,1000,BE,2
b,2,50,1000,1000,1,1000,BE,
c,3,50,1000,1000,1,500,BE,1
d,5,30,1000,1000,8,1000,BE,3
"""


def jobs(tmp_path: Path, text: str = JOBS) -> TimedWorkload:
    path = tmp_path / "jobs.csv"
    path.write_text(text)
    return load_jobs(path)


def spans(result: ReplayResult) -> list[tuple[str, float, float, str]]:
    t = result.tasks
    return list(
        zip(t["name"], t["start"].fillna(-1), t["end"].fillna(-1), t["status"].astype(str), strict=True)
    )


def test_a_gang_row_is_n_tasks_and_round_trips(tmp_path: Path) -> None:
    workload = jobs(tmp_path)
    assert list(workload.tasks.name) == ["x", "a/0", "a/1", "b", "c", "d/0", "d/1", "d/2"]
    assert workload.gang is not None and list(workload.gang) == [-1, 1, 1, -1, -1, 4, 4, 4]
    again = tmp_path / "again.csv"
    write_jobs(workload, again)
    assert pd.read_csv(again)["gang_size"].tolist() == [1, 2, 1, 1, 3]
    assert list(load_jobs(again).tasks.name) == list(workload.tasks.name)


def test_a_gang_holds_backfill_and_starts_when_enough_nodes_are_free(tmp_path: Path) -> None:
    # x holds n1 until 100; gang a needs both nodes: it starts at 100 on both. Behind it b and
    # c wait (backfill may not bypass a gang at the head) and start at 200; gang d (3 nodes)
    # can never fit two nodes: rejected on arrival, all three tasks.
    expected = [
        ("x", 0.0, 100.0, "completed"),
        ("a/0", 100.0, 200.0, "completed"),
        ("a/1", 100.0, 200.0, "completed"),
        ("b", 200.0, 250.0, "completed"),
        ("c", 200.0, 250.0, "completed"),
        ("d/0", -1, -1, "rejected"),
        ("d/1", -1, -1, "rejected"),
        ("d/2", -1, -1, "rejected"),
    ]
    for admission, compiled in ((a, c) for a in ("backfill", "strict") for c in (True, False)):
        config = ReplayConfig(policy="bestfit", admission=admission, compiled=compiled)
        result = replay(jobs(tmp_path), TWO_NODES, config)
        assert spans(result) == expected, admission
        assert sorted(result.tasks["node"][1:3]) == [0, 1]
        assert result.summary["tasks"] == 8 and result.summary["rejected"] == 3
        assert result.summary["path"] == ("compiled" if compiled else "reference")


def test_evicting_one_member_evicts_the_gang(tmp_path: Path) -> None:
    # gang g (BE, 2 x 8 GPUs) runs on both nodes from 0; at 10 an LS task needs one GPU:
    # one member is the victim, so both stop (2 x 10 s x 8 GPUs lost) and restart together
    # when the LS task leaves at 15.
    text = """id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,gang_size
g,0,100,1000,1000,8,1000,BE,2
l,10,5,1000,1000,1,1000,LS,1
"""
    result = replay(jobs(tmp_path, text), TWO_NODES, ReplayConfig(policy="bestfit", preemption="ls-over-be"))
    assert spans(result) == [
        ("g/0", 15.0, 115.0, "completed"),
        ("g/1", 15.0, 115.0, "completed"),
        ("l", 10.0, 15.0, "completed"),
    ]
    assert result.tasks["preemptions"].tolist() == [1, 1, 0]
    assert result.summary["lost_gpu_s"] == 2 * 10 * 8
    starts = result.attempts.groupby("task")["start"].apply(list).to_dict()
    assert starts == {0: [0.0, 15.0], 1: [0.0, 15.0], 2: [10.0]}


SHAPES = [(1, 1000), (2, 1000), (4, 1000), (8, 1000), (1, 500), (0, 0)]


@st.composite
def gang_workloads(draw: st.DrawFn) -> TimedWorkload:
    n = draw(st.integers(1, 25))
    rows = [
        (
            draw(st.floats(0, 50, allow_nan=False)),
            draw(st.floats(1, 40, allow_nan=False)),
            *draw(st.sampled_from(SHAPES)),
            draw(st.sampled_from(["LS", "BE"])),
            draw(st.integers(1, 4)),
        )
        for _ in range(n)
    ]
    rows.sort(key=lambda r: r[0])
    tasks = Tasks.build([(2000, 4000, k, m, "") for _, _, k, m, _, _ in rows])
    tasks = replace(tasks, qos=np.array([r[4] for r in rows], dtype=object))
    users = np.full(n, "", dtype=object)
    plain = TimedWorkload(tasks, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), users, "h")
    return expand_gangs(plain, np.array([r[5] for r in rows], dtype=np.int64))


@settings(max_examples=60, deadline=None)
@given(
    workload=gang_workloads(),
    policy=st.sampled_from(["bestfit", "fgd", "random"]),
    admission=st.sampled_from(["backfill", "strict"]),
    preemption=st.sampled_from(["none", "ls-over-be"]),
)
def test_no_partial_gang_ever_runs_and_gangs_finish(
    workload: TimedWorkload, policy: str, admission: str, preemption: str
) -> None:
    nodes = Nodes.build([(f"n{i}", 16000, 65536, 4, "T4") for i in range(3)])
    config = ReplayConfig(policy=policy, admission=admission, preemption=preemption)
    result = replay(workload, nodes, config)
    tasks, attempts = result.tasks, result.attempts
    gangs = workload.gang if workload.gang is not None else np.full(len(workload), -1)
    for gang in np.unique(gangs[gangs >= 0]):
        members = np.flatnonzero(gangs == gang)
        runs = [attempts[attempts["task"] == t][["start", "end"]].to_numpy().tolist() for t in members]
        assert all(r == runs[0] for r in runs), "every member runs exactly when the others do"
        status = set(tasks["status"].iloc[members].astype(str))
        assert len(status) == 1 and status <= {"completed", "rejected"}
    assert (tasks["status"] != "unfinished").all()  # every gang that fits the cluster finishes


def test_bad_gang_sizes_are_one_clear_line(tmp_path: Path) -> None:
    for value, why in (("0", "below 1"), ("2.5", "not an integer"), ("5000", "must be at most 4096")):
        path = tmp_path / f"bad{value}.csv"
        path.write_text(JOBS.replace("a,1,100,1000,1000,8,1000,BE,2", f"a,1,100,1000,1000,8,1000,BE,{value}"))
        done = run_cli("replay", "--jobs", str(path))
        assert done.returncode == 2 and f"{path}:3: field 'gang_size': {why}" in done.stderr, done.stderr


def test_synth_emits_gangs_at_the_promised_load(tmp_path: Path) -> None:
    out = tmp_path / "gangs.csv"
    done = run_cli(
        "synth", "--tasks", "3000", "--load", "0.8", "--gangs", "0.5:2,4", "--cold-start", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(out)
    sizes = rows["gang_size"]
    assert set(sizes) == {1, 2, 4} and len(rows) == 3000
    assert abs(float(done.stdout.split("offered GPU load ")[1].split(")")[0]) - 0.8) < 0.1
    workload = load_jobs(out)
    assert len(workload) == int(sizes.sum())
    result = replay(workload, TWO_NODES.repeat(20), ReplayConfig(policy="bestfit"))
    assert result.summary["tasks"] == int(sizes.sum()) and "gang" in result.tasks.columns


def test_a_gang_with_interference_leaves_when_its_slowest_member_is_done() -> None:
    # x (a training job) runs on one node's GPU; gang g (two training tasks of 10 s) arrives at
    # 1: best-fit puts g/0 beside x (slowed by the model's pair slowdown s), g/1 alone.
    # g/1's work is done at 11, but it holds its GPU until g/0's is, at 1 + 10 s: both end then.
    from schedlab.interference import Sharing, load_profiles, make_model

    model = make_model("measured", load_profiles())
    tasks = Tasks.build([(1000, 1000, 1, 500, "")] * 3)
    workload = TimedWorkload(
        tasks,
        np.array([0.0, 1.0, 1.0]),
        np.array([1000.0, 10.0, 10.0]),
        np.full(3, "", dtype=object),
        "test",
        {},
        np.array(["bert_train/16", "resnet50_train/32", "resnet50_train/32"], dtype=object),
        gang=np.array([-1, 1, 1]),
    )
    nodes = Nodes.build([("n0", 8000, 65536, 1, "H100"), ("n1", 8000, 65536, 1, "H100")])
    slowdown = float(model.slowdowns(["bert_train/16", "resnet50_train/32"], Sharing())[1])
    for compiled in (True, False):
        config = ReplayConfig(policy="bestfit", interference="measured", compiled=compiled)
        t = replay(workload, nodes, config, interference=model).tasks
        node = t["node"].tolist()
        assert node[0] == node[1] != node[2]
        assert t["end"].tolist()[1:] == [1 + 10 * slowdown] * 2 and slowdown > 1
