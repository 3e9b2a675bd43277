"""LLM serving replicas on MIG instances: an instance's card (compute and bandwidth in
proportion to its slices, its own memory, no tensor parallelism), replicas placed on the
instances they ask for and served on that card, and the models that fit none refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import ConfigError
from schedlab.llm.cards import LlmError, gpu_card, model_card
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import serve
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from tests.sim.test_llm_services import trace
from tests.test_cli import run_cli

HEADER = (
    "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,gpu_spec,"
    "llm_model,llm_rate_rps,ttft_ms,tbt_ms\n"
)
NODES = Nodes.build([("a", 64000, 524288, 1, "A100-SXM4-80GB")])
LAYOUT = ("A100-SXM4-80GB=3g.40gb,2g.20gb,2x1g.10gb",)


def test_an_instance_card_has_its_slices_of_compute_bandwidth_and_its_memory() -> None:
    whole, three = gpu_card("A100-SXM4-80GB"), gpu_card("A100-SXM4-80GB/3g.40gb")
    assert three.name == "A100-80GB/3g.40gb" and three.link == 0.0
    assert three.flops == pytest.approx(whole.flops * 3 / 7)
    assert three.bandwidth == pytest.approx(whole.bandwidth * 4 / 8)  # 4 of 8 memory slices
    assert three.memory == 40e9
    one = gpu_card("H100/1g.10gb")
    assert (one.flops, one.bandwidth, one.memory) == pytest.approx((989.4e12 / 7, 3350e9 / 8, 10e9))
    for name, message in (
        ("T4/1g.10gb", "T4 has no MIG"),
        ("A100-80GB/5g.40gb", "MIG profile '5g.40gb' does not exist on A100-80GB"),
        ("A30/1g.6gb", "not a GPU model schedlab has a card for"),
    ):
        with pytest.raises(LlmError, match=message):
            gpu_card(name)
    with pytest.raises(LlmError, match="is a MIG instance: a replica takes one"):
        Deployment(model_card("qwen2.5-1.5b"), three, 2)


def test_replicas_on_instances_are_served_on_their_instance_card(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        HEADER
        + "big,0,600,8000,32768,1,1000,LS,mig-3g.40gb,qwen2.5-1.5b,1.5,400,60\n"
        + "small,0,600,8000,32768,1,1000,LS,nvidia.com/mig-1g.10gb,qwen2.5-1.5b,1.5,400,60\n"
    )
    result = replay(load_jobs(path), NODES, ReplayConfig(seed=3, mig=LAYOUT), llm_requests=trace())
    rows = {row["task"]: row for row in result.summary["llm_services"]}
    nodes = result.tasks.set_index("name")["node"]
    assert (nodes["big"], nodes["small"]) == (0, 2)  # a/3g.40gb, a/1g.10gb
    rng = np.random.default_rng([3, 0x11A])
    for name, profile in (("big", "3g.40gb"), ("small", "1g.10gb")):
        requests = trace().window(1.5, 0.0, 600.0, rng)  # drawn in row order, as the replay does
        alone = serve(requests, Deployment(model_card("qwen2.5-1.5b"), gpu_card(f"A100-80GB/{profile}")), 1)
        done = alone.e2e + requests.arrival <= 600.0
        within = done & (alone.ttft <= 0.4) & (np.where(requests.output > 1, alone.tpot, 0.0) <= 0.06)
        assert rows[name]["served"] == int(done.sum())
        assert rows[name]["slo_attainment"] == pytest.approx(within.sum() / len(requests))
    assert rows["big"]["ttft_p99_ms"] < rows["small"]["ttft_p99_ms"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "x,0,600,8000,32768,1,1000,LS,mig-1g.10gb,llama-3-8b,1,400,60",
            "the model and a full context fit none",
        ),
        ("x,0,600,8000,32768,2,1000,LS,mig-3g.40gb,qwen2.5-1.5b,1,400,60", "a replica takes one instance"),
    ],
)
def test_replicas_that_no_instance_can_serve_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(ConfigError, match=message):
        replay(load_jobs(path), NODES, ReplayConfig(mig=LAYOUT), llm_requests=trace())
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,64000,524288,1,A100-SXM4-80GB\n")
    requests = tmp_path / "requests.csv"
    requests.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,100,10\n")
    done = run_cli(
        "replay",
        "--jobs",
        str(path),
        "--nodes",
        str(nodes),
        "--mig",
        LAYOUT[0],
        "--llm-requests",
        str(requests),
    )
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
