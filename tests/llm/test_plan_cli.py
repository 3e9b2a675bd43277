"""Request traces, capacity plans (the answer meets the SLO, one replica fewer does not) and
the ``schedlab llm`` commands: outputs, provenance and one error line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import TraceError
from schedlab.llm.cards import LlmError, gpu_card, model_card
from schedlab.llm.plan import alone, plan
from schedlab.llm.requests import load_llm_requests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Slo, parse_slo, serve

AZURE = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schedlab", *args], capture_output=True, text=True, timeout=300
    )


def synthetic(path: Path, n: int = 400, rate: float = 4.0, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1 / rate, n))
    rows = [
        f"{t:.6f},{p},{o}"
        for t, p, o in zip(times, rng.integers(50, 2000, n), rng.integers(5, 300, n), strict=True)
    ]
    path.write_text("arrival,prompt_tokens,output_tokens\n" + "\n".join(rows) + "\n")
    return path


def test_azure_and_native_traces(tmp_path: Path) -> None:
    azure = tmp_path / "a.csv"
    azure.write_text(
        AZURE + "2023-11-16 18:17:04.5,10,2\n2023-11-16 18:17:03.5,20,3\n2023-11-16 18:17:05.5,30,4\n"
    )
    r = load_llm_requests(azure)
    assert r.arrival.tolist() == [0.0, 1.0, 2.0] and r.prompt.tolist() == [20, 10, 30]
    assert r.rate == pytest.approx(3 / 3.0)
    assert r.at_rate(2.0).arrival.tolist() == [0.0, 0.5, 1.0]
    native = tmp_path / "n.csv"
    native.write_text("arrival,prompt_tokens,output_tokens\n5,100,10\n7,50,1\n")
    assert load_llm_requests(native).arrival.tolist() == [0.0, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (AZURE + "2023-11-16 18:17:04,10,0\n", "a.csv:2: field 'GeneratedTokens': below 1: 0"),
        (AZURE + "yesterday,10,2\n", "a.csv:2: field 'TIMESTAMP': not a date and time: 'yesterday'"),
        ("time,prompt\n1,2\n", "a.csv:1: an LLM request trace has the columns TIMESTAMP"),
        (AZURE, "a.csv:2: no data rows"),
    ],
)
def test_bad_traces_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        load_llm_requests(path)
    assert message in str(err.value)


def test_slo_text() -> None:
    assert parse_slo("ttft=0.5s, tbt=40ms", 90) == Slo(0.5, 0.04, 90)
    assert parse_slo("TBT=50,ttft=200ms") == Slo(0.2, 0.05, 99)
    for bad in ("ttft=500ms", "ttft=-1ms,tbt=5ms", "ttft=fast,tbt=1ms"):
        with pytest.raises(LlmError, match="--slo"):
            parse_slo(bad)


def test_plan_meets_the_slo_and_one_replica_fewer_does_not(tmp_path: Path) -> None:
    trace = load_llm_requests(synthetic(tmp_path / "t.csv", rate=6.0))
    slo = Slo(ttft=0.4, tbt=0.06)
    model, gpu = model_card("llama-2-7b"), gpu_card("A100-80GB")
    answer = plan(trace, model, gpu, slo, tp=1)
    assert answer.replicas > 1
    assert serve(trace, Deployment(model, gpu, 1), answer.replicas).meets(slo)
    assert not serve(trace, Deployment(model, gpu, 1), answer.replicas - 1).meets(slo)
    auto = plan(trace, model, gpu, slo)
    assert auto.gpus <= answer.gpus


def test_an_slo_tighter_than_a_request_alone_cannot_be_planned(tmp_path: Path) -> None:
    trace = load_llm_requests(synthetic(tmp_path / "t.csv"))
    d = Deployment(model_card("llama-2-13b"), gpu_card("T4"), 4)
    bound = alone(trace, d, 99)
    assert bound["ttft"] == pytest.approx(
        float(np.percentile([d.prefill_time(int(p)) for p in trace.prompt], 99))
    )
    with pytest.raises(LlmError, match="no replica count meets ttft=100ms,tbt=50ms at p99: even alone"):
        plan(trace, d.model, d.gpu, Slo(0.1, 0.05), tp=4)


def test_simulate_and_plan_commands(tmp_path: Path) -> None:
    trace = synthetic(tmp_path / "t.csv", rate=6.0)
    args = ["--trace", str(trace), "--model", "llama-2-7b", "--slo", "ttft=400ms,tbt=60ms"]
    planned = run_cli("llm", "plan", *args, "--gpus", "A100-80GB", "--tp", "1", "--json")
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    (p,) = doc["plans"]
    assert p["summary"]["slo"]["met"] and not p["one_fewer"]["met"]
    assert doc["config"]["model_name"] == "llama-2-7b" and str(trace) in doc["inputs"]
    text = run_cli("llm", "plan", *args, "--gpus", "A100-80GB", "--tp", "1")
    check = text.stdout.splitlines()[-1].removeprefix("check one: schedlab ").split(" ")
    assert check[:2] == ["llm", "simulate"] and str(p["replicas"]) in check
    again = run_cli(*check, "--json")
    assert json.loads(again.stdout)["slo"]["met"] is True
    fewer = run_cli(*[str(p["replicas"] - 1) if a == str(p["replicas"]) else a for a in check], "--json")
    assert json.loads(fewer.stdout)["slo"]["met"] is False
    shown = run_cli("llm", "simulate", *args, "--gpu", "A100-80GB", "--replicas", str(p["replicas"]))
    assert "SLO ttft=400ms,tbt=60ms at p99: met" in shown.stdout
    figure = run_cli(
        "llm", "plan", *args, "--gpus", "A100-80GB", "--tp", "1", "--figure", str(tmp_path / "f.png")
    )
    assert figure.returncode == 0 and (tmp_path / "f.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "gpt-5"], "error: --model gpt-5: not a model schedlab knows"),
        (["--gpu", "G2"], "error: GPU G2: not a GPU model schedlab has a card for"),
        (["--model", "llama-3-70b"], "error: llama-3-70b on 1 x A100-80GB: 141.1 GB of weights per GPU"),
        (["--slo", "ttft=1s"], "error: --slo ttft=1s: give both ttft and tbt"),
        (["--replicas", "0"], "error: Invalid value for '--replicas': 0 is not in the range"),
    ],
)
def test_bad_flags_are_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    trace = synthetic(tmp_path / "t.csv", n=20)
    base = {"--model": "llama-2-7b", "--gpu": "A100-80GB"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flags = [x for k, v in base.items() for x in (k, v)]
    result = run_cli("llm", "simulate", "--trace", str(trace), *flags)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
