"""Every replay feature runs compiled and equals the pure-Python reference: tasks, attempts,
series, fragmentation samples and summary, for each feature alone and for random
combinations (Hypothesis): gangs, anti-affinity, node events, the starvation guard, drf
with quotas, nodes of up to 64 GPUs, services with interference, slo-aware and
defragmentation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab import jit
from schedlab.interference import load_profiles
from schedlab.metrics.md1 import latency_quantile
from schedlab.sim import ReplayConfig, replay
from schedlab.sim.nodes import NodeEvent
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.sim.test_compiled import same

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not available")

PROFILES = load_profiles()
INFER = ["resnet50/1", "bert/1", "vit/8", "gpt2/8", "mobilenet/32"]
TRAIN = ["resnet50_train/32", "bert_train/16"]
FEATURES = ("gangs", "spread", "events", "guard", "drf", "wide", "services", "slo", "defrag")
#: Features the guard cannot run with (their run times change as they run).
NOT_WITH_GUARD = {"services", "slo"}
#: Nor defragmentation (which needs fixed run times).
NOT_WITH_DEFRAG = {"services", "slo"}

SHAPES = [(0, 0), (1, 200), (1, 300), (1, 500), (1, 1000), (2, 1000), (4, 1000)]


@st.composite
def scenario(draw: st.DrawFn, features: frozenset[str]) -> tuple[TimedWorkload, Nodes, ReplayConfig, list]:
    wide = "wide" in features
    gpus = [0, 1, 2, 4, 8] + ([16, 33, 64] if wide else [])
    if "defrag" in features:  # GPUs shared by a few tasks, tasks of two GPUs: room for moves
        gpus = [2, 4, *gpus[4:]]
    nodes = draw(
        st.lists(
            st.tuples(
                st.sampled_from([8000, 16000, 64000]), st.sampled_from(gpus), st.sampled_from(["T4", "A10"])
            ),
            min_size=1,
            max_size=5,
        )
    )
    cluster = Nodes.build([(f"n{i}", cpu, 131072, g, m) for i, (cpu, g, m) in enumerate(nodes)])
    shapes = SHAPES + ([(16, 1000), (64, 1000), (1, 100)] if wide else [])
    if "defrag" in features:
        shapes = [(1, 300), (1, 500), (1, 500), (1, 1000), (2, 1000), *shapes[7:]]
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(
                    0, 10 if "defrag" in features else 40
                ),  # arrival (coarse: times tie; dense: moves)
                st.sampled_from([1.0, 2.5, 4.0, 7.0, 10.0, 30.0]),
                st.sampled_from(shapes),
                st.sampled_from([1000, 2000, 8000]),
                st.sampled_from(["LS", "BE"]),
                st.sampled_from(["u1", "u2", "u3"]),
                st.sampled_from([1, 1, 1, 2, 3]) if "gangs" in features else st.just(1),
                st.sampled_from([-1, 1, 2]) if "spread" in features else st.just(-1),
            ),
            min_size=1,
            max_size=30,
        )
    )
    rows.sort(key=lambda r: r[0])
    expanded = [(r, g) for g, r in enumerate(rows) for _ in range(r[6])]
    tasks = Tasks.build([(r[3], 4000, k, m, "") for r, _ in expanded for k, m in [r[2]]])
    tasks = replace(tasks, qos=np.array([r[4] for r, _ in expanded], dtype=object))
    gang = np.array([g if r[6] > 1 else -1 for r, g in expanded], dtype=np.int64)
    spread = np.array([r[7] for r, _ in expanded], dtype=np.int64)
    profile = rate = slo = None
    if features & {"services", "slo"}:
        profile = np.full(len(expanded), "", dtype=object)
        rate, slo = np.full(len(expanded), np.nan), np.full(len(expanded), np.nan)
        for i, (r, _) in enumerate(expanded):
            k, milli = r[2]
            if k == 1 and milli < 1000 and draw(st.booleans()):
                if r[4] == "LS":
                    name = draw(st.sampled_from(INFER))
                    solo = PROFILES.configs[name].solo["p50_ms"]
                    busy = draw(st.sampled_from([0.2, 0.4, 0.6]))
                    profile[i], rate[i] = name, busy / (solo / 1000.0)
                    slo[i] = draw(st.sampled_from([1.2, 2.0, 3.0])) * latency_quantile(busy, solo, 0.999)
                else:
                    profile[i] = draw(st.sampled_from(TRAIN))
    workload = TimedWorkload(
        tasks,
        np.array([float(r[0]) for r, _ in expanded]),
        np.array([r[1] for r, _ in expanded]),
        np.array([r[5] for r, _ in expanded], dtype=object),
        "hypothesis",
        {},
        profile,
        rate,
        slo,
        gang=gang if "gangs" in features else None,
        max_per_node=spread if "spread" in features else None,
    )
    events = []
    if "events" in features:
        for time, node, kind in draw(
            st.lists(
                st.tuples(st.integers(0, 50), st.integers(0, len(nodes) - 1), st.integers(0, 3)), max_size=8
            )
        ):
            events.append(NodeEvent(float(time), node, kind))
        events.sort(key=lambda e: e.time)
    preempt = draw(st.booleans())
    config = ReplayConfig(
        policy="slo-aware"
        if "slo" in features
        else draw(st.sampled_from(["bestfit", "fgd", "random", "packing"])),
        queue="drf" if "drf" in features else draw(st.sampled_from(["fifo", "qos", "sjf-est"])),
        admission=draw(st.sampled_from(["backfill", "strict"])),
        preemption="ls-over-be" if preempt else "none",
        victim=draw(st.sampled_from(["least-lost", "newest"])),
        seed=draw(st.integers(0, 2**16)),
        samples=7,
        interference=draw(st.sampled_from(["measured", "groups"]))
        if features & {"services", "slo"}
        else "none",
        reserve_after=draw(st.sampled_from([0.0, 3.0, 12.0])) if "guard" in features else None,
        evict_starved=draw(st.booleans()),
        quotas=(("u1", 2.0), ("u3", 0.5)) if "drf" in features else (),
    )
    if "defrag" in features:
        config = replace(
            config,
            defrag=draw(st.sampled_from(["least-moved", "fgd"])),
            defrag_every=draw(st.sampled_from([1.0, 2.5, 5.0])),
            defrag_moves=draw(st.sampled_from([1, 2, 50])),
            defrag_cost=draw(st.sampled_from([0.0, 0.5, 3.0])),
            defrag_above=draw(st.sampled_from([0.0, 0.0, 20.0, 60.0])),
        )
    return workload, cluster, config, events


def check(case: tuple[TimedWorkload, Nodes, ReplayConfig, list]) -> None:
    workload, cluster, config, events = case
    fast = replay(workload, cluster, replace(config, compiled=True), node_events=events)
    slow = replay(workload, cluster, replace(config, compiled=False), node_events=events)
    assert fast.summary["path"] == "compiled" and slow.summary["path"] == "reference"
    same(fast, slow)


@pytest.mark.parametrize("feature", FEATURES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_each_feature_compiled_equals_reference(feature: str, data: st.DataObject) -> None:
    check(data.draw(scenario(frozenset({feature}))))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), chosen=st.sets(st.sampled_from(FEATURES), min_size=2))
def test_combined_features_compiled_equal_reference(data: st.DataObject, chosen: set[str]) -> None:
    if "defrag" in chosen:
        chosen -= NOT_WITH_DEFRAG
    if "guard" in chosen:
        chosen -= NOT_WITH_GUARD
    check(data.draw(scenario(frozenset(chosen))))
