"""The command line: outputs, files and error handling as a user sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from schedlab.cli import cli

PODS = """name,cpu_milli,memory_mib,num_gpu,gpu_milli
a,4000,8000,1,500
b,8000,16000,1,1000
c,2000,4000,0,0
d,4000,8000,2,1000
e,4000,8000,1,250
"""
NODES = """sn,cpu_milli,memory_mib,gpu,model
n0,32000,65536,4,T4
n1,32000,65536,2,V100
"""


def files(tmp_path: Path) -> tuple[Path, Path]:
    pods, nodes = tmp_path / "pods.csv", tmp_path / "nodes.csv"
    pods.write_text(PODS)
    nodes.write_text(NODES)
    return pods, nodes


def test_fill_json_document(tmp_path: Path) -> None:
    pods, nodes = files(tmp_path)
    args = [
        "fill",
        "--pods",
        str(pods),
        "--nodes",
        str(nodes),
        "--policy",
        "fgd,bestfit",
        "--seeds",
        "1-2",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    runs = doc["runs"]
    assert [(r["policy"], r["seed"]) for r in runs] == [
        ("fgd", 1),
        ("fgd", 2),
        ("bestfit", 1),
        ("bestfit", 2),
    ]
    for run in runs:
        assert set(run) == {
            "policy",
            "seed",
            "tasks",
            "placed",
            "failed",
            "wall_s",
            "alloc_pct",
            "frag_amount_pct",
            "frag_ratio_pct",
        }
        assert run["placed"] + run["failed"] == run["tasks"]
        assert len(run["alloc_pct"]) == 131


def test_fill_table_and_out_dir(tmp_path: Path) -> None:
    pods, nodes = files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fill", "--pods", str(pods), "--nodes", str(nodes), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for policy in ("random", "dotprod", "clustering", "packing", "bestfit", "fgd"):
        assert policy in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["policies"] == ["random", "dotprod", "clustering", "packing", "bestfit", "fgd"]
    assert summary["config"]["seeds"] == [42] and summary["config"]["tune_ratio"] == 1.3
    assert summary["runs"][0]["config"]["pods"] == str(pods)
    records = pd.read_parquet(out / "records.parquet")
    assert set(records["policy"]) == {"random", "dotprod", "clustering", "packing", "bestfit", "fgd"}
    assert (out / "curves.png").stat().st_size > 10_000


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schedlab", *args], capture_output=True, text=True, timeout=120
    )


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    pods, nodes = files(tmp_path)
    pods.write_text(PODS.replace("e,4000,8000,1,250", "e,4000,8000,1,2500"))
    result = run_cli("fill", "--pods", str(pods), "--nodes", str(nodes))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {pods}:6: field 'gpu_milli': must be at most 1000: 2500"
    assert "Traceback" not in result.stderr


def test_bad_options(tmp_path: Path) -> None:
    result = run_cli("fill", "--policy", "fgd,worstfit")
    assert result.returncode == 2 and "unknown placement policy 'worstfit'" in result.stderr
    result = run_cli("fill", "--seeds", "5-2")
    assert result.returncode == 2 and "end is before start" in result.stderr
    result = run_cli("fill", "--tune-ratio", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run_cli("fill", "--pods", str(tmp_path / "missing.csv"))
    assert result.returncode == 2 and "missing.csv:0: file not found" in result.stderr


def test_replay_json_and_out_dir(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    synth = CliRunner().invoke(
        cli, ["synth", "--tasks", "3000", "--load", "1.5", "--durations", "exp:3600", "--out", str(jobs)]
    )
    assert synth.exit_code == 0, synth.output
    assert "wrote 3000 tasks" in synth.stdout
    out = tmp_path / "replay"
    args = [
        "replay",
        "--jobs",
        str(jobs),
        "--policy",
        "bestfit",
        "--queue",
        "qos",
        "--preempt",
        "--json",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in (
        "tasks",
        "completed",
        "jct_mean",
        "jct_p99",
        "wait_mean",
        "wait_p99",
        "preemptions",
        "wall_s",
    ):
        assert key in doc
    assert doc["tasks"] == doc["completed"] == 3000
    for name in ("tasks.parquet", "attempts.parquet", "series.parquet", "summary.json", "timeline.png"):
        assert (out / name).is_file()
    assert json.loads((out / "summary.json").read_text())["config"]["queue"] == "qos"


def test_replay_default_trace_table() -> None:
    result = CliRunner().invoke(cli, ["replay", "--policy", "bestfit"])
    assert result.exit_code == 0, result.output
    assert "7255 of 7255 tasks completed" in result.stdout and "897 never ran" in result.stdout


def test_replay_bad_options(tmp_path: Path) -> None:
    assert "unknown queue policy 'lifo'" in run_cli("replay", "--queue", "lifo").stderr
    assert "unknown victim policy" in run_cli("replay", "--preempt", "--victim", "oldest").stderr
    result = run_cli("replay", "--pods", str(Path(__file__).parent / "nope.csv"))
    assert result.returncode == 2 and "file not found" in result.stderr


def test_without_compiled_kernels_the_reference_path_runs_after_one_notice(tmp_path: Path) -> None:
    _, nodes = files(tmp_path)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
        "a,0,10,1000,1000,1,500\nb,1,5,1000,1000,2,1000\nc,2,3,4000,1000,0,0\n"
    )
    env = os.environ | {"SCHEDLAB_JIT": "0"}
    args = ["replay", "--jobs", str(jobs), "--nodes", str(nodes), "--json", "--compiled"]
    plain = subprocess.run([sys.executable, "-m", "schedlab", *args], capture_output=True, text=True, env=env)
    assert plain.returncode == 0, plain.stderr
    notices = [line for line in plain.stderr.splitlines() if "compiled kernels are off" in line]
    assert len(notices) == 1 and notices[0].startswith("warning: ")
    assert json.loads(plain.stdout)["path"] == "reference"


def test_help_answers_without_loading_the_heavy_libraries() -> None:
    heavy = "('numpy', 'pandas', 'numba', 'matplotlib', 'rich')"
    code = f"import sys; from schedlab.cli import cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"
    assert run_cli("--help").returncode == 0


def test_replay_help_names_every_placement_policy() -> None:
    import schedlab.policies  # noqa: F401  (registers the built-in policies)
    from schedlab.policies.base import PLACEMENT_POLICIES

    built_in = [
        n for n in PLACEMENT_POLICIES.names() if PLACEMENT_POLICIES.get(n).__module__.startswith("schedlab.")
    ]
    text = " ".join(CliRunner().invoke(cli, ["replay", "--help"]).output.split())
    listed = text.split("--policy TEXT", 1)[1].split("[default", 1)[0]
    assert len(built_in) >= 7 and [name for name in built_in if name not in listed] == []
