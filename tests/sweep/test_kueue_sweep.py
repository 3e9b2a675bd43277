"""Kueue sweeps: alternative configurations x quota scalings x placement x seeds into the
results store, resumable, summarised with intervals over seeds; bad TOML is one error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from schedlab.errors import ConfigError
from schedlab.kueue.compare import run, scaled
from schedlab.kueue.load import load_config
from schedlab.kueue.workloads import workloads
from schedlab.sweep.backends import LocalBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.kueue_matrix import KueueMatrix
from schedlab.sweep.kueue_runs import expand_kueue
from schedlab.sweep.store import ResultStore
from schedlab.workload import load_jobs
from tests.test_cli import run_cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "kueue"


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'kind = "kueue"\ntraces = ["{EXAMPLES / "jobs.csv"}"]\n' + text)
    return path


def test_a_sweep_runs_each_setting_per_seed_and_resumes(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        f'configs = ["{EXAMPLES / "teams.yaml"}"]\nscales = [0.5, 1.0]\nseeds = "1-2"\n'
        "synth_tasks = 1000\nload = 1.0\n",
    )
    specs = expand_kueue(KueueMatrix.from_toml(path))
    assert len(specs) == 4
    store = ResultStore(tmp_path / "out")
    outcome = run_sweep(specs, store, LocalBackend(1), {"matrix": "test"})
    assert (outcome.total, outcome.ran) == (4, 4)
    stored = store.load()
    runs = stored[stored["level"] == "all"]
    assert set(stored["kind"]) == {"kueue"} and len(runs) == 4
    assert (runs["workloads"] == 1000).all() and (runs["admitted"] + runs["pending"] == 1000).all()
    one = runs[runs["scale"] == 0.5].sort_values("seed")["wait_mean_s"].to_numpy()
    assert one[0] != one[1]  # seeds draw different workloads
    summary = pd.read_csv(outcome.summary)
    assert (summary["runs"] == 2).all()
    overall = summary[summary["level"] == "all"]
    assert overall["wait_mean_s_mean"][overall["scale"] == 0.5].item() == pytest.approx(one.mean())
    queues = stored[(stored["level"] == "ClusterQueue") & (stored["scale"] == 0.5)]
    counted = queues.groupby("seed")["workloads"].sum()  # every workload in one ClusterQueue
    assert (counted == 1000).all()
    again = run_sweep(specs, store, LocalBackend(1), {"matrix": "test"})
    assert (again.skipped, again.ran) == (4, 0)


def test_a_scaled_alternative_gives_kueue_compare_s_numbers(tmp_path: Path) -> None:
    path = toml(tmp_path, f'configs = ["{EXAMPLES / "teams.yaml"}"]\nscales = [0.5]\n')
    store = ResultStore(tmp_path / "out")
    run_sweep(expand_kueue(KueueMatrix.from_toml(path)), store, LocalBackend(1), {})
    rows = store.load().set_index("queue")
    config = load_config([EXAMPLES / "teams.yaml"])
    direct = run(scaled(config, 0.5), [workloads(load_jobs(EXAMPLES / "jobs.csv"), config)])[0]
    row = rows.loc["all"]
    assert row["wait_mean_s"] == pytest.approx(direct["wait_s"]["mean"])
    assert row["pending"] == direct["pending"] and row["evictions"] == direct["evictions"]
    assert row["configs"] == "teams.yaml" and row["placement"] == "none"
    for name, queue in direct["cluster_queues"].items():
        assert rows.loc[name, "wait_p99_s"] == pytest.approx(queue["wait_s"]["p99"])
        assert rows.loc[name, "lost_s"] == pytest.approx(queue["lost_s"])
    for name, queue in direct["local_queues"].items():
        assert rows.loc[name, "wait_mean_s"] == pytest.approx(queue["wait_s"]["mean"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "key 'configs' is missing"),
        ("configs = []\n", "at least one configuration"),
        ('configs = ["missing.yaml"]\n', "file(s) not found"),
        ('configs = ["{teams}"]\nplacements = ["nope"]\n', "nope"),
        ('configs = ["{teams}", ["{teams}"]]\n', "same file names"),
        ('configs = ["{teams}"]\nsynth_tasks = 10\n', "give load"),
        ('configs = ["{teams}"]\nscales = [0]\n', "positive"),
        ('configs = ["{teams}"]\nspeeds = ["x"]\n', "unknown key"),
    ],
)
def test_a_bad_kueue_sweep_is_one_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = toml(tmp_path, text.replace("{teams}", str(EXAMPLES / "teams.yaml")))
    with pytest.raises(ConfigError, match=r".*") as err:
        KueueMatrix.from_toml(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_sweep_and_report_on_the_command_line(tmp_path: Path) -> None:
    path = toml(tmp_path, f'configs = ["{EXAMPLES / "teams.yaml"}"]\nplacements = ["none", "fgd"]\n')
    out = tmp_path / "out"
    done = run_cli("sweep", "--config", str(path), "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "2 runs in the matrix" in done.stdout
    shown = run_cli("report", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    overall = [g for g in doc["groups"] if g["level"] == "all"]
    assert doc["kind"] == "kueue" and [g["placement"] for g in overall] == ["fgd", "none"]
    assert (out / "report.md").is_file() and (out / "figures" / "kueue_jobs.png").is_file()
    wrong = run_cli("sweep", "--config", str(path), "--out", str(out), "--policy", "fgd")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: --policy")
