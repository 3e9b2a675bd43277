"""The `slo-aware` policy never creates a co-location that its model predicts to break an
SLO (Hypothesis), packs as FGD otherwise, and the placer's admit step is honoured."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.interference import Sharing, load_profiles, make_model
from schedlab.interference.colocation import SAFE_QUANTILE
from schedlab.metrics.md1 import latency_cdf
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload

PROFILES = load_profiles()
MODEL = make_model("measured", PROFILES)
NODES = Nodes.build([("n0", 64000, 262144, 2, "H100"), ("n1", 64000, 262144, 1, "H100")])
INFER = ["resnet50/1", "bert/1", "vit/8", "gpt2/8", "mobilenet/32"]


def workload(rows: list[tuple[float, float, int, str, float, float]]) -> TimedWorkload:
    """``(arrival, duration, gpu_milli, profile, rate_rps, slo_ms)`` rows (NaN rate: a batch job)."""
    tasks = Tasks.build([(1000, 1000, 1, r[2], "") for r in rows])
    tasks.qos[:] = ["BE" if np.isnan(r[4]) else "LS" for r in rows]  # services may preempt
    return TimedWorkload(
        tasks,
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.full(len(rows), "", dtype=object),
        "test",
        {},
        np.array([r[3] for r in rows], dtype=object),
        np.array([r[4] for r in rows]),
        np.array([r[5] for r in rows]),
    )


def violations(w: TimedWorkload, attempts: object) -> int:
    """Co-locations (from the attempts table) where the model predicts some service on the
    GPU to meet its SLO for less than 99 % of its requests."""
    import pandas as pd

    a = attempts if isinstance(attempts, pd.DataFrame) else pd.DataFrame()
    events = sorted({float(t) for t in pd.concat([a["start"], a["end"]])})
    bad = 0
    for t in events:
        live = a[(a["start"] <= t) & (a["end"] > t)]
        for (_, _mask), group in live.groupby(["node", "gpu_mask"]):
            members = [int(u) for u in group["task"] if w.profile is not None and w.profile[int(u)]]
            if len(members) < 2:
                continue
            slow = MODEL.slowdowns([str(w.profile[u]) for u in members], Sharing())
            for u, s in zip(members, slow, strict=True):
                if w.rate_rps is not None and not np.isnan(w.rate_rps[u]):
                    d = PROFILES.configs[str(w.profile[u])].solo["p50_ms"] * s
                    if latency_cdf(w.rate_rps[u] * d / 1000, d, w.slo_ms[u]) < SAFE_QUANTILE:
                        bad += 1
    return bad


row = st.tuples(
    st.floats(0, 40),
    st.floats(1, 30),
    st.sampled_from([200, 300, 500]),
    st.sampled_from([*INFER, "bert_train/16", "resnet50_train/32"]),
    st.floats(50, 400),
    st.floats(2, 30),
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=14), preemption=st.sampled_from(["none", "ls-over-be"]))
def test_slo_aware_never_creates_a_predicted_violation(
    rows: list[tuple[float, float, int, str, float, float]], preemption: str
) -> None:
    fixed = []
    for arrival, duration, milli, profile, rate, slo in sorted(rows):
        if "_train" in profile:
            fixed.append((arrival, duration, milli, profile, np.nan, np.nan))
        else:  # a service that meets its SLO alone (else it could never start safely)
            d = PROFILES.configs[profile].solo["p50_ms"]
            rate = min(rate, 0.6 * 1000 / d)
            fixed.append((arrival, duration, milli, profile, rate, max(slo, 10 * d)))
    w = workload(fixed)
    config = ReplayConfig(policy="slo-aware", interference="measured", preemption=preemption)
    result = replay(w, NODES, config)
    assert violations(w, result.attempts) == 0
    assert (result.summary["slo_attainment"] is None) == (not w.is_service.any())


def test_slo_aware_is_fgd_without_interference() -> None:
    rows = [(float(i), 20.0, 300, "", np.nan, np.nan) for i in range(12)]
    w = workload(rows)
    w = TimedWorkload(w.tasks, w.arrival, w.duration, w.user, "test")
    a = replay(w, NODES, ReplayConfig(policy="slo-aware", compiled=False))
    b = replay(w, NODES, ReplayConfig(policy="fgd", compiled=False))
    assert a.tasks.equals(b.tasks)


def test_fgd_breaks_an_slo_that_slo_aware_keeps() -> None:
    one_gpu = Nodes.build([("n0", 64000, 262144, 1, "H100")])
    d = PROFILES.configs["gpt2/8"].solo["p50_ms"]
    rate, slo = 0.4 * 1000 / d, 4 * d  # alone: fine; next to another gpt2/8: far too slow
    w = workload([(0.0, 100.0, 300, "gpt2/8", rate, slo), (1.0, 100.0, 300, "gpt2/8", rate, slo)])
    fgd = replay(w, one_gpu, ReplayConfig(policy="fgd", interference="measured"))
    guarded = replay(w, one_gpu, ReplayConfig(policy="slo-aware", interference="measured"))
    assert violations(w, fgd.attempts) > 0 and violations(w, guarded.attempts) == 0
    assert guarded.tasks["start"].tolist() == [0.0, 100.0]  # the second waits for the first
    assert guarded.summary["slo_attainment"] > fgd.summary["slo_attainment"]


def test_a_service_does_not_preempt_its_way_into_an_unsafe_gpu() -> None:
    """Evicting the training job would make room, but the newcomer (a tight SLO) would then
    share the GPU with a service that slows it past its SLO: slo-aware refuses, so nothing
    is evicted and it waits. FGD evicts and breaks the SLO."""
    one_gpu = Nodes.build([("n0", 64000, 262144, 1, "H100")])
    d = PROFILES.configs["gpt2/8"].solo["p50_ms"]
    rate, slo = 0.4 * 1000 / d, 4 * d
    rows = [
        (0.0, 100.0, 300, "resnet50/1", 50.0, 200.0),  # a loose SLO: safe next to training
        (1.0, 50.0, 600, "bert_train/16", np.nan, np.nan),
        (2.0, 100.0, 300, "gpt2/8", rate, slo),
    ]
    w = workload(rows)
    config = ReplayConfig(policy="slo-aware", interference="measured", preemption="ls-over-be")
    result = replay(w, one_gpu, config)
    assert result.summary["preemptions"] == 0 and violations(w, result.attempts) == 0
    assert result.tasks["start"].tolist() == [0.0, 1.0, 100.0]  # it waits for the first service
    fgd = replay(w, one_gpu, ReplayConfig(policy="fgd", interference="measured", preemption="ls-over-be"))
    assert fgd.summary["preemptions"] == 1 and violations(w, fgd.attempts) > 0
