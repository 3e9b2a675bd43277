"""Inference services: M/D/1 latency, SLO attainment in the replay, and job-CSV checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import TraceError
from schedlab.interference import load_profiles
from schedlab.metrics.md1 import latency_cdf, latency_quantile, mean_latency, wait_cdf
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from schedlab.workload import load_jobs

COLUMNS = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user"
HEADER = COLUMNS + ",profile,rate_rps,slo_ms\n"
ONE_GPU = Nodes.build([("n0", 64000, 262144, 1, "H100")])
SOLO = {name: c.solo["p50_ms"] for name, c in load_profiles().configs.items()}


def lindley_waits(rho: float, n: int, seed: int) -> np.ndarray:
    """Waiting times of n requests of an M/D/1 queue with D = 1 (Lindley's recursion)."""
    gaps = np.random.default_rng(seed).exponential(1 / rho, n)
    waits = np.zeros(n)
    for i in range(1, n):
        waits[i] = max(0.0, waits[i - 1] + 1.0 - gaps[i])
    return waits


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_md1_formula_matches_a_request_level_simulation(rho: float) -> None:
    waits = lindley_waits(rho, 300_000, seed=int(rho * 10))
    for x in (0.5, 1.0, 2.0, 5.0):
        # successive waits are correlated: near saturation a run of 300,000 varies by ~2 %
        assert wait_cdf(rho, x) == pytest.approx((waits <= x).mean(), abs=0.01 if rho < 0.8 else 0.03)
    latency = waits + 1.0
    tolerance = 0.03 if rho < 0.8 else 0.08
    assert mean_latency(rho, 1.0) == pytest.approx(latency.mean(), rel=tolerance)
    for q in (0.5, 0.99) if rho < 0.8 else (0.5,):  # a p99 near saturation needs far more requests
        assert latency_quantile(rho, 1.0, q) == pytest.approx(np.quantile(latency, q), rel=tolerance)


def test_md1_edges() -> None:
    assert wait_cdf(0.5, -0.1) == 0.0 and wait_cdf(0.0, 0.0) == 1.0
    assert wait_cdf(0.5, 0.0) == pytest.approx(0.5)  # P(no wait) = 1 - rho
    assert latency_cdf(1.2, 1.0, 100.0) == 0.0 and latency_quantile(1.0, 1.0, 0.5) == float("inf")


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(HEADER + rows)
    return path


def test_a_service_alone_meets_the_m_d_1_prediction(tmp_path: Path) -> None:
    jobs = load_jobs(write(tmp_path, "s,0,1000,1000,1000,1,300,,LS,u,resnet50/8,300,5\n"))
    summary = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit")).summary
    d = SOLO["resnet50/8"]
    (service,) = summary["services"]
    assert service["requests"] == pytest.approx(300 * 1000)
    assert summary["slo_attainment"] == pytest.approx(latency_cdf(300 * d / 1000, d, 5.0), rel=1e-12)
    assert service["p99_ms"] == pytest.approx(latency_quantile(300 * d / 1000, d, 0.99), rel=1e-6)


def test_requests_while_a_service_waits_miss_their_slo(tmp_path: Path) -> None:
    rows = "b,0,400,1000,1000,1,1000,,BE,u,,,\ns,100,1000,1000,1000,1,300,,LS,u,bert/1,100,10\n"
    summary = replay(load_jobs(write(tmp_path, rows)), ONE_GPU, ReplayConfig(policy="bestfit")).summary
    (service,) = summary["services"]
    assert service["waiting_s"] == pytest.approx(300.0)
    d = SOLO["bert/1"]
    served = latency_cdf(100 * d / 1000, d, 10.0)
    assert summary["slo_attainment"] == pytest.approx(served * 1000 / 1300, rel=1e-9)


def test_interference_lowers_attainment(tmp_path: Path) -> None:
    rows = "s,0,1000,1000,1000,1,300,,LS,u,resnet50/8,300,5\nb,0,1000,1000,1000,1,500,,BE,u,bert_train/16,,\n"
    jobs = load_jobs(write(tmp_path, rows))
    alone = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit")).summary["slo_attainment"]
    shared = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit", interference="measured")).summary
    assert shared["slo_attainment"] < alone


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "s,0,10,1,1,1,300,,LS,u,bert/1,100,\n",
            "3: field 'slo_ms': a service (a row with rate_rps) needs slo_ms",
        ),
        (
            "s,0,10,1,1,1,300,,LS,u,,100,5\n",
            "3: field 'profile': a service (a row with rate_rps) needs a profile",
        ),
        (
            "s,0,10,1,1,1,300,,LS,u,bert/1,,5\n",
            "3: field 'rate_rps': slo_ms without rate_rps: give the service's rate",
        ),
        ("s,0,10,1,1,1,300,,LS,u,bert/1,-1,5\n", "3: field 'rate_rps': must be a positive number: '-1'"),
    ],
)
def test_bad_service_rows(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "ok,0,10,1,1,0,0,,BE,u,,,\n" + row)
    with pytest.raises(TraceError) as err:
        load_jobs(path)
    assert str(err.value) == f"{path}:{message}"


