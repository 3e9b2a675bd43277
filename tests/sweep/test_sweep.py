"""Sweeps: both backends agree, a killed sweep resumes without redoing or losing runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from schedlab.errors import ConfigError
from schedlab.sweep.backends import LocalBackend, RayBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.matrix import SweepMatrix, expand
from schedlab.sweep.store import SUMMARY_COLUMNS, ResultStore
from schedlab.trace import default_nodes_path, default_pods_path


def small_data(root: Path) -> Path:
    """A data dir with two small workloads (400 tasks) and 150 nodes of the openb trace."""
    root.mkdir()
    pods = default_pods_path().read_text().splitlines()
    (root / "openb_pod_list_default.csv").write_text("\n".join(pods[:401]) + "\n")
    cpu = [pods[0], *[line for line in pods[741:] if ",0,0," in line][:60], *pods[401:741]]
    (root / "openb_pod_list_cpu050.csv").write_text("\n".join(cpu) + "\n")
    nodes = default_nodes_path().read_text().splitlines()
    (root / "openb_node_list_gpu_node.csv").write_text("\n".join(nodes[:151]) + "\n")
    return root


def matrix(data: Path) -> SweepMatrix:
    return SweepMatrix(
        workloads=("default", "cpu050"), policies=("fgd", "bestfit", "random"), seeds=(1, 2), data_dir=data
    )


def without_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_s", "pods", "nodes"]).reset_index(drop=True)


def test_local_and_ray_backends_give_identical_results(tmp_path: Path) -> None:
    specs = expand(matrix(small_data(tmp_path / "data")))
    local = ResultStore(tmp_path / "local")
    outcome = run_sweep(specs, local, LocalBackend(2), {})
    assert (outcome.total, outcome.skipped, outcome.ran) == (12, 0, 12)
    ray = ResultStore(tmp_path / "ray")
    run_sweep(specs, ray, RayBackend(None, 2), {})
    pd.testing.assert_frame_equal(without_wall(local.load()), without_wall(ray.load()))
    a = pd.read_csv(tmp_path / "local" / "summary.csv")
    b = pd.read_csv(tmp_path / "ray" / "summary.csv")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == SUMMARY_COLUMNS
    assert len(a) == 2 * 3 * 131 and set(a["n_seeds"]) == {2}


def test_rerun_skips_finished_runs(tmp_path: Path) -> None:
    specs = expand(matrix(small_data(tmp_path / "data")))
    store = ResultStore(tmp_path / "out")
    run_sweep(specs[:5], store, LocalBackend(1), {})
    outcome = run_sweep(specs, store, LocalBackend(1), {})
    assert (outcome.skipped, outcome.ran) == (5, 7)
    assert len(store.done()) == 12


def test_killed_sweep_resumes_and_completes_every_run_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "schedlab", "sweep", "--policy", "bestfit,dotprod", "--seeds", "1-5"]
    args += ["--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(ResultStore(out).done()) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = ResultStore(out).done()
    assert 3 <= len(finished) < 10, "the sweep should have been killed mid-way"

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    left = 10 - len(finished)
    assert f"10 runs in the matrix: {len(finished)} already done, {left} run now" in rerun.stdout
    assert len(ResultStore(out).done()) == 10
    assert not list((out / "runs").glob(".*"))  # no partial file left behind

    fresh = tmp_path / "fresh"
    whole = subprocess.run([*args[:-1], str(fresh)], capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), pd.read_csv(fresh / "summary.csv"))


def test_toml_matrix(tmp_path: Path) -> None:
    data = small_data(tmp_path / "data")
    config = tmp_path / "sweep.toml"
    config.write_text(
        'workloads = ["cpu050"]\npolicies = ["fgd"]\nseeds = "3-5"\n'
        'tune_ratios = [1.0, 1.3]\ndata_dir = "data"\n'
    )
    m = SweepMatrix.from_toml(config)
    assert (m.workloads, m.policies, m.seeds, m.tune_ratios) == (("cpu050",), ("fgd",), (3, 4, 5), (1.0, 1.3))
    assert m.data_dir == data.resolve()
    assert len(expand(m)) == 6
    config.write_text('workload = ["cpu050"]\n')
    with pytest.raises(ConfigError, match="unknown key"):
        SweepMatrix.from_toml(config)


def test_preset_atc23_and_missing_files(tmp_path: Path) -> None:
    m = SweepMatrix.preset("atc23", tmp_path)
    assert len(m.workloads) * len(m.policies) * len(m.seeds) == 1020
    with pytest.raises(ConfigError, match=r"openb_pod_list_cpu050\.csv"):
        expand(m)


def test_preset_on_shared_data_has_1020_distinct_runs(shared_data: Path) -> None:
    specs = expand(SweepMatrix.preset("atc23", shared_data))
    assert len({s.run_id for s in specs}) == 1020
