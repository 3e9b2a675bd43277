"""Kueue's fair sharing: shares as Kueue computes them, admission by lowest share, and
preemption by the fair-sharing strategies, on hand-computed cohorts; the Configuration
document read and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlab.errors import ConfigError
from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.assign import admit, assign
from schedlab.kueue.fairness import share
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.quota import QuotaTree

FLAVOR = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n---\n"
FAIR = "apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\nfairSharing: {enable: true}\n---\n"


def config(folder: Path, fair: str, *queues: tuple[str, int, str]) -> KueueConfig:
    """ClusterQueues ``(name, nominal CPUs, extra spec lines)`` in one cohort."""
    docs = [
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: {name}}}\nspec:\n"
        f"  cohort: all\n{extra}"
        "  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
        f"    - name: default\n      resources: [{{name: cpu, nominalQuota: {cpu}}}]\n"
        for name, cpu, extra in queues
    ]
    path = folder / "k.yaml"
    path.write_text(fair + FLAVOR + "---\n".join(docs))
    return load_config([path])


def job(queue: str, cpu: int, arrival: float, duration: float, priority: int = 0) -> Workload:
    return Workload(queue, priority, arrival, duration, {"cpu": cpu * 1000})


def test_the_share_is_what_a_queue_borrows_over_what_it_could_use_by_its_weight(tmp_path: Path) -> None:
    c = config(tmp_path, FAIR, ("a", 2, "  fairSharing: {weight: 2}\n"), ("b", 2, ""), ("c", 12, ""))
    tree = QuotaTree.build(c)
    for q, cpu in (("a", 6), ("b", 2)):
        admit(tree, q, assign(tree, c, q, {"cpu": cpu * 1000}), {"cpu": cpu * 1000})  # type: ignore[arg-type]
    k = tree.column("default", "cpu")
    # a borrows 4 of the 16 CPUs it could use: 4 x 1000 / 16 = 250, / weight 2 = 125
    assert share(tree, c, "a") == 125 and share(tree, c, "b") == 0
    assert share(tree, c, "b", {k: 6000}) == 6000 * 1000 // 16000  # 375 with 6 more
    assert share(tree, c, "a", {k: 2000}, -1) == 2000 * 1000 // 16000 * 1000 // 2000


def test_admission_goes_to_the_queue_with_the_lowest_share(tmp_path: Path) -> None:
    jobs = [job("a", 6, 0, 100), job("b", 2, 0, 100), job("a", 6, 1, 10), job("b", 6, 1, 10)]
    queues = [("a", 2, ""), ("b", 2, ""), ("c", 12, "")]
    # 8 CPUs left at 1 s, room for one of the two 6-CPU jobs
    plain = replay(config(tmp_path, "", *queues), jobs)
    assert plain.admitted[2:] == [1.0, 11.0]  # without fair sharing: input order
    fair = replay(config(tmp_path, FAIR, *queues), jobs)
    assert fair.admitted[2:] == [11.0, 1.0]  # a would have share 625 with it, b 375
    weighted = [("a", 2, "  fairSharing: {weight: 2}\n"), ("b", 2, ""), ("c", 12, "")]
    assert replay(config(tmp_path, FAIR, *weighted), jobs).admitted[2:] == [1.0, 11.0]  # 312 < 375


def test_preemption_by_the_fair_sharing_strategies(tmp_path: Path) -> None:
    """a and b have 4 CPUs each; a takes all 8 with four 2-CPU jobs (share 500)."""
    reclaim = "  preemption: {reclaimWithinCohort: Any}\n"
    c = config(tmp_path, FAIR, ("a", 4, ""), ("b", 4, reclaim))
    jobs = [job("a", 2, 0, 100) for _ in range(4)]
    # b's 4 CPUs: a0 (a's share 500 -> 250 >= b's 0) then a1 (-> 0 >= 0) go
    out = replay(c, [*jobs, job("b", 4, 1, 10)])
    assert sorted(out.evictions) == [(1.0, 0, 4, "InCohortFairSharing"), (1.0, 1, 4, "InCohortFairSharing")]
    assert out.admitted[4] == 1.0
    # b's 6 CPUs would leave b borrowing 2 (share 250): a0 goes (250 <= 250), then no other
    # candidate keeps a at or above b's share, nor was a's share above it: nothing is evicted
    out = replay(c, [*jobs, job("b", 6, 1, 10)])
    assert not out.evictions and out.admitted[4] == 100.0
    # classic preemption: 6 > b's nominal 4 is no preemption mode at all; 4 reclaims the same two
    classic = config(tmp_path, "", ("a", 4, ""), ("b", 4, reclaim))
    assert replay(classic, [*jobs, job("b", 6, 1, 10)]).admitted[4] == 100.0
    out = replay(classic, [*jobs, job("b", 4, 1, 10)])
    assert sorted(out.evictions) == [(1.0, 0, 4, "InCohortReclamation"), (1.0, 1, 4, "InCohortReclamation")]


def test_the_configuration_document(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    one = FAIR.replace("{enable: true}", "{enable: true, preemptionStrategies: [LessThanInitialShare]}")
    c = config(tmp_path, one, ("a", 1, ""))
    assert c.fair_sharing == ("LessThanInitialShare",)
    assert config(tmp_path, FAIR, ("a", 1, "")).fair_sharing == (
        "LessThanOrEqualToFinalShare",
        "LessThanInitialShare",
    )
    off = FAIR.replace("true", "false").replace("---\n", "waitForPodsReady: {enable: true}\n---\n")
    assert config(tmp_path, off, ("a", 1, "")).fair_sharing is None
    assert "waitForPodsReady: not modelled" in caplog.text
    bad = FAIR.replace("{enable: true}", "{enable: true, preemptionStrategies: [Fairest]}")
    with pytest.raises(
        ConfigError, match=r"document 1 \(Configuration\): fairSharing.preemptionStrategies: 'Fairest'"
    ):
        config(tmp_path, bad, ("a", 1, ""))
