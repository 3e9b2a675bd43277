"""LLM profiles: measuring (fake backend; PyTorch on the CPU where it is installed), resuming,
the roofline fitted to measured times, its error, and the commands that use them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError
from schedlab.llm.cards import gpu_card, model_card
from schedlab.llm.profiles import LlmProfile, card_for_device, errors, fit, load_llm_profile, predict
from schedlab.llm.roofline import Deployment, Efficiency
from schedlab.profile.llm import FakeLlmBackend, llm_points, measure_llm
from tests.llm.test_plan_cli import run_cli, synthetic


@pytest.mark.parametrize(
    ("device", "card"),
    [
        ("NVIDIA H100 80GB HBM3", "H100-80GB"),
        ("NVIDIA H200", "H200-141GB"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA A10", "A10"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-32GB", "V100-32GB"),
        ("cpu", None),
    ],
)
def test_cuda_device_names_find_their_card(device: str, card: str | None) -> None:
    found = card_for_device(device)
    assert (found.name if found else None) == card


def shapes_of(model: str) -> LlmProfile:
    card = model_card(model)
    points = llm_points(card)
    return LlmProfile(
        model=card,
        device="NVIDIA H100 80GB HBM3",
        kind=np.array([p[0] == "decode" for p in points], dtype=np.int64),
        batch=np.array([p[1] for p in points]),
        tokens=np.array([p[2] for p in points]),
        context=np.array([p[3] for p in points]),
        ms=np.ones(len(points)),
        source="test",
    )


def test_fitting_finds_the_efficiencies_a_roofline_was_made_with() -> None:
    shapes = shapes_of("llama-2-13b")
    truth = Deployment(shapes.model, gpu_card("H100"), 1, Efficiency(0.55, 0.65, launch_s=0.001))
    profile = replace(shapes, ms=predict(shapes, truth))
    found = fit(profile, Deployment(shapes.model, gpu_card("H100"), 1))
    assert (found.compute, found.memory, found.launch_s) == pytest.approx((0.55, 0.65, 0.001), rel=1e-4)
    doc = errors(profile, Deployment(shapes.model, gpu_card("H100"), 1))
    assert doc["fitted"]["all"]["p90"] < 1e-6 and doc["cross_validated"]["all"]["p90"] < 1e-6
    assert doc["default"]["all"]["median"] > 0.05


def test_measure_writes_a_profile_and_goes_on_where_it_stopped(tmp_path: Path) -> None:
    card = model_card("llama-3-8b")
    points = llm_points(card)
    assert len(points) == 28 and ("prefill", 1, 8192, 0) in points and ("decode", 256, 1, 4096) not in points
    settings = {"backend": "fake", "seed": 1}
    assert measure_llm(card, FakeLlmBackend(card, 1), tmp_path, points[:10], settings) == 10
    assert measure_llm(card, FakeLlmBackend(card, 1), tmp_path, points, settings) == len(points) - 10
    profile = load_llm_profile(tmp_path)
    assert len(profile) == len(points) and profile.device == "fake H100 (synthetic)"
    with pytest.raises(ConfigError, match="holds a profile of llama-3-8b with other settings"):
        measure_llm(card, FakeLlmBackend(card, 2), tmp_path, points, {"backend": "fake", "seed": 2})
    doc = errors(profile, Deployment(card, gpu_card("H100"), 1))
    assert doc["cross_validated"]["all"]["median"] < 0.10 < doc["default"]["all"]["median"]


def test_profile_check_and_simulate_commands(tmp_path: Path) -> None:
    out = tmp_path / "p"
    made = run_cli("profile", "--llm", "llama-2-7b", "--out", str(out), "--backend", "fake", "--no-progress")
    assert made.returncode == 0, made.stderr
    checked = run_cli("llm", "check", "--profile", str(out), "--json")
    doc = json.loads(checked.stdout)
    assert doc["config"]["gpu"] == "H100-80GB" and doc["cross_validated"]["all"]["median"] < 0.10
    trace = synthetic(tmp_path / "t.csv", n=100)
    args = ["llm", "simulate", "--trace", str(trace), "--model", "llama-2-7b", "--gpu", "H100", "--json"]
    plain = json.loads(run_cli(*args).stdout)
    fitted = json.loads(run_cli(*args, "--profile", str(out)).stdout)
    assert fitted["ttft_s"]["p50"] != plain["ttft_s"]["p50"]
    other = run_cli(
        "llm",
        "simulate",
        "--trace",
        str(trace),
        "--model",
        "llama-3-8b",
        "--gpu",
        "H100",
        "--profile",
        str(out),
    )
    assert (
        other.returncode == 2
        and other.stderr.strip() == f"error: --profile {out}: measures llama-2-7b, not llama-3-8b"
    )
    missing = run_cli("llm", "check", "--profile", str(tmp_path))
    assert missing.returncode == 2 and "no llm-profile.json" in missing.stderr


def test_the_torch_backend_times_a_block_on_the_cpu() -> None:
    pytest.importorskip("torch")
    from schedlab.profile.llm_torch import TorchLlmBackend

    backend = TorchLlmBackend(model_card("qwen2.5-1.5b"), "cpu", repeats=1, warmup=1)
    assert backend.describe()["device"] == "cpu"
    prefill, _ = backend.time("prefill", 1, 16, 0)
    decode, _ = backend.time("decode", 2, 1, 32)
    assert prefill > 0 and decode > 0
