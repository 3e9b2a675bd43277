"""MIG layouts in the node list (its ``mig`` column): per node and per GPU, the same as
``--mig`` where they agree, re-partitioned from at run time with ``--mig-alt`` (equal on
both paths), and a bad cell is one error naming its line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.cluster.partition import parse_layouts, partition
from schedlab.formats import read_nodes
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Tasks
from schedlab.workload import TimedWorkload
from tests.test_cli import run_cli

HEADER = "sn,cpu_milli,memory_mib,gpu,model,mig\n"
LAYOUT = "3g.40gb,2g.20gb,2x1g.10gb"


def node_list(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "nodes.csv"
    path.write_text(HEADER + rows)
    return path


def columns(nodes: object) -> list[list[object]]:
    return [list(getattr(nodes, c)) for c in ("name", "cpu_milli", "memory_mib", "num_gpu", "model")]


def test_a_layout_in_the_column_is_the_layout_given_by_mig(tmp_path: Path) -> None:
    by_column = read_nodes(
        node_list(tmp_path, f'a,70000,700000,1,A100-80GB,"{LAYOUT}"\nt,16000,65536,2,T4,\n')
    )
    plain = read_nodes(node_list(tmp_path, "a,70000,700000,1,A100-80GB,\nt,16000,65536,2,T4,\n"))
    expected = partition(plain, parse_layouts([f"A100-80GB={LAYOUT}"], plain))
    found = partition(by_column, {})
    assert columns(found.nodes) == columns(expected.nodes)
    assert found.share == expected.share and list(found.origin) == list(expected.origin)


def test_each_gpu_may_have_its_own_layout_and_the_column_wins_over_mig(tmp_path: Path) -> None:
    path = node_list(
        tmp_path, 'b,140000,1400000,2,A100-80GB,"7g.80gb;3g.40gb+4x1g.10gb"\nc,70000,700000,1,A100-80GB,\n'
    )
    nodes = read_nodes(path)
    part = partition(nodes, parse_layouts(["A100-80GB=7x1g.10gb"], nodes))
    assert list(part.nodes.name) == ["b/7g.80gb", "b/3g.40gb", "b/1g.10gb", "c/1g.10gb"]
    assert list(part.nodes.num_gpu) == [1, 1, 4, 7]
    # compute slices 7 : 3 : 4 x 1 of b's CPU and memory; c takes --mig's layout
    assert list(part.nodes.cpu_milli) == [70000, 30000, 40000, 70000]
    assert list(part.nodes.memory_mib) == [700000, 300000, 400000, 700000]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x,16000,65536,2,T4,1g.10gb", "GPU model T4, which has no MIG"),
        ("x,16000,65536,0,,1g.10gb", "on a node with no GPU"),
        ("x,70000,700000,2,A100-80GB,7g.80gb;7g.80gb;7g.80gb", "3 layouts joined by ';' for 2 GPUs"),
        ("x,70000,700000,1,A100-80GB,4x2g.20gb", "does not fit one A100-80GB"),
        ("x,70000,700000,1,A100-80GB,3g.40gb+5g.50gb", "MIG profile '5g.50gb' does not exist"),
    ],
)
def test_a_bad_cell_is_one_error_naming_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = node_list(tmp_path, f"a,70000,700000,1,A100-80GB,\n{row}\n")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli\nj,0,10,1000,1024,1,1000\n"
    )
    done = run_cli("replay", "--jobs", str(jobs), "--nodes", str(path), "--json")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {path}:3: field 'mig': node x: ") and message in lines[0]


def test_column_layouts_re_partitioned_at_run_time_are_equal_on_both_paths(tmp_path: Path) -> None:
    path = node_list(
        tmp_path,
        'a,140000,1400000,2,A100-80GB,"7g.80gb;3g.40gb,4x1g.10gb"\n'
        "b,70000,700000,1,A100-80GB,7x1g.10gb\nt,16000,65536,1,T4,\n",
    )
    nodes = read_nodes(path)
    specs = ["mig-7g.80gb", "mig-1g.10gb", "mig-3g.40gb", "mig-1g.10gb", "", "mig-7g.80gb", "mig-3g.40gb"]
    rng = np.random.default_rng(5)
    n = 60
    tasks = Tasks.build([(1000, 1024, 1, 1000, specs[i % len(specs)]) for i in range(n)])
    arrival = np.sort(rng.uniform(0, 2000, n))
    w = TimedWorkload(tasks, arrival, rng.uniform(50, 400, n), np.full(n, "u", dtype=object), "column")
    alts = ("A100-80GB=7g.80gb", "A100-80GB=3g.40gb,4x1g.10gb")
    results = [
        replay(w, nodes, ReplayConfig(policy="bestfit", mig_alt=alts, mig_reconfig=30.0, compiled=c))
        for c in (False, True)
    ]
    assert [r.summary["path"] for r in results] == ["reference", "compiled"]
    pd.testing.assert_frame_equal(results[0].tasks, results[1].tasks)
    pd.testing.assert_frame_equal(results[0].attempts, results[1].attempts)
    assert results[0].summary["mig_reconfigs"] == results[1].summary["mig_reconfigs"] > 0
    assert results[0].summary["mig"]["node_list_layouts"] == 2
    assert (results[0].tasks["status"] == "completed").all()


def test_mig_compare_takes_the_column_and_replays_the_other_modes_on_whole_gpus(tmp_path: Path) -> None:
    import json

    jobs = tmp_path / "jobs.csv"
    rows = "".join(f"j{i},0,10,1000,1024,1,1000\n" for i in range(2))
    jobs.write_text("id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli\n" + rows)
    path = node_list(tmp_path, "a,70000,700000,1,A100-80GB,7x1g.10gb\n")
    done = run_cli("mig", "compare", "--jobs", str(jobs), "--nodes", str(path), "--json")
    assert done.returncode == 0, done.stderr
    found = {row["mode"]: row for row in json.loads(done.stdout)["rows"]}
    # time-sliced: the whole GPU, one task after the other; partitioned: no 7g instance and
    # no whole GPU left for whole-GPU tasks
    assert (found["time-slicing"]["completed"], found["time-slicing"]["wait_mean"]) == (2, 5.0)
    assert found["mig"]["rejected"] == 2
    plain = node_list(tmp_path, "a,70000,700000,1,A100-80GB,\n")
    bad = run_cli("mig", "compare", "--jobs", str(jobs), "--nodes", str(plain))
    message = "error: mig compare needs --mig MODEL=LAYOUT or a node list with a mig column"
    assert bad.returncode == 2 and bad.stderr.strip() == message


def test_commands_that_count_whole_gpus_say_they_ignore_the_column(tmp_path: Path) -> None:
    path = node_list(tmp_path, "a,70000,700000,1,A100-80GB,7x1g.10gb\nt,16000,65536,2,T4,\n")
    done = run_cli("synth", "--nodes", str(path), "--tasks", "20", "--out", str(tmp_path / "j.csv"))
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert warned == [
        f"warning: {path}: synth does not model MIG: the node list's mig column is ignored, every GPU"
        " counts whole (`schedlab replay` and `schedlab mig compare` partition them)"
    ]
