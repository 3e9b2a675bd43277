"""LLM serving replicas in a replay: placed only where the model fits, their requests served
token by token on the card of the node they ran on, waiting counted against the SLO; job-CSV
rules and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError, TraceError
from schedlab.llm.cards import gpu_card, model_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import serve
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from schedlab.workload.jobs import write_jobs
from tests.test_cli import run_cli

HEADER = (
    "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,"
    "llm_model,llm_rate_rps,ttft_ms,tbt_ms\n"
)
NODES = Nodes.build([("h", 64000, 524288, 1, "H100"), ("t", 64000, 524288, 4, "T4")])


def trace(n: int = 400, seed: int = 5) -> LlmRequests:
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(0.5, n))
    return LlmRequests(times - times[0], rng.integers(20, 1500, n), rng.integers(2, 200, n), "t")


def jobs(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + rows)
    return path


def test_a_replica_alone_sees_the_serving_simulator(tmp_path: Path) -> None:
    workload = load_jobs(jobs(tmp_path, "chat,0,600,8000,32768,1,1000,LS,llama-3-8b,1.5,400,60\n"))
    result = replay(workload, NODES, ReplayConfig(seed=3), llm_requests=trace())
    (row,) = result.summary["llm_services"]
    # the same requests (same seeded draw) on one H100 replica for the whole life
    requests = trace().window(1.5, 0.0, 600.0, np.random.default_rng([3, 0x11A]))
    alone = serve(requests, Deployment(model_card("llama-3-8b"), gpu_card("H100"), 1), 1)
    assert row["requests"] == len(requests) and row["not_running_s"] == 0.0
    done = alone.e2e + requests.arrival <= 600.0
    assert row["served"] == int(done.sum())
    tpot = np.where(requests.output > 1, alone.tpot, 0.0)
    within = done & (alone.ttft <= 0.4) & (tpot <= 0.06)
    assert row["slo_attainment"] == pytest.approx(within.sum() / len(requests))
    assert result.summary["llm_slo_attainment"] == pytest.approx(row["slo_attainment"])


def test_a_replica_waits_for_a_gpu_its_model_fits(tmp_path: Path) -> None:
    # Llama-3-8B does not fit a 16 GB T4: both replicas go to the one H100, one after the other.
    rows = "".join(
        f"{name},{t},300,8000,32768,1,1000,LS,llama-3-8b,1,400,60\n" for name, t in (("a", 0), ("b", 10))
    )
    result = replay(load_jobs(jobs(tmp_path, rows)), NODES, ReplayConfig(), llm_requests=trace())
    a, b = result.summary["llm_services"]
    assert a["not_running_s"] == 0.0 and b["not_running_s"] == pytest.approx(290.0)
    assert b["served"] < b["requests"]  # what arrived while it waited was not served
    assert result.attempts["node"].tolist() == [0, 0]  # the H100 node, never the T4 one


def test_models_that_fit_no_gpu_and_gpus_without_a_card(tmp_path: Path) -> None:
    big = load_jobs(jobs(tmp_path, "x,0,60,8000,32768,1,1000,LS,llama-3-70b,1,400,60\n"))
    with pytest.raises(
        ConfigError,
        match=r"llama-3-70b on 1 GPU\(s\) fits no GPU model of <memory>: H100 \(H100-80GB\), T4 \(T4\)",
    ):
        replay(big, NODES, ReplayConfig(), llm_requests=trace())
    odd = Nodes.build([("g", 64000, 524288, 2, "G2")])
    small = load_jobs(jobs(tmp_path, "x,0,60,8000,32768,1,1000,LS,llama-2-7b,1,400,60\n"))
    with pytest.raises(ConfigError, match=r"G2 \(no card: map it with --gpu-card\)"):
        replay(small, odd, ReplayConfig(), llm_requests=trace())
    mapped = replay(small, odd, ReplayConfig(gpu_cards=(("G2", "A10"),)), llm_requests=trace())
    assert mapped.summary["llm_services"][0]["requests"] > 0
    with pytest.raises(ConfigError, match="give their request trace"):
        replay(small, odd, ReplayConfig(gpu_cards=(("G2", "A10"),)))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "x,0,60,8000,32768,1,1000,LS,llama-2-7b,1,,60\n",
            "jobs.csv:2: field 'ttft_ms': an LLM replica (a row with llm_model) needs ttft_ms",
        ),
        ("x,0,60,8000,32768,0,0,LS,llama-2-7b,1,400,60\n", "field 'num_gpu': an LLM replica needs a GPU"),
        ("x,0,60,8000,32768,1,1000,LS,,,400,\n", "field 'ttft_ms': ttft_ms without llm_model"),
        (
            "x,0,60,8000,32768,1,1000,LS,llama-2-7b,1,-4,60\n",
            "field 'ttft_ms': must be a positive number: '-4'",
        ),
    ],
)
def test_bad_llm_rows_name_their_line_and_field(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(TraceError) as err:
        load_jobs(jobs(tmp_path, row))
    assert message in str(err.value)


def test_llm_columns_survive_a_round_trip(tmp_path: Path) -> None:
    workload = load_jobs(
        jobs(tmp_path, "t,0,60,8000,32768,2,1000,BE,,,,\nx,5,60,8000,32768,2,1000,LS,llama-2-13b,3,400,60\n")
    )
    write_jobs(workload, tmp_path / "again.csv")
    again = load_jobs(tmp_path / "again.csv")
    assert again.llm is not None and again.llm.model.tolist() == ["", "llama-2-13b"]
    assert again.llm.tbt_ms[1] == 60 and np.isnan(again.llm.rate_rps[0])


def test_replay_command_with_llm_replicas(tmp_path: Path) -> None:
    requests = tmp_path / "r.csv"
    t = trace()
    requests.write_text(
        "arrival,prompt_tokens,output_tokens\n"
        + "".join(f"{a},{p},{o}\n" for a, p, o in zip(t.arrival, t.prompt, t.output, strict=True))
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nh,64000,524288,8,H100\n")
    path = jobs(
        tmp_path,
        "train,0,900,8000,32768,4,1000,BE,,,,\nchat,0,600,8000,32768,2,1000,LS,llama-2-13b,2,500,80\n",
    )
    shown = run_cli("replay", "--jobs", str(path), "--nodes", str(nodes), "--llm-requests", str(requests))
    assert shown.returncode == 0, shown.stderr
    assert "LLM replicas:" in shown.stdout and "llama-2-13b" in shown.stdout
    doc = json.loads(
        run_cli(
            "replay", "--jobs", str(path), "--nodes", str(nodes), "--llm-requests", str(requests), "--json"
        ).stdout
    )
    assert doc["llm_services"][0]["gpus"] == 2 and str(requests) in doc["inputs"]
    missing = run_cli("replay", "--jobs", str(path), "--nodes", str(nodes))
    assert missing.returncode == 2 and "give their request trace (--llm-requests)" in missing.stderr
    bad = run_cli(
        "replay",
        "--jobs",
        str(path),
        "--nodes",
        str(nodes),
        "--llm-requests",
        str(requests),
        "--gpu-card",
        "G2",
    )
    assert bad.returncode == 2 and "--gpu-card G2: expected MODEL=CARD pairs" in bad.stderr


def test_a_router_sends_a_waiting_replicas_requests_to_the_running_one(tmp_path: Path) -> None:
    # Two replicas of one service (same model, user and targets) on the one H100: the second
    # waits until the first ends at 300 s. Without a router the second's requests before
    # then are lost; with round-robin the running replica serves them, and each request goes
    # to one replica: the totals are the same.
    rows = (
        "a,0,300,8000,32768,1,1000,LS,llama-3-8b,0.5,400,60,chat\n"
        "b,0,300,8000,32768,1,1000,LS,llama-3-8b,0.5,400,60,chat\n"
    )
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER.rstrip("\n") + ",user\n" + rows)
    workload = load_jobs(path)
    plain = replay(workload, NODES, ReplayConfig(seed=3), llm_requests=trace())
    routed = replay(workload, NODES, ReplayConfig(seed=3, llm_router="round-robin"), llm_requests=trace())
    before = [r["requests"] for r in plain.summary["llm_services"]]
    after = [r["requests"] for r in routed.summary["llm_services"]]
    assert sum(before) == sum(after) and after != before
    # b's own stream spans 0-600 s (it runs 300-600 s): with the router a serves all of
    # 0-300 s, and the requests of 300-600 s go to b, the only one running then
    assert routed.summary["llm_router"] == {"policy": "round-robin", "missed_no_replica": 0}
    assert routed.summary["llm_slo_attainment"] > plain.summary["llm_slo_attainment"]
    assert "llm_router" not in plain.summary


def test_replicas_without_a_user_are_not_routed(tmp_path: Path) -> None:
    row = "0,300,8000,32768,1,1000,LS,llama-3-8b,0.5,400,60\n"
    rows = f"a,{row}b,{row}"
    workload = load_jobs(jobs(tmp_path, rows))
    plain = replay(workload, NODES, ReplayConfig(seed=3), llm_requests=trace())
    routed = replay(workload, NODES, ReplayConfig(seed=3, llm_router="round-robin"), llm_requests=trace())
    assert plain.summary["llm_services"] == routed.summary["llm_services"]


def test_least_loaded_routing_spares_the_slower_replica(tmp_path: Path) -> None:
    # One service of two Qwen2.5-1.5B replicas, one on the H100 and one on a T4, each bringing
    # 15 requests a second. Round-robin gives the T4 half of them, more than it can serve
    # within the targets; least-loaded sends each to the replica with fewer outstanding, so
    # the H100 takes most and both meet the SLO.
    header = HEADER.replace("gpu_milli,", "gpu_milli,gpu_spec,").rstrip("\n") + ",user\n"
    rows = "".join(
        f"{name},0,300,8000,32768,1,1000,{gpu},LS,qwen2.5-1.5b,15,400,60,chat\n"
        for name, gpu in (("a", "H100"), ("b", "T4"))
    )
    path = tmp_path / "jobs.csv"
    path.write_text(header + rows)
    workload, requests = load_jobs(path), trace(2000)
    runs = {
        router: replay(workload, NODES, ReplayConfig(seed=3, llm_router=router), llm_requests=requests)
        for router in ("round-robin", "least-loaded")
    }
    even, loaded = (runs[r].summary for r in ("round-robin", "least-loaded"))
    assert loaded["llm_router"] == {"policy": "least-loaded", "missed_no_replica": 0}
    h100, t4 = (row["requests"] for row in loaded["llm_services"])
    assert h100 > 2 * t4 and abs(np.subtract(*[r["requests"] for r in even["llm_services"]])) <= 1
    assert sum(r["requests"] for r in even["llm_services"]) == h100 + t4
    assert even["llm_slo_attainment"] < 0.7 < 0.95 < loaded["llm_slo_attainment"]
