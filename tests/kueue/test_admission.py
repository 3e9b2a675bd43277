"""Kueue's admission over time, quota only: queueing strategies, priorities, borrowing idle
quota, and invariants over random workloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.kueue.admission import Workload, replay
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig

FLAVOR = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n---\n"


def config(tmp_path: Path, *queues: tuple[str, int, str, str]) -> KueueConfig:
    docs = [
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: {name}}}\nspec:\n"
        + (f"  cohort: {cohort}\n" if cohort else "")
        + f"  queueingStrategy: {strategy}\n"
        + "  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
        + f"    - name: default\n      resources: [{{name: cpu, nominalQuota: {cpu}}}]\n"
        for name, cpu, cohort, strategy in queues
    ]
    path = tmp_path / "k.yaml"
    path.write_text(FLAVOR + "---\n".join(docs))
    return load_config([path])


def job(queue: str, cpu: int, arrival: float, duration: float, priority: int = 0) -> Workload:
    return Workload(queue, priority, arrival, duration, {"cpu": cpu * 1000})


def test_a_strict_fifo_head_that_does_not_fit_blocks_its_queue_best_effort_does_not(tmp_path: Path) -> None:
    for strategy, second in (("StrictFIFO", 10.0), ("BestEffortFIFO", 1.0)):
        c = config(tmp_path, ("a", 4, "", strategy))
        jobs = [job("a", 3, 0, 10), job("a", 3, 1, 5), job("a", 1, 1, 5)]
        out = replay(c, jobs)
        # the 1-CPU job fits beside the first at once only if the 3-CPU head does not block it
        assert out.admitted == ([0.0, 10.0, 10.0] if strategy == "StrictFIFO" else [0.0, 10.0, second])


def test_higher_priority_goes_first_when_quota_frees(tmp_path: Path) -> None:
    c = config(tmp_path, ("a", 4, "", "BestEffortFIFO"))
    out = replay(c, [job("a", 4, 0, 10), job("a", 4, 1, 5, priority=0), job("a", 4, 2, 5, priority=100)])
    assert out.admitted == [0.0, 15.0, 10.0]


def test_a_queue_borrows_idle_quota_and_the_lender_waits_without_preemption(tmp_path: Path) -> None:
    c = config(tmp_path, ("a", 9, "shared", "BestEffortFIFO"), ("b", 12, "shared", "BestEffortFIFO"))
    out = replay(c, [job("a", 21, 0, 100), job("b", 12, 5, 10), job("a", 1, 6, 1)])
    assert out.admitted == [0.0, 100.0, 100.0]  # b waits for its own quota: nothing preempts a yet
    assert out.flavors[0] == (("cpu", "default"),)
    never = replay(c, [job("a", 22, 0, 1)])
    assert never.admitted == [None]
    assert never.pending == {0: "flavor default: cpu 22 is more than the 21 this queue can ever use"}


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.integers(1, 12),
            st.integers(0, 50),
            st.integers(1, 30),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_every_job_that_can_fit_is_admitted_never_before_it_arrives_nor_beyond_quota(
    jobs: list[tuple[str, int, int, int, int]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        c = config(
            Path(tmp),
            ("a", 6, "x", "BestEffortFIFO"),
            ("b", 4, "x", "BestEffortFIFO"),
            ("c", 5, "", "BestEffortFIFO"),
        )
    work = [job(q, cpu, t, d, p) for q, cpu, t, d, p in jobs]
    out = replay(c, work)
    ever = {"a": 10, "b": 10, "c": 5}
    for w, at in zip(work, out.admitted, strict=True):
        assert (at is not None) == (w.requests["cpu"] <= ever[w.queue] * 1000)
        assert at is None or at >= w.arrival
    # at every admission time, what runs fits the quotas: cohort x holds 10, c holds 5
    times = sorted({at for at in out.admitted if at is not None})
    for t in times:
        running = [
            w
            for w, at in zip(work, out.admitted, strict=True)
            if at is not None and at <= t < at + w.duration
        ]
        assert sum(w.requests["cpu"] for w in running if w.queue in "ab") <= 10_000
        assert sum(w.requests["cpu"] for w in running if w.queue == "c") <= 5_000


def test_waiting_workloads_are_counted_by_reason_over_time(tmp_path: Path) -> None:
    from schedlab.kueue.report import summary
    from schedlab.kueue.workloads import Workloads

    c = config(tmp_path, ("a", 4, "", "StrictFIFO"))
    # 0-10: j0 holds the 4 CPUs; from 1, j1 (4 CPUs) waits for quota and j2 (1 CPU) behind it;
    # at 10 j1 starts and j2 waits for quota until 20.
    jobs = [job("a", 4, 0, 10), job("a", 4, 1, 10), job("a", 1, 1, 5)]
    out = replay(c, jobs)
    assert out.admitted == [0.0, 10.0, 20.0]
    short, blocked = "insufficient quota now", "blocked by its queue's head (StrictFIFO)"
    assert out.waiting == [
        (0.0, {"a": {}}),
        (1.0, {"a": {short: 1, blocked: 1}}),
        (10.0, {"a": {short: 1}}),
        (20.0, {"a": {}}),
        (25.0, {"a": {}}),
    ]
    found = Workloads(jobs, np.arange(3), np.ones(3, dtype=np.int64), [], 0, ("cpu",))  # no LocalQueues
    waiting = summary(c, found, out)["waiting_over_time"]
    # time-weighted over 0-25 s: quota short 1-20 s (19 s), blocked 1-10 s (9 s)
    assert waiting["mean"]["a"] == {short: 19 / 25, blocked: 9 / 25}
