"""The roofline against kernel times measured on real GPUs (Vidur's profiles): reading them,
the per-layer time the roofline gives, its errors, and ``schedlab llm check --operators``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.errors import TraceError
from schedlab.llm.cards import LlmError, gpu_card, model_card
from schedlab.llm.operators import KERNELS, layer_ms, load_operators, operator_errors
from schedlab.llm.roofline import Efficiency
from tests.llm.test_plan_cli import run_cli

DATA = Path(__file__).parents[1] / "data" / "vidur"
H100 = DATA / "h100-llama-2-7b-mlp.csv"
A100 = DATA / "a100-llama-3-8b-mlp.csv"


def test_a_profile_finds_its_model_and_sums_a_layers_kernels() -> None:
    ops = load_operators(H100)
    assert ops.model.name == "llama-2-7b" and len(ops) == 24
    assert sorted(set(ops.tp.tolist())) == [1, 2]
    first = ops.tokens.tolist().index(4096)  # TP 1, 4,096 tokens, the first row
    # input norm, QKV, rope, output projection, post-attention norm, up, act, down, add
    medians = [0.0665, 0.584, 0.0835, 0.193, 0.067, 0.987, 0.139, 0.441, 0.031]
    assert ops.ms[first] == pytest.approx(sum(medians))
    assert load_operators(A100).model.name == "llama-3-8b"


def test_the_layer_time_is_the_block_matrices_roofline_plus_a_share_of_the_launches() -> None:
    ops = load_operators(H100)
    h100, m = gpu_card("H100"), ops.model
    rows = np.array([ops.tokens.tolist().index(4096), ops.tokens.tolist().index(1)])
    got = layer_ms(ops, h100, Efficiency(), rows)
    weights = 4096 * (4096 + 2 * 4096) + 4096 * 4096 + 3 * 4096 * 11008
    compute = 2 * weights * 4096 / (989.4e12 * 0.7)  # 4,096 tokens: compute-bound
    io = (4096 * 2 + 2 * 4096) + 2 * 4096 + (4096 + 2 * 11008) + (11008 + 4096)  # elements per token
    memory = (weights + io) * 2 / (3350e9 * 0.8)  # one token: memory-bound
    launch = 0.0005 / m.layers
    assert got == pytest.approx([(compute + launch) * 1000, (memory + launch) * 1000], rel=1e-12)
    two = np.array([int(np.flatnonzero((ops.tp == 2) & (ops.tokens == 4096))[0])])
    assert layer_ms(ops, h100, Efficiency(), two)[0] == pytest.approx(
        (compute / 2 + launch) * 1000, rel=1e-12
    )


def test_errors_are_the_ratios_of_those_times_and_fitting_cuts_them() -> None:
    ops = load_operators(A100)
    a100 = gpu_card("A100-80GB")
    doc = operator_errors(ops, a100)
    ratio = np.abs(layer_ms(ops, a100, Efficiency(), np.arange(len(ops))) / ops.ms - 1)
    assert doc["default"]["all"]["median"] == pytest.approx(float(np.median(ratio)))
    assert doc["default"]["tp8"]["n"] == 9 and doc["default"]["tp1"]["n"] == 12
    assert doc["fitted"]["all"]["median"] < doc["default"]["all"]["median"] / 2
    assert doc["cross_validated"]["all"]["median"] < 0.10


def test_fitting_recovers_the_efficiencies_of_times_made_by_the_roofline(tmp_path: Path) -> None:
    ops = load_operators(A100)
    a100 = gpu_card("A100-80GB")
    truth = Efficiency(compute=0.6, memory=0.65, launch_s=0.001)
    made = layer_ms(ops, a100, truth, np.arange(len(ops)))
    frame = pd.read_csv(A100)
    for kernel in KERNELS:
        frame[f"time_stats.{kernel}.median"] = 0.0
    frame["time_stats.mlp_up_proj.median"] = made
    path = tmp_path / "made.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    fitted = operator_errors(load_operators(path), a100)
    assert fitted["efficiencies"]["compute"] == pytest.approx(0.6, rel=1e-4)
    assert fitted["efficiencies"]["memory"] == pytest.approx(0.65, rel=1e-4)
    assert fitted["efficiencies"]["launch_s"] == pytest.approx(0.001, rel=1e-3)
    assert fitted["fitted"]["all"]["p90"] < 1e-6


def _edited(tmp_path: Path, change: dict[str, object], row: int = 3) -> Path:
    frame = pd.read_csv(H100, dtype=str, keep_default_na=False)
    for column, value in change.items():
        frame.loc[row, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_stats.mlp_up_proj.median": ""}, r"csv:5: field 'time_stats\.mlp_up_proj\.median'"),
        ({"time_stats.add.median": "-1"}, "not a number >= 0"),
        ({"num_tokens": "many"}, "not an integer"),
        ({"n_embd": "5120"}, "rows of more than one model"),
    ],
)
def test_bad_rows_name_the_line_and_field(tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(TraceError, match=message):
        load_operators(_edited(tmp_path, change))


def test_a_block_no_card_has_or_another_model_is_refused(tmp_path: Path) -> None:
    frame = pd.read_csv(H100, dtype=str, keep_default_na=False)
    frame["n_embd"] = "3072"
    path = tmp_path / "other.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(LlmError, match="no built-in model card has 32 heads, 32 KV heads, hidden size 3072"):
        load_operators(path)
    with pytest.raises(LlmError, match="not llama-3-8b"):
        load_operators(H100, model_card("llama-3-8b"))
    no_column = tmp_path / "short.csv"
    pd.read_csv(H100).drop(columns=["time_stats.attn_rope.median"]).to_csv(no_column, index=False)
    with pytest.raises(TraceError, match=r"time_stats\.attn_rope\.median"):
        load_operators(no_column)


def test_the_check_command_prints_the_table_and_json() -> None:
    shown = run_cli("llm", "check", "--operators", str(H100), "--gpu", "H100")
    assert shown.returncode == 0, shown.stderr
    assert "tp1 median" in shown.stdout and "tp2 median" in shown.stdout
    doc = json.loads(run_cli("llm", "check", "--operators", str(H100), "--gpu", "H100", "--json").stdout)
    assert doc["config"]["model"] == "llama-2-7b" and doc["config"]["gpu"] == "H100-80GB"
    assert doc["points"] == 24
    for args, message in [
        (("--operators", str(H100)), "--operators needs --gpu"),
        ((), "give one of --profile DIR or --operators FILE"),
        (("--operators", str(H100), "--profile", str(DATA), "--gpu", "H100"), "give one of"),
    ]:
        failed = run_cli("llm", "check", *args)
        assert failed.returncode == 2 and failed.stderr.startswith("error:") and message in failed.stderr
