"""Warnings that name their cause, loads on every resource, tables that keep their numbers,
provenance, and the rough edges of issue 23: each one clear line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.trust.test_bad_inputs import NODE, J, N, run, write

NODES = N + NODE + "n1,64000,262144,8,V100\n"


def jobs(tmp_path: Path, rows: list[str], header: str = J) -> str:
    return write(tmp_path, "jobs.csv", header + "".join(rows))


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_cpu_bound_workload_warns_with_every_resource_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 40 tasks of 60 cores each, one every 10 s for 1,000 s: 240 x the 128 cores, 1/50 of the GPUs
    rows = [f"j{i},{10 * i},1000,60000,1000,1,100,,BE,u\n" for i in range(40)]
    path, nodes = jobs(tmp_path, rows), write(tmp_path, "nodes.csv", NODES)
    code, out, err = run(capsys, "replay", "--jobs", path, "--nodes", nodes, "--json")
    summary = json.loads(out)
    loads = summary["offered_loads"]
    assert code == 0 and loads["cpu"] == pytest.approx(60_000 * 1000 * 40 / 390 / 128_000)
    assert loads["gpu"] == pytest.approx(100 * 1000 * 40 / 390 / 10_000)
    said = warnings(err)
    assert any("CPU capacity" in line and "CPU, not GPUs, bounds it" in line for line in said)
    assert any("asks more CPU than the cluster has" in line for line in said)
    assert not any("--target-load" in line or "--warm-start" in line for line in said)
    code, out, err = run(capsys, "trace", "inspect", path, "--nodes", nodes)
    assert code == 0 and "offered loads: gpu" in out and any("CPU capacity" in w for w in warnings(err))


def test_lost_capacity_is_the_cause_not_a_light_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"j{i},{10 * i},5000,1000,1000,1,1000,,BE,u\n" for i in range(200)]
    path, nodes = jobs(tmp_path, rows), write(tmp_path, "nodes.csv", NODES)
    code, out, err = run(
        capsys, "replay", "--jobs", path, "--nodes", nodes, "--mtbf", "0.01", "--mttr", "1000"
    )
    said = warnings(err)
    assert code == 0 and any("node failures took the GPU capacity" in line for line in said), said
    assert not any("compress" in line or "--warm-start" in line for line in said)
    assert "node events" in out and "tasks restarted" in out  # the text report shows failures
    assert "offered load: GPU" in out and "CPU" in out


def test_a_gang_that_never_fits_is_named_not_the_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = J.strip() + ",gang_size\n"
    rows = ["g,0,100,1000,1000,1,1000,,BE,u,4096\n", "j,5,100,1000,1000,1,1000,,BE,u,1\n"]
    path, nodes = jobs(tmp_path, rows, header), write(tmp_path, "nodes.csv", NODES)
    code, _, err = run(capsys, "replay", "--jobs", path, "--nodes", nodes)
    said = warnings(err)
    assert code == 0 and any("fit no node even when it is empty" in line for line in said), said
    assert not any("--target-load" in line for line in said)


def test_a_warm_run_is_not_told_to_start_warm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "replay", "--target-load", "0.9", "--json")
    assert code == 0 and json.loads(out)["warmup_tasks"] > 0
    assert not any("--warm-start" in line for line in warnings(err))
    config = json.loads(out)["config"]
    assert config["target_load"] == 0.9 and config["time_scale"] is None and config["warm_start"] is True


def test_tables_off_a_terminal_keep_every_digit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "--time-scale", "0.001")
    assert code == 0 and "…" not in out and "JCT p99" in out


def test_header_files_plugins_that_exit_and_foreign_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = write(tmp_path, "pai_job_table.header", "job_name,inst_id,user,status,start_time,end_time\n")
    code, _, err = run(capsys, "trace", "inspect", header)
    assert code == 2 and err.count("\n") == 1 and "a header file (6 column names)" in err
    plugin = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    code, _, err = run(capsys, "--plugin", plugin, "replay", "--json")
    assert code == 2 and "called sys.exit(3)" in err and err.count("\n") == 1
    folder = tmp_path / "fill-out"
    folder.mkdir()
    (folder / "summary.json").write_text("{}")
    code, out, err = run(capsys, "sweep", "--out", str(folder), "--policy", "fgd")
    assert code == 2 and out == "" and "not a sweep results store" in err


def test_ray_missing_is_said_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else find(name, *a)
    )
    code, out, err = run(capsys, "sweep", "--out", str(tmp_path / "s"), "--policy", "fgd", "--ray")
    assert (
        code == 2
        and out == ""
        and err.strip().splitlines() == ["error: the Ray backend needs Ray: pip install 'schedlab[ray]'"]
    )


def test_serve_with_an_unreachable_api_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: 'https://127.0.0.1:9'}\n  name: c\n"
        "contexts:\n- context: {cluster: c, user: u}\n  name: x\ncurrent-context: x\n"
        "users:\n- name: u\n  user: {token: t}\n"
    )
    code, _, err = run(
        capsys, "serve", "--api-wait", "0.5", "--kubeconfig", write(tmp_path, "kubeconfig", config)
    )
    assert code == 2 and err.count("\n") == 1 and "cannot be reached" in err, err
