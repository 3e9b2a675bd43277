"""Sweeps are traceable and safe: run ids cover the plugin code, stores never mix inputs,
plugins work in worker processes, and SIGTERM leaves no worker behind."""

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
from schedlab.plugins import load_plugin
from schedlab.provenance import read_stamp
from schedlab.sweep.backends import LocalBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.matrix import SweepMatrix, expand
from schedlab.sweep.store import ResultStore
from tests.sweep.test_sweep import small_data

PLUGIN = """import numpy as np
from schedlab.policies import PlacementPolicy, register


@register
class Emptiest(PlacementPolicy):
    name = "{name}"

    def score_nodes(self, view, shape, nodes):
        return view.gpu_free[nodes].sum(axis=1).astype(np.int64) // {divisor}
"""
SCHEDLAB = [sys.executable, "-c", "from schedlab.cli import main; main()"]


def test_a_plugin_edit_changes_the_run_id(tmp_path: Path) -> None:
    data = small_data(tmp_path / "data")
    ids = []
    for version, divisor in enumerate((10, 7)):
        path = tmp_path / f"v{version}" / "emptiest.py"
        path.parent.mkdir()
        path.write_text(PLUGIN.format(name=f"emptiest_v{version}", divisor=divisor))
        load_plugin(str(path))
        matrix = SweepMatrix(workloads=("default",), policies=(f"emptiest_v{version}",), data_dir=data)
        ids.append(expand(matrix)[0])
    assert ids[0].code_sha256 != ids[1].code_sha256
    assert ids[0].run_id != ids[1].run_id
    builtin = expand(SweepMatrix(workloads=("default",), policies=("fgd",), data_dir=data))[0]
    assert builtin.code_sha256 == ""


def test_a_store_never_mixes_inputs_in_one_summary_row(tmp_path: Path) -> None:
    data = small_data(tmp_path / "data")
    store = ResultStore(tmp_path / "store")
    run_sweep(
        expand(SweepMatrix(("default",), ("bestfit",), (1,), data_dir=data)), store, LocalBackend(1), {}
    )
    pods = data / "openb_pod_list_default.csv"
    pods.write_text("\n".join(pods.read_text().splitlines()[:300]) + "\n")  # other inputs, other seed
    with pytest.raises(ConfigError, match="mixes runs of different pod lists for workload 'default'"):
        run_sweep(
            expand(SweepMatrix(("default",), ("bestfit",), (2,), data_dir=data)), store, LocalBackend(1), {}
        )
    # the same slot again: the stale run is replaced, and the summary has one input
    run_sweep(
        expand(SweepMatrix(("default",), ("bestfit",), (1, 2), data_dir=data)), store, LocalBackend(1), {}
    )
    runs = store.load()
    assert runs["pods_sha256"].nunique() == 1 and sorted(runs["seed"].unique()) == [1, 2]
    stamp = read_stamp(next((store.runs_dir).glob("*.parquet")))
    assert set(stamp) >= {"config", "inputs", "version"} and str(pods) in stamp["inputs"]


def test_plugin_policies_run_in_worker_processes(tmp_path: Path) -> None:
    data = small_data(tmp_path / "data")
    plugin = tmp_path / "emptiest.py"
    plugin.write_text(PLUGIN.format(name="emptiest", divisor=10))
    args = ["--plugin", str(plugin), "sweep", "--policy", "emptiest,bestfit", "--seeds", "1-2"]
    args += ["--data-dir", str(data), "--out", str(tmp_path / "store"), "--workers", "2"]
    done = subprocess.run([*SCHEDLAB, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = pd.read_csv(tmp_path / "store" / "summary.csv")
    assert set(summary["policy"]) == {"emptiest", "bestfit"}


def children(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    found.append(int(entry.name))
                    todo.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_to_a_sweep_stops_its_workers_and_keeps_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "store"
    args = [
        "sweep",
        "--policy",
        "bestfit,fgd,random",
        "--seeds",
        "1-200",
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    sweep = subprocess.Popen([*SCHEDLAB, *args], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "runs").is_dir() or len(list((out / "runs").glob("*.parquet"))) < 2:
        assert time.monotonic() < deadline and sweep.poll() is None
        time.sleep(0.2)
    workers = children(sweep.pid)
    assert workers
    os.kill(sweep.pid, signal.SIGTERM)
    _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130
    kept = len(list((out / "runs").glob("*.parquet")))
    assert f"interrupted: {kept} finished run(s) kept in {out}; rerun the same command to resume" in err
    time.sleep(1)
    alive = [pid for pid in workers if running(pid)]
    assert not alive


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
