"""Replay sweeps: a TOML grid of replays into a resumable store, summarised over seeds with
Student-t intervals and drawn against load; each run equals the single replay it stands for."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from schedlab.errors import ConfigError
from schedlab.sweep.backends import LocalBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.matrix import SweepMatrix, expand
from schedlab.sweep.replay_specs import expand_replays
from schedlab.sweep.replays import ReplayMatrix
from schedlab.sweep.store import ResultStore
from tests.sweep.test_sweep import small_data
from tests.test_cli import run_cli

GRID = """kind = "replay"
traces = ["default"]
policies = ["fgd", "bestfit"]
loads = [0.7, 0.95]
seeds = "1-3"
"""


def test_a_replay_sweep_summarises_with_intervals_draws_and_resumes(tmp_path: Path) -> None:
    config = tmp_path / "grid.toml"
    config.write_text(GRID)
    out = tmp_path / "store"
    first = run_cli("sweep", "--config", str(config), "--out", str(out), "--workers", "2")
    assert first.returncode == 0, first.stderr
    assert "12 runs in the matrix: 0 already done, 12 run now" in first.stdout
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and set(summary["policy"]) == {"fgd", "bestfit"} and (summary["runs"] == 3).all()
    for metric in ("jct_mean", "wait_p99", "slowdown_mean", "alloc_mean_pct", "preemptions"):
        for stat in ("mean", "std", "n", "ci_low", "ci_high"):
            assert f"{metric}_{stat}" in summary.columns
        assert (summary[f"{metric}_ci_low"] <= summary[f"{metric}_mean"] + 1e-9).all()
    busy = summary[summary["load"] == 0.95]
    assert (busy["wait_mean_std"] > 0).all() and (busy["wait_mean_ci_high"] > busy["wait_mean_ci_low"]).all()
    again = run_cli("sweep", "--config", str(config), "--out", str(out))
    assert again.returncode == 0 and "12 already done, 0 run now" in again.stdout
    report = run_cli("report", str(out), "--json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert (
        doc["interval"].startswith("95% confidence interval over seeds: Student t")
        and doc["confidence"] == 0.95
        and len(doc["groups"]) == 4
    )
    group = next(g for g in doc["groups"] if g["policy"] == "fgd" and g["load"] == 0.95)
    row = summary[(summary["policy"] == "fgd") & (summary["load"] == 0.95)].iloc[0]
    assert group["metrics"]["wait_mean"]["ci_high"] == pytest.approx(row["wait_mean_ci_high"])
    figure = out / "figures" / "replay_openb_pod_list_default.png"
    assert (
        figure.stat().st_size > 10_000
        and "replay_openb_pod_list_default.png" in (out / "report.md").read_text()
    )


def test_a_sweep_run_is_the_replay_it_stands_for(tmp_path: Path) -> None:
    matrix = ReplayMatrix(policies=("fgd",), loads=(0.95,), seeds=(2,))
    store = ResultStore(tmp_path / "store")
    run_sweep(expand_replays(matrix), store, LocalBackend(1), {})
    row = store.load().iloc[0]
    alone = run_cli("replay", "--target-load", "0.95", "--seed", "2", "--json")
    assert alone.returncode == 0, alone.stderr
    summary = json.loads(alone.stdout)
    for metric in ("jct_mean", "wait_p99", "slowdown_mean", "alloc_mean_pct", "offered_load", "completed"):
        assert row[metric] == summary[metric], metric
    assert row["warmup_tasks"] == summary["warmup_tasks"] > 0


def test_seeds_vary_a_synthetic_workload_and_time_scales_replace_loads(tmp_path: Path) -> None:
    matrix = ReplayMatrix(policies=("bestfit",), loads=(0.8,), seeds=(1, 2), synth_tasks=300)
    store = ResultStore(tmp_path / "synth")
    run_sweep(expand_replays(matrix), store, LocalBackend(1), {})
    runs = store.load()
    assert runs["tasks"].tolist() == [300, 300] and runs["jct_mean"].nunique() == 2
    scaled = ReplayMatrix(policies=("bestfit",), loads=(), time_scales=(0.01,), warm_start=False)
    store = ResultStore(tmp_path / "scaled")
    run_sweep(expand_replays(scaled), store, LocalBackend(1), {})
    row = store.load().iloc[0]
    assert row["time_scale"] == 0.01 and row["warmup_tasks"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "replay"\nloads = [0.5]\ntime_scales = [0.1]\n', "loads or time_scales, not both"),
        ('kind = "replay"\ntime_scales = [0.1]\nsynth_tasks = 10\n', "synth_tasks draws workloads at a load"),
        ('kind = "replay"\nqueues = ["lifo"]\n', "key 'queues': unknown"),
        ('kind = "replay"\nloads = [-1]\n', "key 'loads': expected positive numbers"),
        ('kind = "replay"\ntraces = ["missing.csv"]\n', "file(s) not found"),
        ('kind = "replay"\npolicy = ["fgd"]\n', "unknown key(s) ['policy']"),
        ('kind = "batch"\n', 'expected "fill", "replay" or "kueue"'),
        ('kind = "replay"\nwarm_start = "yes"\n', "key 'warm_start': expected true or false"),
        ('kind = "replay"\nsharing_modes = ["smt"]\n', "'smt' is not time-slicing, mps or mig:MODEL=LAYOUT"),
        ('kind = "replay"\nsharing_modes = ["mig:A100-80GB=4x2g.20gb"]\n', "does not fit one A100-80GB"),
        ('kind = "replay"\ndefrags = ["nope"]\n', "key 'defrags': unknown defragmentation policy"),
        ('kind = "replay"\ndefrag_every = 0\n', "key 'defrag_every': expected a positive number"),
    ],
)
def test_bad_replay_grids_are_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "grid.toml"
    config.write_text(text)
    done = run_cli("sweep", "--config", str(config), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr and str(config) in done.stderr


def test_a_store_holds_one_kind_of_sweep(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    data = small_data(tmp_path / "data")
    run_sweep(
        expand(SweepMatrix(("default",), ("bestfit",), (1,), data_dir=data)), store, LocalBackend(1), {}
    )
    with pytest.raises(ConfigError, match="holds fill runs; a replay sweep needs a new --out"):
        run_sweep(expand_replays(ReplayMatrix(policies=("fgd",))), store, LocalBackend(1), {})
    fill_flag = run_cli(
        "sweep", "--config", str(_grid(tmp_path)), "--tune-ratio", "1.2", "--out", str(tmp_path / "x")
    )
    assert fill_flag.returncode == 2 and "--tune-ratio: fill sweep flags" in fill_flag.stderr


def _grid(root: Path) -> Path:
    path = root / "grid.toml"
    path.write_text(GRID)
    return path


AZURE_CODE = (
    Path(__file__).resolve().parents[3] / "shared/data/azure-llm-2023/AzureLLMInferenceTrace_code.csv"
)
LLM = Path(__file__).resolve().parents[2] / "examples" / "llm"


@pytest.mark.skipif(not AZURE_CODE.is_file(), reason="needs ../shared/data")
def test_llm_replicas_in_a_sweep_are_the_replay_they_stand_for(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        f'kind = "replay"\ntraces = ["{LLM / "jobs.csv"}"]\nnodes = "{LLM / "nodes.csv"}"\n'
        f'policies = ["fgd"]\ntime_scales = [1.0]\nwarm_start = false\n'
        f'llm_requests = "{AZURE_CODE}"\ngpu_cards = ["H100=H100"]\n'
    )
    matrix = ReplayMatrix.from_toml(grid)
    specs = expand_replays(matrix)
    assert specs[0].llm_requests == str(AZURE_CODE.resolve())
    assert (
        specs[0].llm_requests_sha256
        and specs[0].inputs()[specs[0].llm_requests] == specs[0].llm_requests_sha256
    )
    store = ResultStore(tmp_path / "store")
    run_sweep(specs, store, LocalBackend(1), {})
    row = store.load().iloc[0]
    args = [
        "--jobs",
        str(LLM / "jobs.csv"),
        "--nodes",
        str(LLM / "nodes.csv"),
        "--llm-requests",
        str(AZURE_CODE),
    ]
    alone = run_cli("replay", *args, "--policy", "fgd", "--seed", "42", "--json")
    assert alone.returncode == 0, alone.stderr
    assert (
        row["llm_slo_attainment"]
        == json.loads(alone.stdout)["llm_slo_attainment"]
        == pytest.approx(0.876, abs=5e-4)
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "replay"\ngpu_cards = ["H100"]\n')
    with pytest.raises(ConfigError, match="key 'gpu_cards': expected MODEL=CARD pairs"):
        ReplayMatrix.from_toml(bad)


def test_sharing_modes_and_defragmentation_in_a_sweep_are_the_replays_they_stand_for(tmp_path: Path) -> None:
    nodes = Path(__file__).parents[2] / "examples" / "mig" / "nodes.csv"
    layout = "A100-SXM4-80GB=3g.40gb,2g.20gb,2x1g.10gb"
    matrix = ReplayMatrix(
        nodes=str(nodes),
        policies=("fgd",),
        loads=(0.8,),
        seeds=(1,),
        synth_tasks=400,
        sharing_modes=("time-slicing", f"mig:{layout}"),
        defrags=("none", "least-moved"),
        defrag_every=60.0,
    )
    store = ResultStore(tmp_path / "store")
    run_sweep(expand_replays(matrix), store, LocalBackend(1), {})
    runs = store.load().set_index(["sharing_mode", "defrag"])
    assert len(runs) == 4
    for (_, defrag), moves in runs["defrag_moves"].items():
        assert pd.isna(moves) == (defrag == "none")
    plain = runs.loc[("time-slicing", "none")]
    assert plain["compute_alloc_mean_pct"] == plain["alloc_mean_pct"]
    mig = runs.loc[(f"mig:{layout}", "none")]
    assert mig["compute_alloc_mean_pct"] != mig["alloc_mean_pct"]  # instances are not whole GPUs
