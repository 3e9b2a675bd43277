"""The replica simulator's rules on hand-built timelines (every iteration takes 1 s), the
simulator against the roofline alone, and invariants over random traces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.arrays import FloatArray
from schedlab.llm.cards import gpu_card, model_card
from schedlab.llm.requests import LlmRequests
from schedlab.llm.roofline import Deployment
from schedlab.llm.serving import Batching, Slo, serve


@dataclass(frozen=True)
class OneSecond(Deployment):
    """Every iteration takes 1 s; ``blocks`` KV-cache blocks."""

    blocks: int = 1000

    def coefficients(self) -> FloatArray:
        coef = np.zeros(15)
        coef[14] = 1.0
        return coef

    def kv_blocks(self, block_size: int, max_batch_tokens: int, memory_fraction: float = 0.9) -> int:
        return self.blocks


def fixed(blocks: int = 1000) -> OneSecond:
    return OneSecond(model_card("llama-3-8b"), gpu_card("H100"), 1, blocks=blocks)


def requests(*rows: tuple[float, int, int]) -> LlmRequests:
    a = np.array(rows, dtype=np.float64)
    return LlmRequests(a[:, 0], a[:, 1].astype(np.int64), a[:, 2].astype(np.int64), "test")


def gaps_of(served, i: int) -> list[float]:  # type: ignore[no-untyped-def]
    offsets = np.concatenate(([0], np.cumsum(served.requests.output - 1)))
    return served.gaps[offsets[i] : offsets[i + 1]].tolist()


def test_without_chunking_a_prefill_runs_alone_and_stalls_the_decodes() -> None:
    s = serve(requests((0.0, 10, 3), (0.5, 10, 2)), fixed(), 1, Batching(chunked=False))
    # [0,1] prefill r0; [1,2] prefill r1 (r0 waits); [2,3] decode both (r1 done); [3,4] r0.
    assert s.ttft.tolist() == [1.0, 1.5]
    assert s.e2e.tolist() == [4.0, 2.5]
    assert gaps_of(s, 0) == [2.0, 1.0] and gaps_of(s, 1) == [1.0]
    assert s.iterations.tolist() == [4]


def test_chunked_prefill_splits_prompts_and_batches_them_with_decodes() -> None:
    s = serve(
        requests((0.0, 10, 2), (0.5, 4, 1)), fixed(), 1, Batching(max_seqs=2, max_tokens=8, chunked=True)
    )
    # [0,1] r0's first 8 tokens; [1,2] r0's last 2 and all of r1 (its one token: done);
    # [2,3] r0 decodes its second token.
    assert s.ttft.tolist() == [2.0, 1.5]
    assert s.e2e.tolist() == [3.0, 1.5]
    assert gaps_of(s, 0) == [1.0]


def test_out_of_blocks_the_latest_admitted_is_preempted_and_recomputed() -> None:
    # 4 blocks of 4 tokens: two requests of prompt 4 fill them by their 5th token.
    s = serve(requests((0.0, 4, 6), (0.0, 4, 6)), fixed(blocks=4), 1, Batching(block_size=4, watermark=0.0))
    # [0,1] both prefill; decodes to t=5; at t=5 r0's 9th token needs a third block: r1 is
    # preempted; r0 finishes at 6, r1 re-prefills its 9 tokens in [6,7] and finishes.
    assert s.preempted.tolist() == [0, 1]
    assert s.e2e.tolist() == [6.0, 7.0]
    assert gaps_of(s, 0) == [1.0] * 5
    assert gaps_of(s, 1) == [1.0, 1.0, 1.0, 1.0, 2.0]
    assert s.kv_peak.tolist() == [1.0]


def test_requests_go_to_the_replica_with_the_fewest_outstanding() -> None:
    s = serve(requests((0.0, 8, 50), (0.1, 8, 50), (0.2, 8, 50), (0.3, 8, 1)), fixed(), 2)
    assert s.replica.tolist() == [0, 1, 0, 1]


def test_requests_longer_than_the_context_or_cache_are_left_out() -> None:
    s = serve(requests((0.0, 300, 100), (1.0, 100, 10), (2.0, 200, 8000)), fixed(blocks=20), 1)
    # r0: 400 tokens, more than 20 blocks of 16 hold; r2: 8,200, over Llama-3's 8,192 context.
    assert s.rejected.tolist() == [0, 2]
    assert np.isnan(s.ttft[[0, 2]]).all() and s.ttft[1] == 1.0


def test_alone_each_request_sees_the_roofline_exactly() -> None:
    d = Deployment(model_card("llama-2-7b"), gpu_card("A100-80GB"), 1)
    trace = requests((0.0, 1000, 4), (100.0, 37, 3), (200.0, 3000, 2))
    s = serve(trace, d, 1)
    # (equal up to the rounding of times like 100 + 0.0102 - 100)
    exact = pytest.approx([d.prefill_time(1000), d.prefill_time(37), d.prefill_time(3000)], rel=1e-12)
    assert s.ttft.tolist() == exact
    assert gaps_of(s, 0) == pytest.approx([d.decode_time(1, c) for c in (1001, 1002, 1003)], rel=1e-12)
    assert gaps_of(s, 2) == pytest.approx([d.decode_time(1, 3001)], rel=1e-12)


def test_slo_met_at_a_percentile() -> None:
    s = serve(requests(*[(10.0 * i, 10, 3) for i in range(100)]), fixed(), 1)
    assert s.meets(Slo(ttft=1.0, tbt=1.0)) and not s.meets(Slo(ttft=0.99, tbt=1.0))
    assert s.attainment(Slo(ttft=1.0, tbt=1.0)) == 1.0


@st.composite
def traces(draw: st.DrawFn) -> tuple[LlmRequests, Batching, int, int]:
    n = draw(st.integers(1, 40))
    gaps = draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 2.5]), min_size=n, max_size=n))
    prompt = draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    chunked = draw(st.booleans())
    seqs = draw(st.integers(1, 6))
    batching = Batching(
        max_seqs=seqs,
        max_tokens=draw(st.integers(seqs, 80)),
        block_size=draw(st.sampled_from([1, 4, 16])),
        chunked=chunked,
        watermark=0.0,
    )
    trace = LlmRequests(np.cumsum(gaps), np.array(prompt), np.array(output), "h")
    return trace, batching, draw(st.integers(1, 3)), draw(st.integers(2, 40))


@settings(max_examples=300, deadline=None)
@given(traces())
def test_every_request_that_fits_is_served_in_order_of_its_tokens(
    case: tuple[LlmRequests, Batching, int, int],
) -> None:
    trace, batching, replicas, blocks = case
    s = serve(trace, fixed(blocks), replicas, batching)
    served = ~np.isin(np.arange(len(trace)), s.rejected)
    need = -(-(trace.prompt + trace.output) // batching.block_size)
    assert (served == (need <= blocks)).all()
    eps = 1e-9  # times like 1.3 + 1 - 1.3
    assert (s.ttft[served] >= 1.0 - eps).all()  # at least one iteration
    assert (s.e2e[served] >= s.ttft[served] + (trace.output[served] - 1) - eps).all()
    assert (s.gaps >= 1.0 - eps).all() and len(s.gaps) == int((trace.output[served] - 1).sum())
    assert (s.kv_peak <= 1.0).all() and (s.kv_use <= 1.0).all()
    assert (s.replica[served] >= 0).all() and (s.replica[served] < replicas).all()


@pytest.mark.parametrize("chunked", [False, True])
def test_compiled_and_plain_python_agree(tmp_path: Path, chunked: bool) -> None:
    """The kernels run as plain Python when numba is off (SCHEDLAB_JIT=0): same results."""
    script = (
        "import json, sys, numpy as np\n"
        "from schedlab.llm.cards import gpu_card, model_card\n"
        "from schedlab.llm.requests import LlmRequests\n"
        "from schedlab.llm.roofline import Deployment\n"
        "from schedlab.llm.serving import Batching, serve\n"
        "rng = np.random.default_rng(7)\n"
        "n = 300\n"
        "times = np.cumsum(rng.exponential(0.05, n))\n"
        "t = LlmRequests(times, rng.integers(1, 3000, n), rng.integers(1, 400, n), 'r')\n"
        "d = Deployment(model_card('llama-2-13b'), gpu_card('A100-40GB'), 1)\n"
        f"s = serve(t, d, 2, Batching(max_seqs=64, max_tokens=4096, chunked={chunked}))\n"
        "print(json.dumps({'ttft': s.ttft.tolist(), 'e2e': s.e2e.tolist(), 'gaps': s.gaps.tolist(),\n"
        "  'pre': s.preempted.tolist(), 'kv': s.kv_use.tolist(), 'rep': s.replica.tolist()}))\n"
    )
    runs = []
    for jit in ("1", "0"):
        env = os.environ | {"SCHEDLAB_JIT": jit}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1]
    assert sum(runs[0]["pre"]) > 0  # the cache ran out: preemption is covered
