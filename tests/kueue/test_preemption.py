"""Kueue's classic preemption replayed exactly: within a ClusterQueue (LowerPriority,
LowerOrNewerEqualPriority), reclaiming borrowed quota in the cohort, borrowing while
preempting (with a priority threshold); the targets minimal as Kueue's heuristic makes them;
and invariants over random workloads."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.errors import ConfigError
from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.outcome import Outcome
from schedlab.kueue.quota import QuotaTree

FLAVOR = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n---\n"


def config(folder: Path, *queues: tuple[str, int, str, str], fair: bool = False) -> KueueConfig:
    """ClusterQueues ``(name, nominal CPUs, cohort, preemption as YAML flow or '')``, with
    Kueue's fair sharing or not."""
    docs = [
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: {name}}}\nspec:\n"
        + (f"  cohort: {cohort}\n" if cohort else "")
        + (f"  preemption: {preemption}\n" if preemption else "")
        + "  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
        + f"    - name: default\n      resources: [{{name: cpu, nominalQuota: {cpu}}}]\n"
        for name, cpu, cohort, preemption in queues
    ]
    path = folder / "k.yaml"
    manager = (
        "apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\nfairSharing: {enable: true}\n---\n"
    )
    path.write_text((manager if fair else "") + FLAVOR + "---\n".join(docs))
    return load_config([path])


def job(queue: str, cpu: int, arrival: float, duration: float, priority: int = 0) -> Workload:
    return Workload(queue, priority, arrival, duration, {"cpu": cpu * 1000})


def evicted(out: Outcome) -> list[tuple[float, int, int, str]]:
    return sorted(out.evictions)


def test_a_higher_priority_workload_preempts_within_its_queue_and_the_victim_starts_over(
    tmp_path: Path,
) -> None:
    c = config(tmp_path, ("a", 4, "", "{withinClusterQueue: LowerPriority}"))
    out = replay(c, [job("a", 4, 0, 100), job("a", 4, 10, 30, priority=5)])
    assert out.admitted == [0.0, 10.0]
    assert evicted(out) == [(10.0, 0, 1, "InClusterQueue")]
    # the victim ran 10 s, waits for the preemptor (10..40), then runs its 100 s again
    assert sorted(out.runs) == [
        (0, 0.0, 10.0, (("cpu", "default"),)),
        (0, 40.0, 140.0, (("cpu", "default"),)),
        (1, 10.0, 40.0, (("cpu", "default"),)),
    ]
    never = config(tmp_path, ("a", 4, "", ""))
    assert replay(never, [job("a", 4, 0, 100), job("a", 4, 10, 30, priority=5)]).admitted == [0.0, 100.0]


def test_equal_priority_is_preempted_only_when_newer_and_allowed(tmp_path: Path) -> None:
    # X (priority 5) holds 2 of 4 CPUs; A (4 CPUs) waits; B (2 CPUs, newer than A) slips in.
    jobs = [job("a", 2, 0, 100, priority=5), job("a", 4, 1, 50), job("a", 2, 2, 500)]
    newer = replay(config(tmp_path, ("a", 4, "", "{withinClusterQueue: LowerOrNewerEqualPriority}")), jobs)
    assert newer.admitted == [0.0, 100.0, 2.0]  # at 100 A evicts B, created after it
    assert evicted(newer) == [(100.0, 2, 1, "InClusterQueue")]
    lower = replay(config(tmp_path, ("a", 4, "", "{withinClusterQueue: LowerPriority}")), jobs)
    assert lower.admitted == [0.0, 502.0, 2.0] and not lower.evictions  # A waits for B to end


def test_a_queue_under_its_nominal_quota_reclaims_what_its_cohort_borrowed(tmp_path: Path) -> None:
    """The concepts page's cohort: a (9 CPUs) borrows all of b's 12; b's 12-CPU job comes."""
    jobs = [job("a", 9, 0, 100), job("a", 6, 0, 100), job("a", 6, 0, 100), job("b", 12, 5, 10)]
    c = config(tmp_path, ("a", 9, "shared", ""), ("b", 12, "shared", "{reclaimWithinCohort: Any}"))
    out = replay(c, jobs)
    # Candidates in order (all admitted at 0): 0, 1, 2. Taking 0 (a still borrows 3) and 1
    # frees 15; giving 0 back leaves 6 < 12, so both go: Kueue's greedy heuristic.
    assert evicted(out) == [(5.0, 0, 3, "InCohortReclamation"), (5.0, 1, 3, "InCohortReclamation")]
    assert out.admitted == [0.0, 0.0, 0.0, 5.0]
    lower = config(
        tmp_path, ("a", 9, "shared", ""), ("b", 12, "shared", "{reclaimWithinCohort: LowerPriority}")
    )
    assert replay(lower, jobs).admitted == [0.0, 0.0, 0.0, 100.0]  # a's jobs are not of lower priority
    prio = [job("a", 9, 0, 100), job("a", 6, 0, 100), job("a", 6, 0, 100), job("b", 12, 5, 10, priority=1)]
    assert replay(lower, prio).admitted == [0.0, 0.0, 0.0, 5.0]


