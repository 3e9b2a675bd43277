"""The compiled admission replay gives the reference's outcome: admissions, flavors, runs,
waiting reasons over time and at the end, on random configurations (cohorts nested or not,
borrowing and lending limits, two flavors, both queueing strategies, flavor fungibility)
and random workloads (priorities, ties in time, resources no queue covers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.kueue import compiled
from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.outcome import Outcome

API = "apiVersion: kueue.x-k8s.io/v1beta1\n"
FLAVOR = API + "kind: ResourceFlavor\nmetadata: {{name: {}}}\n"
FLAVORS = FLAVOR.format("a") + "---\n" + FLAVOR.format("b")

Queue = tuple[str, str, str, tuple[tuple[int, int, int | None, int | None], ...]]


def config_of(queues: list[Queue], nested: bool) -> KueueConfig:
    """ClusterQueues (cohort, strategy, whenCanBorrow/whenCanPreempt, per flavor: nominal
    CPUs, GPUs, borrowing and lending limit of GPUs), cohorts under a root when ``nested``."""
    docs = [FLAVORS]
    if nested:
        docs += [API + "kind: Cohort\nmetadata: {name: root}\n"]
        docs += [API + f"kind: Cohort\nmetadata: {{name: {c}}}\nspec: {{parent: root}}\n" for c in "xy"]
    for q, (cohort, strategy, fungible, quotas) in enumerate(queues):
        borrow, preempt = fungible.split("/")
        flavors = ""
        for (cpu, gpu, limit, lend), name in zip(quotas, "ab", strict=False):
            extra = "" if not cohort or limit is None else f", borrowingLimit: {limit}"
            extra += "" if not cohort or lend is None or lend > gpu else f", lendingLimit: {lend}"
            flavors += (
                f"    - name: {name}\n      resources:\n      - {{name: cpu, nominalQuota: {cpu}}}\n"
                f"      - {{name: nvidia.com/gpu, nominalQuota: {gpu}{extra}}}\n"
            )
        docs.append(
            API
            + f"kind: ClusterQueue\nmetadata: {{name: q{q}}}\nspec:\n"
            + (f"  cohort: {cohort}\n" if cohort else "")
            + f"  queueingStrategy: {strategy}\n"
            + f"  flavorFungibility: {{whenCanBorrow: {borrow}, whenCanPreempt: {preempt}}}\n"
            + f"  resourceGroups:\n  - coveredResources: [cpu, nvidia.com/gpu]\n    flavors:\n{flavors}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.yaml"
        path.write_text("---\n".join(docs))
        return load_config([path])


limit = st.none() | st.integers(0, 3)
quotas = st.tuples(st.integers(0, 6), st.integers(0, 4), limit, limit)
queues = st.lists(
    st.tuples(
        st.sampled_from(["", "x", "y"]),
        st.sampled_from(["BestEffortFIFO", "StrictFIFO"]),
        st.sampled_from(["Borrow/TryNextFlavor", "TryNextFlavor/TryNextFlavor", "Borrow/Preempt"]),
        st.lists(quotas, min_size=1, max_size=2).map(tuple),
    ),
    min_size=1,
    max_size=4,
)
jobs = st.lists(
    st.tuples(
        st.integers(0, 3),  # queue (modulo the queues)
        st.integers(0, 7),  # CPUs
        st.integers(0, 5),  # GPUs
        st.integers(0, 12),  # arrival (ties)
        st.integers(0, 20),  # run time (0: ends at once)
        st.integers(0, 2),  # priority
        st.booleans(),  # asks for memory, which no queue covers
    ),
    max_size=40,
)


def same(a: Outcome, b: Outcome) -> None:
    for name in ("admitted", "flavors", "runs", "waiting", "pending", "evictions"):
        assert getattr(a, name) == getattr(b, name), name


@settings(max_examples=300, deadline=None)
@given(queues=queues, jobs=jobs, nested=st.booleans())
def test_the_compiled_replay_gives_the_reference_outcome(
    queues: list[Queue], jobs: list[tuple[int, ...]], nested: bool
) -> None:
    config = config_of(queues, nested)
    workloads = []
    for q, cpu, gpu, arrival, duration, priority, memory in jobs:
        requests = {"cpu": cpu * 1000, "nvidia.com/gpu": gpu} | ({"memory": 1} if memory and cpu == 7 else {})
        workloads.append(Workload(f"q{q % len(queues)}", priority, float(arrival), float(duration), requests))
    if not workloads:
        return
    same(replay(config, workloads, compiled=True), replay(config, workloads, compiled=False))


def test_a_run_with_more_moments_than_room_is_replayed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "SAMPLES", 0)  # room for 16 samples
    config = config_of([("", "BestEffortFIFO", "Borrow/TryNextFlavor", ((4, 1, None, None),))], False)
    workloads = [Workload("q0", 0, float(t), 3.0, {"cpu": 1000, "nvidia.com/gpu": 1}) for t in range(40)]
    out = replay(config, workloads, compiled=True)
    assert len(out.waiting) > 16
    same(out, replay(config, workloads, compiled=False))


def test_configurations_the_kernel_does_not_model_run_the_reference(caplog: pytest.LogCaptureFixture) -> None:
    path = Path(tempfile.mkdtemp()) / "k.yaml"
    path.write_text(
        FLAVOR.format("a") + "---\n" + API + "kind: ClusterQueue\nmetadata: {name: q}\nspec:\n"
        "  preemption: {withinClusterQueue: LowerPriority}\n  resourceGroups:\n"
        "  - coveredResources: [cpu]\n    flavors:\n    - name: a\n"
        "      resources: [{name: cpu, nominalQuota: 1}]\n"
    )
    config = load_config([path])
    workloads = [Workload("q", 0, 0.0, 5.0, {"cpu": 1000}), Workload("q", 1, 1.0, 5.0, {"cpu": 1000})]
    out = replay(config, workloads, compiled=True)
    assert out.admitted == [0.0, 1.0]  # preempted by the higher priority: the reference ran
    assert "does not model preemption (ClusterQueue q)" in caplog.text
