"""Request traces: the Azure LLM and plain loaders, rate scaling, and replaying them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import TraceError
from schedlab.interference import load_profiles
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from schedlab.workload import load_jobs
from schedlab.workload.requests import load_request_trace, poisson_arrivals
from tests.test_cli import run_cli

AZURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "azure-llm-2023"
COLUMNS = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user"
HEADER = COLUMNS + ",profile,rate_rps,slo_ms\n"
ONE_GPU = Nodes.build([("n0", 64000, 262144, 1, "H100")])


def plain(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "times.txt"
    path.write_text(text)
    return path


def test_a_plain_trace_is_one_time_per_line(tmp_path: Path) -> None:
    trace = load_request_trace(plain(tmp_path, "# seconds\n10.5\n10\n\n11 # late\n12.0\n"))
    assert trace.times.tolist() == [0.0, 0.5, 1.0, 2.0]  # sorted, from the first arrival
    assert trace.period == pytest.approx(2.0 * 4 / 3)  # the span plus one mean gap
    assert trace.rate == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\n2\nsoon\n", r"times.txt:3: field 'time': not a finite number of seconds: 'soon'"),
        ("1\ninf\n", r"times.txt:2: field 'time': not a finite number"),
        ("5\n", "at least 2 arrivals"),
        ("3\n3\n", "no rate"),
        ("", "at least 2 arrivals"),
    ],
)
def test_a_bad_plain_trace_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        load_request_trace(plain(tmp_path, text))


def test_a_bad_azure_timestamp_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "azure.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,1,2\nyesterday,1,2\n"
    )
    with pytest.raises(TraceError, match=r"azure.csv:3: field 'TIMESTAMP': not a date and time: 'yesterday'"):
        load_request_trace(path)
    with pytest.raises(TraceError, match="file not found"):
        load_request_trace(tmp_path / "missing.csv")


def test_azure_timestamps_in_seconds_whatever_their_precision(tmp_path: Path) -> None:
    # pandas reads "04.5" as microseconds and "03.9799600" as nanoseconds: both are seconds here.
    path = tmp_path / "azure.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:04.5,1,2\n2023-11-16 18:17:06,1,2\n"
    )
    assert load_request_trace(path).times.tolist() == [0.0, 1.5]


@pytest.mark.skipif(not AZURE.is_dir(), reason="needs ../shared/data")
def test_the_azure_llm_traces_load() -> None:
    conv = load_request_trace(AZURE / "AzureLLMInferenceTrace_conv.csv")
    # 19,366 and 8,819 rows (../shared/data/README.md says 19,365 and 8,818)
    assert len(conv.times) == 19_366 and conv.times[0] == 0.0 and np.all(np.diff(conv.times) >= 0)
    assert 3000 < conv.period < 4000  # one hour
    code = load_request_trace(AZURE / "AzureLLMInferenceTrace_code.csv")
    assert len(code.times) == 8_819
    gaps = np.diff(code.times)
    assert gaps.std() / gaps.mean() > 1.5  # bursty: far from Poisson's coefficient of variation 1


def test_a_trace_is_replayed_at_the_service_s_rate(tmp_path: Path) -> None:
    trace = load_request_trace(plain(tmp_path, "0\n0.1\n0.15\n0.9\n"))  # period 1.2 s, rate 10/3
    rng = np.random.default_rng(0)
    arrivals = trace.arrivals(40.0, 100.0, 3.0, rng)  # 12x faster: period 0.1 s, 30 cycles
    assert len(arrivals) == 120 and arrivals.min() >= 100.0 and arrivals.max() < 103.0
    gaps = np.diff(arrivals) * 12  # the trace's gaps (0.1, 0.05, 0.75, 0.3 in a cycle), scaled
    assert np.isclose(gaps[:, None], [0.1, 0.05, 0.75, 0.3]).any(axis=1).all()
    assert np.isclose(gaps, 0.75).sum() >= 29
    again = trace.arrivals(40.0, 100.0, 3.0, np.random.default_rng(0))
    assert np.array_equal(arrivals, again)
    assert len(trace.arrivals(0.0, 0.0, 5.0, rng)) == 0
    assert len(poisson_arrivals(40.0, 0.0, 1000.0, rng)) == pytest.approx(40_000, rel=0.02)


def test_evenly_spaced_requests_never_queue(tmp_path: Path) -> None:
    """At 90 % load a service meets a tight SLO with evenly spaced requests (D/D/1: no
    queue) and misses it for a good share of Poisson requests (M/D/1)."""
    d = load_profiles().configs["resnet50/8"].solo["p50_ms"]
    rate = 0.9 * 1000 / d
    times = plain(tmp_path, "\n".join(str(i / 100) for i in range(101)))
    jobs_path = tmp_path / "jobs.csv"
    jobs_path.write_text(HEADER + f"s,0,100,1000,1000,1,300,,LS,u,resnet50/8,{rate},{1.01 * d}\n")
    jobs = load_jobs(jobs_path)
    config = ReplayConfig(policy="bestfit", interference="measured", requests_exact=True)
    from schedlab.interference import make_model

    model = make_model("measured", load_profiles())
    even = replay(jobs, ONE_GPU, config, interference=model, requests=load_request_trace(times)).summary
    poisson = replay(jobs, ONE_GPU, config, interference=model).summary
    assert even["slo_attainment"] == 1.0
    assert even["services"][0]["requests"] == pytest.approx(rate * 100, abs=1)
    assert poisson["slo_attainment"] < 0.3  # P(no wait) = 1 - rho = 0.1, plus short waits


def test_replay_reports_a_bad_request_file_in_one_line(tmp_path: Path) -> None:
    result = run_cli("replay", "--interference", "--requests", str(plain(tmp_path, "1\nx\n")))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("times.txt:2: field 'time': not a finite number of seconds: 'x'")