def test_borrowing_while_preempting_and_its_priority_threshold(tmp_path: Path) -> None:
    """a, b, c with 4 CPUs each; b borrows 6 with five 2-CPU jobs; a's 6-CPU job needs 2 more
    than its quota: only borrowWithinCohort lets it preempt (the rest is borrowed)."""
    jobs = [job("b", 2, 0, 100) for _ in range(5)] + [job("a", 6, 1, 10, priority=10)]
    queues = [("b", 4, "all", ""), ("c", 4, "all", "")]
    plain = replay(config(tmp_path, ("a", 4, "all", "{reclaimWithinCohort: Any}"), *queues), jobs)
    assert plain.admitted[5] == 100.0 and not plain.evictions  # 6 > nominal 4: no preemption mode
    policy = "{reclaimWithinCohort: Any, borrowWithinCohort: {policy: LowerPriority}}"
    out = replay(config(tmp_path, ("a", 4, "all", policy), *queues), jobs)
    # Taking b's 0 leaves it borrowing 4 (a may use 4); taking 1 too gives a its 6.
    assert evicted(out) == [
        (1.0, 0, 5, "InCohortReclaimWhileBorrowing"),
        (1.0, 1, 5, "InCohortReclaimWhileBorrowing"),
    ]
    assert out.admitted[5] == 1.0
    capped = (
        "{reclaimWithinCohort: Any, borrowWithinCohort: {policy: LowerPriority, maxPriorityThreshold: -1}}"
    )
    out = replay(config(tmp_path, ("a", 4, "all", capped), *queues), jobs)
    assert out.admitted[5] == 100.0 and not out.evictions  # b's jobs are above the threshold: no borrowing


POLICIES = (
    "",
    "{withinClusterQueue: LowerPriority}",
    "{withinClusterQueue: LowerOrNewerEqualPriority, reclaimWithinCohort: Any}",
    "{reclaimWithinCohort: LowerPriority}",
    "{withinClusterQueue: LowerPriority, reclaimWithinCohort: Any,"
    " borrowWithinCohort: {policy: LowerPriority}}",
)


@settings(max_examples=80, deadline=None)
@given(
    policies=st.tuples(*(st.integers(0, len(POLICIES) - 1) for _ in range(3))),
    fair=st.booleans(),
    jobs=st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.integers(1, 12),
            st.integers(0, 40),
            st.integers(1, 30),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_preemption_keeps_quota_policies_and_finishes_every_workload(
    policies: tuple[int, int, int], fair: bool, jobs: list[tuple[str, int, int, int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        queues = [(q, n, "all", POLICIES[p]) for q, n, p in zip("abc", (4, 6, 8), policies, strict=True)]
        c = config(Path(tmp), *queues, fair=fair)
    work = [job(q, cpu, t, d, p) for q, cpu, t, d, p in jobs]
    try:
        out = replay(c, work)
    except ConfigError as err:  # policies that evict each other for ever: Kueue flaps too
        assert "preemption does not settle" in str(err)
        return
    tree = QuotaTree.build(c)
    k = tree.column("default", "cpu")
    for i, w in enumerate(work):  # 18 CPUs in all: every job fits alone, so every one runs to its end
        assert out.admitted[i] is not None and out.admitted[i] >= w.arrival
        runs = sorted(r for r in out.runs if r[0] == i)
        assert runs[-1][2] - runs[-1][1] == w.duration  # the last run is whole: evictions start over
        assert all(b[1] >= a[2] for a, b in itertools.pairwise(runs))
    events = sorted([(s, 1, i) for i, s, _, _ in out.runs] + [(e, 0, i) for i, _, e, _ in out.runs])
    usage = {q: 0 for q in "abc"}
    for _, kind, i in events:  # ends first at a tie: no queue ever beyond what it may use
        usage[work[i].queue] += work[i].requests["cpu"] * (1 if kind else -1)
        for q in "abc":
            assert usage[q] <= tree.potential(tree.index(q), k)
        assert sum(usage.values()) <= 18_000
    for _, victim, preemptor, reason in out.evictions:
        v, p = work[victim], work[preemptor]
        policy = POLICIES[policies["abc".index(p.queue)]]
        if reason == "InClusterQueue":
            assert v.queue == p.queue and "withinClusterQueue" in policy
            assert v.priority < p.priority or (
                "Newer" in policy and v.priority == p.priority and v.arrival > p.arrival
            )
        else:
            assert v.queue != p.queue and "reclaimWithinCohort" in policy
            assert fair or reason != "InCohortFairSharing"
            if "reclaimWithinCohort: LowerPriority" in policy or reason == "InCohortReclaimWhileBorrowing":
                assert v.priority < p.priority


def test_preemption_that_does_not_settle_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schedlab.errors import ConfigError
    from schedlab.kueue import admission

    monkeypatch.setattr(admission, "MAX_EVICTIONS", 0)  # any eviction counts as flapping here
    c = config(tmp_path, ("a", 4, "", "{withinClusterQueue: LowerPriority}"))
    with pytest.raises(
        ConfigError, match=r"preemption does not settle: 1 evictions by t = 10 s \(a evicting a: 1\)"
    ):
        replay(c, [job("a", 4, 0, 100), job("a", 4, 10, 30, priority=5)])