def test_synth_service_mix(tmp_path: Path) -> None:
    from schedlab.interference.mix import with_profiles
    from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks
    from schedlab.workload import from_openb
    from schedlab.workload.synth import synthesize

    trace = from_openb(load_tasks(default_pods_path()))
    nodes = load_nodes(default_nodes_path())
    base = synthesize(trace, nodes, 3000, 0.5, 7, "exp:600")
    mixed = with_profiles(base, load_profiles(), 0.2, 7)
    assert mixed.is_service.sum() == 600
    assert mixed.profile is not None and mixed.rate_rps is not None and mixed.slo_ms is not None
    services = mixed.is_service
    sharing = (base.tasks.num_gpu == 1) & (base.tasks.gpu_milli < 1000)
    assert (sharing[services]).all() and (mixed.profile[sharing & ~services] != "").all()
    assert all(
        str(p).endswith(("/1", "/8", "/32")) and "_train" not in str(p) for p in mixed.profile[services]
    )
    # alone, every service meets its SLO for at least 99.9 % of its requests
    profiles = load_profiles()
    for t in np.flatnonzero(services)[:50]:
        d = profiles.configs[str(mixed.profile[t])].solo["p50_ms"]
        rho = mixed.rate_rps[t] * d / 1000
        assert 0.2 <= rho <= 0.6
        assert latency_cdf(rho, d, mixed.slo_ms[t]) >= 0.999
    again = with_profiles(base, load_profiles(), 0.2, 7)
    assert (again.profile == mixed.profile).all() and np.array_equal(
        again.slo_ms, mixed.slo_ms, equal_nan=True
    )
    path = tmp_path / "mix.csv"
    from schedlab.workload import write_jobs

    write_jobs(mixed, path)
    assert load_jobs(path).is_service.sum() == 600


def test_replay_gives_an_openb_trace_profiles() -> None:
    import json

    from click.testing import CliRunner

    from schedlab.cli import cli

    args = ["replay", "--policy", "bestfit", "--services", "0.3", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["services"]) == round(0.3 * doc["tasks"]) or "services instead of" in result.stderr
    assert doc["slo_attainment"] is not None and doc["config"]["interference"] == "none"


@pytest.mark.parametrize(("rho", "life"), [(0.3, 2000.0), (0.6, 2000.0), (0.9, 4000.0)])
def test_request_level_latency_agrees_with_the_analytic(tmp_path: Path, rho: float, life: float) -> None:
    d = SOLO["resnet50/1"]
    rate = rho * 1000 / d
    jobs = load_jobs(write(tmp_path, f"s,0,{life},1000,1000,1,300,,LS,u,resnet50/1,{rate},{3 * d}\n"))
    analytic = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit")).summary
    exact = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit", requests_exact=True)).summary
    (a,), (e,) = analytic["services"], exact["services"]
    assert e["requests"] == pytest.approx(rate * life, rel=0.01)
    for key in ("p50_ms", "p99_ms"):
        assert e[key] == pytest.approx(a[key], rel=0.03)
    assert a["p99_ms"] == pytest.approx(latency_quantile(rho, d, 0.99), rel=1e-6)  # the M/D/1 formula
    assert exact["slo_attainment"] == pytest.approx(analytic["slo_attainment"], abs=0.01)


def test_request_level_waits_and_eviction_gaps(tmp_path: Path) -> None:
    rows = "b,0,400,1000,1000,1,1000,,BE,u,,,\ns,100,1000,1000,1000,1,300,,LS,u,bert/1,100,10\n"
    jobs = load_jobs(write(tmp_path, rows))
    exact = replay(jobs, ONE_GPU, ReplayConfig(policy="bestfit", requests_exact=True)).summary
    (service,) = exact["services"]
    assert service["waiting_s"] == pytest.approx(300.0)
    d = SOLO["bert/1"]
    assert exact["slo_attainment"] == pytest.approx(
        latency_cdf(100 * d / 1000, d, 10.0) * 1000 / 1300, abs=0.01
    )


def test_an_overloaded_span_leaves_a_backlog_that_the_analytic_latency_carries(tmp_path: Path) -> None:
    """A service at load 0.5 next to a training job that slows it 2.62x (load 1.31) for a
    while: the queue built then drains only after the job leaves. The analytic latency
    (fluid backlog) agrees with the request-level simulation."""
    rate = 0.5 * 1000 / SOLO["resnet50/8"]
    rows = f"s,0,1000,1000,1000,1,300,,LS,u,resnet50/8,{rate},10\n"
    rows += "b,0,60,1000,1000,1,500,,BE,u,resnet50_train/32,,\n"
    jobs = load_jobs(write(tmp_path, rows))
    config = ReplayConfig(policy="bestfit", interference="measured")
    analytic = replay(jobs, ONE_GPU, config).summary
    exact = replay(jobs, ONE_GPU, replace(config, requests_exact=True)).summary
    overloaded = analytic["services"][0]["time_above_slo_s"]
    assert 100 < overloaded < 400  # the job's stretched run, then the drain
    assert 0.6 < exact["slo_attainment"] < 0.95
    assert analytic["slo_attainment"] == pytest.approx(exact["slo_attainment"], abs=0.01)
    for q in ("p50_ms", "p99_ms"):
        assert analytic["services"][0][q] == pytest.approx(exact["services"][0][q], rel=0.05)


def test_replay_writes_one_parquet_row_per_service(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from schedlab.cli import cli
    from schedlab.provenance import read_stamp

    rows = "s,0,100,1000,1000,1,300,,LS,u,resnet50/8,300,5\nb,0,50,1000,1000,1,500,,BE,u,bert_train/16,,\n"
    jobs, nodes = write(tmp_path, rows), tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,1,H100\n")
    out = tmp_path / "out"
    args = ["replay", "--jobs", str(jobs), "--nodes", str(nodes), "--interference", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "services 1: SLO attainment" in result.output and "shared GPU time" in result.output
    import pandas as pd

    table = pd.read_parquet(out / "services.parquet")
    assert table["task"].tolist() == ["s"] and table["config"].tolist() == ["resnet50/8"]
    assert set(table.columns) >= {"requests", "slo_attainment", "p50_ms", "p99_ms", "time_above_slo_s"}
    assert read_stamp(out / "services.parquet")["config"]["interference"] == "groups"  # the default model
