"""LLM replicas that time-slice a GPU with other tasks: their share of its memory, iterations
stretched by the slowdown in force where they begin, the slowdown the interference model
gives the replica's group on its GPU, the same on both paths; and the job-CSV rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError, TraceError
from schedlab.interference import Sharing, load_profiles, make_model
from schedlab.llm.cards import gpu_card, model_card, shared_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Slo, serve
from schedlab.sim import ReplayConfig, replay
from schedlab.sim.llm_limits import largest_safe
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from tests.sim.test_llm_services import trace

HEADER = (
    "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,profile,"
    "llm_model,llm_rate_rps,ttft_ms,tbt_ms\n"
)
NODES = Nodes.build([("h", 64000, 524288, 1, "H100")])
SERVE = "chat,0,600,8000,32768,1,500,LS,gpt2/8,llama-3-8b,1.5,400,60\n"
TRAIN = "train,100,200,8000,32768,1,500,BE,resnet50_train/32,,,,\n"


def jobs(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + rows)
    return path


def test_an_iteration_takes_the_slowdown_in_force_where_it_begins() -> None:
    d = Deployment(model_card("llama-3-8b"), gpu_card("H100"), 1)
    one = LlmRequests(np.array([0.0]), np.array([1000]), np.array([3]), "t")
    prefill, decodes = d.prefill_time(1000), [d.decode_time(1, 1001), d.decode_time(1, 1002)]
    plain = serve(one, d, 1)
    assert plain.ttft[0] == pytest.approx(prefill) and plain.gaps == pytest.approx(decodes)
    twice = serve(one, d, 1, slowdown=(np.array([0.0]), np.array([2.0])))
    assert twice.ttft[0] == pytest.approx(2 * prefill)
    assert twice.gaps == pytest.approx([2 * x for x in decodes])
    # a step half-way through the prefill: the prefill keeps factor 1, both decodes take 3
    later = serve(one, d, 1, slowdown=(np.array([0.0, prefill / 2]), np.array([1.0, 3.0])))
    assert later.ttft[0] == pytest.approx(prefill)
    assert later.gaps == pytest.approx([3 * x for x in decodes])
    same = serve(trace(), d, 2, slowdown=(np.array([0.0]), np.array([1.0])))
    assert np.array_equal(same.ttft, serve(trace(), d, 2).ttft, equal_nan=True)


def test_a_shared_gpu_gives_its_share_of_the_memory() -> None:
    h100 = gpu_card("H100")
    half = shared_card(h100, 0.5)
    assert (half.memory, half.flops, half.bandwidth) == (h100.memory / 2, h100.flops, h100.bandwidth)
    model = model_card("llama-3-8b")
    whole = Deployment(model, h100).kv_blocks(16, 8192)
    assert Deployment(model, half).kv_blocks(16, 8192) < whole // 2  # the weights take the same


@pytest.mark.parametrize("compiled", [False, True])
def test_a_replica_sharing_its_gpu_is_slowed_while_training_runs_beside_it(
    tmp_path: Path, compiled: bool
) -> None:
    workload = load_jobs(jobs(tmp_path, SERVE + TRAIN))
    config = ReplayConfig(seed=3, interference="measured", compiled=compiled)
    result = replay(workload, NODES, config, llm_requests=trace())
    (row,) = result.summary["llm_services"]
    measured = make_model("measured", load_profiles())
    slow, train_slow = measured.slowdowns(["gpt2/8", "resnet50_train/32"], Sharing())
    assert slow > 1.2 and train_slow > 1.0
    # the training job is slowed by the replica beside it for its whole run
    end = result.tasks.set_index("name")["end"]
    assert end["train"] == pytest.approx(100 + 200 * train_slow)
    # the replica: its requests served on half the H100's memory, x slow while training runs
    requests = trace().window(1.5, 0.0, 600.0, np.random.default_rng([3, 0x11A]))
    card = shared_card(gpu_card("H100"), 0.5)
    steps = (np.array([0.0, 100.0, end["train"]]), np.array([1.0, slow, 1.0]))
    expect = serve(requests, Deployment(model_card("llama-3-8b"), card), 1, slowdown=steps)
    done = expect.e2e + requests.arrival <= 600.0
    tpot = np.where(requests.output > 1, expect.tpot, 0.0)
    within = done & (expect.ttft <= 0.4) & (tpot <= 0.06)
    assert row["served"] == int(done.sum())
    assert row["slo_attainment"] == pytest.approx(within.sum() / len(requests))
    (alone,) = replay(workload, NODES, ReplayConfig(seed=3, compiled=compiled), llm_requests=trace()).summary[
        "llm_services"
    ]  # without an interference model the replica runs as if alone
    assert alone["ttft_p99_ms"] < row["ttft_p99_ms"] and alone["tbt_p99_ms"] < row["tbt_p99_ms"]


def test_both_paths_agree_with_several_replicas_and_co_runners(tmp_path: Path) -> None:
    rows = "".join(
        f"s{i},{40 * i},500,8000,32768,1,{m},LS,gpt2/{b},qwen2.5-1.5b,2,300,50\n"
        for i, (m, b) in enumerate(((500, 8), (300, 1), (500, 32), (200, 8)))
    ) + "".join(
        f"t{i},{30 * i},{150 + 20 * i},8000,32768,1,{m},BE,{p},,,,\n"
        for i, (m, p) in enumerate(
            ((500, "resnet50_train/32"), (400, "bert_train/16"), (700, "vit/32"), (300, ""))
        )
    )
    workload = load_jobs(jobs(tmp_path, rows))
    nodes = Nodes.build([("a", 64000, 524288, 2, "H100"), ("b", 64000, 524288, 1, "A100-SXM4-80GB")])
    configs = [ReplayConfig(seed=1, interference="measured", compiled=c) for c in (False, True)]
    found = [replay(workload, nodes, config, llm_requests=trace()) for config in configs]
    assert found[0].summary["llm_services"] == found[1].summary["llm_services"]
    assert found[0].tasks.equals(found[1].tasks)


def test_llm_rows_that_share_a_gpu_follow_the_rules(tmp_path: Path) -> None:
    for row, field, message in (
        (
            "x,0,60,8000,32768,1,1000,LS,gpt2/8,llama-2-7b,1,400,60\n",
            "profile",
            "a profile stands in for an LLM replica that shares its GPU",
        ),
        ("x,0,60,8000,32768,0,0,LS,,llama-2-7b,1,400,60\n", "num_gpu", "an LLM replica needs a GPU"),
    ):
        with pytest.raises(TraceError) as err:
            load_jobs(jobs(tmp_path, row))
        assert f"jobs.csv:2: field '{field}': {message}" in str(err.value)
    tiny = load_jobs(jobs(tmp_path, "x,0,60,8000,32768,1,100,LS,,llama-3-8b,1,400,60\n"))
    with pytest.raises(ConfigError, match=r"llama-3-8b on 100 milli of a GPU \(its memory share\) fits no"):
        replay(tiny, NODES, ReplayConfig(), llm_requests=trace())


def test_the_largest_safe_slowdown_is_where_attainment_falls_below_99_percent() -> None:
    d_model, card = model_card("llama-3-8b"), shared_card(gpu_card("H100"), 0.5)
    requests = trace(600, seed=2)
    slo = Slo(0.4, 0.06)
    limit = largest_safe(d_model, card, requests, slo)

    def attainment(factor: float) -> float:
        steps = (np.array([0.0]), np.array([factor]))
        return serve(requests, Deployment(d_model, card), 1, slowdown=steps).attainment(slo)

    assert 1.0 < limit < 64.0
    assert attainment(limit) >= 0.99 > attainment(limit + 1 / 64)


@pytest.mark.parametrize("compiled", [False, True])
def test_slo_aware_keeps_a_job_off_a_replica_it_would_slow_past_its_slo(
    tmp_path: Path, compiled: bool
) -> None:
    # at 8 requests/s the replica keeps 99 % of them within its targets up to a slowdown of
    # 2.6: the training job (3.15 beside it) must wait for its GPU
    workload = load_jobs(jobs(tmp_path, SERVE.replace(",1.5,", ",8,") + TRAIN))
    found = {}
    for policy in ("fgd", "slo-aware"):
        config = ReplayConfig(seed=3, interference="measured", policy=policy, compiled=compiled)
        found[policy] = replay(workload, NODES, config, llm_requests=trace())
    starts = {p: r.tasks.set_index("name")["start"]["train"] for p, r in found.items()}
    assert starts == {"fgd": 100.0, "slo-aware": 600.0}  # beside the replica, or after it ends
    within = {p: r.summary["llm_services"][0]["slo_attainment"] for p, r in found.items()}
    assert within["slo-aware"] >= within["fgd"]


def test_services_are_drawn_from_the_sharing_tasks_that_are_not_llm_replicas(tmp_path: Path) -> None:
    from schedlab.interference.mix import with_profiles

    rows = SERVE.replace("gpt2/8", "") + "".join(f"t{i},{i},60,8000,32768,1,500,BE,,,,,\n" for i in range(4))
    mixed = with_profiles(load_jobs(jobs(tmp_path, rows)), load_profiles(), 1.0, 7)
    assert mixed.profile is not None and mixed.rate_rps is not None
    assert mixed.profile[0] == "" and np.isnan(mixed.rate_rps[0])  # the replica keeps none
    assert (mixed.profile[1:] != "").all() and (~np.isnan(mixed.rate_rps[1:])).all()
