"""Model and GPU cards, and the roofline: parameter counts as published, iteration times
recomputed by hand from the operators' FLOPs and bytes, KV-cache capacity."""

from __future__ import annotations

import math

import pytest

from schedlab.llm.cards import LlmError, gpu_card, model_card
from schedlab.llm.roofline import Deployment, Efficiency


@pytest.mark.parametrize(
    ("name", "billions"),
    [
        ("llama-2-7b", 6.74),
        ("llama-2-13b", 13.02),
        ("llama-2-70b", 68.98),
        ("llama-3-8b", 8.03),
        ("llama-3-70b", 70.55),
        ("qwen2.5-1.5b", 1.54),
    ],
)
def test_parameter_counts_match_the_published_models(name: str, billions: float) -> None:
    # Published: Llama 2 7B 6.74 B, 13B 13.0 B, 70B 69.0 B; Llama 3 8B 8.03 B, 70B 70.6 B;
    # Qwen2.5-1.5B 1.54 B (norms and biases, a few million, are left out).
    assert model_card(name).params / 1e9 == pytest.approx(billions, abs=0.006)


def test_gpu_names_as_node_lists_write_them() -> None:
    assert gpu_card("A100-SXM4-80GB").name == "A100-80GB"
    assert gpu_card("v100m16").name == "V100-16GB"
    assert gpu_card(" H800 ").name == "H800-80GB"
    with pytest.raises(LlmError, match="GPU G2: not a GPU model schedlab has a card for"):
        gpu_card("G2")
    with pytest.raises(LlmError, match="--model llama-9: not a model schedlab knows"):
        model_card("llama-9")


def test_decode_alone_is_bound_by_reading_the_weights() -> None:
    m, g = model_card("llama-2-7b"), gpu_card("A100-80GB")
    e = Efficiency()
    d = Deployment(m, g, 1, e)
    context = 1000
    b, h, kv = 2, 4096, 4096
    weights = m.layers * m.layer_params * b / (g.bandwidth * e.memory)
    io = m.layers * (2 * h + 2 * kv + 2 * h + h + 2 * m.mlp + m.mlp + h) * b / (g.bandwidth * e.memory)
    attention = m.layers * (2 * kv * context + 2 * h) * b / (g.bandwidth * e.memory)
    head = (m.vocab * h * b + h * b + m.vocab * 4) / (g.bandwidth * e.memory)
    expected = (e.launch_s + e.scheduler_s) + weights + io + attention + head
    assert d.decode_time(1, context) == pytest.approx(expected, rel=1e-12)
    assert 0.010 < expected < 0.011  # 13.5 GB at 1.63 TB/s (8.3 ms), plus 2 ms


def test_long_prefill_is_bound_by_compute_and_tensor_parallel_adds_all_reduces() -> None:
    m, g, e = model_card("llama-3-8b"), gpu_card("H100"), Efficiency()
    p = 4096
    flop_s = g.flops * e.compute
    linear = m.layers * 2 * m.layer_params * p / flop_s
    attention = m.layers * 4 * m.hidden * (p * (p + 1) / 2) / flop_s
    head = 2 * m.hidden * m.vocab / flop_s
    head = max(head, (m.vocab * m.hidden * 2 + m.hidden * 2 + m.vocab * 4) / (g.bandwidth * e.memory))
    one = Deployment(m, g, 1, e).prefill_time(p)
    assert one == pytest.approx((e.launch_s + e.scheduler_s) + linear + attention + head, rel=1e-12)
    two = Deployment(m, g, 2, e).prefill_time(p)
    ring = m.layers * 2 * (2 * (1 / 2) * m.hidden * 2 * p / g.link + e.allreduce_latency_s)
    head_half = (m.vocab * m.hidden * 2 / 2 + m.hidden * 2 + m.vocab * 4 / 2) / (g.bandwidth * e.memory)
    assert two == pytest.approx(
        (e.launch_s + e.scheduler_s) + (linear + attention) / 2 + head_half + ring, rel=1e-9
    )


def test_kv_blocks_beside_the_weights() -> None:
    m, g = model_card("llama-2-7b"), gpu_card("A100-80GB")
    d = Deployment(m, g, 1)
    reserve = 2**30 + 8192 * (4 * 4096 + 2 * 11008) * 2
    free = 80e9 * 0.9 - m.weight_bytes - reserve
    assert d.kv_blocks(16, 8192) == math.floor(free / (16 * 2 * 32 * 4096 * 2))
    # Llama-2-70B has 8 KV heads: over 8 GPUs each holds one; over 16, a copy each.
    assert Deployment(model_card("llama-2-70b"), g, 8).kv_dim_per_gpu == 128
    assert Deployment(model_card("llama-2-70b"), g, 16).kv_dim_per_gpu == 128
    with pytest.raises(
        LlmError, match=r"llama-3-70b on 1 x H100-80GB: 141.1 GB of weights per GPU leave room for 0"
    ):
        Deployment(model_card("llama-3-70b"), gpu_card("H100"), 1).kv_blocks(16, 8192)
