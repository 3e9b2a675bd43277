"""Kueue's quota arithmetic: the cohort examples of Kueue's concepts pages (9 + 12 = 21 CPUs,
borrowing and lending limits, a cohort with quota of its own) and invariants of admitting
and freeing whatever fits."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.kueue.objects import ClusterQueue, Cohort, FlavorQuotas, KueueConfig, Quota, ResourceGroup
from schedlab.kueue.quota import QuotaTree, units


def group(cpu: int, borrow: int | None = None, lend: int | None = None) -> tuple[ResourceGroup, ...]:
    quota = Quota(
        Decimal(cpu), None if borrow is None else Decimal(borrow), None if lend is None else Decimal(lend)
    )
    return (ResourceGroup(("cpu",), (FlavorQuotas("default", (("cpu", quota),)),)),)


def tree(*parts: ClusterQueue | Cohort) -> QuotaTree:
    config = KueueConfig()
    for part in parts:
        if isinstance(part, ClusterQueue):
            config.cluster_queues[part.name] = part
            if part.cohort and part.cohort not in config.cohorts:
                config.cohorts[part.cohort] = Cohort(part.cohort)
        else:
            config.cohorts[part.name] = part
    return QuotaTree.build(config)


def cpus(t: QuotaTree, name: str) -> float:
    return t.available(t.index(name), 0) / 1000


def test_two_queues_of_9_and_12_cpus_in_a_cohort_share_21() -> None:
    t = tree(ClusterQueue("team-a", group(9), "shared"), ClusterQueue("team-b", group(12), "shared"))
    assert cpus(t, "team-a") == 21 and cpus(t, "team-b") == 21
    t.add(t.index("team-b"), 0, units("cpu", Decimal(12)))  # team-b uses its own
    assert cpus(t, "team-a") == 9
    t.remove(t.index("team-b"), 0, 12_000)
    t.add(t.index("team-a"), 0, 15_000)  # team-a borrows 6
    assert cpus(t, "team-b") == 6 and t.borrowed(t.index("team-a"), 0) == 6_000


def test_a_borrowing_limit_caps_what_a_queue_takes_from_its_cohort() -> None:
    t = tree(
        ClusterQueue("team-a", group(9, borrow=1), "shared"), ClusterQueue("team-b", group(12), "shared")
    )
    assert cpus(t, "team-a") == 10 and t.potential(t.index("team-a"), 0) == 10_000
    assert cpus(t, "team-b") == 21


def test_a_lending_limit_keeps_the_rest_of_a_queue_s_quota_for_itself() -> None:
    t = tree(ClusterQueue("team-a", group(9), "shared"), ClusterQueue("team-b", group(12, lend=4), "shared"))
    assert cpus(t, "team-a") == 13 and cpus(t, "team-b") == 21  # team-b keeps 8 of its 12
    b = t.index("team-b")
    t.add(b, 0, 8_000)  # within what it keeps: the cohort sees none of it
    assert cpus(t, "team-a") == 13 and t.usage[t.index("shared"), 0] == 0
    t.add(b, 0, 2_000)  # 2 beyond: counted in the cohort
    assert cpus(t, "team-a") == 11 and t.usage[t.index("shared"), 0] == 2_000
    t.remove(b, 0, 10_000)
    assert t.usage.sum() == 0


def test_hierarchical_cohorts_with_quota_of_their_own_and_a_limit() -> None:
    parts = (
        Cohort("org", "", group(10)),
        Cohort("research", "org", group(0, borrow=3)),
        ClusterQueue("team-a", group(9), "research"),
        ClusterQueue("team-c", group(5), "org"),
    )
    t = tree(*parts)
    assert t.subtree[t.index("org"), 0] == 24_000 and t.subtree[t.index("research"), 0] == 9_000
    assert cpus(t, "team-c") == 24
    assert cpus(t, "team-a") == 12  # research may take 3 beyond its 9 from org
    t.add(t.index("team-c"), 0, 20_000)
    assert cpus(t, "team-a") == 4  # org has 4 left


@settings(max_examples=100, deadline=None)
@given(
    quotas=st.lists(
        st.tuples(
            st.integers(0, 20),
            st.one_of(st.none(), st.integers(0, 10)),
            st.one_of(st.none(), st.integers(0, 20)),
        ),
        min_size=2,
        max_size=5,
    ),
    steps=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 15)), max_size=30),
)
def test_admitting_only_what_fits_never_exceeds_quota_and_freeing_all_leaves_nothing(
    quotas: list[tuple[int, int | None, int | None]], steps: list[tuple[int, int]]
) -> None:
    queues = [
        ClusterQueue(f"q{i}", group(n, borrow, None if lend is None else min(lend, n)), "c" if i % 2 else "d")
        for i, (n, borrow, lend) in enumerate(quotas)
    ]
    t = tree(Cohort("c", "root", group(5)), Cohort("d", "root"), Cohort("root"), *queues)
    held: list[tuple[int, int]] = []
    for which, amount in steps:
        q = t.index(f"q{which % len(queues)}")
        if t.available(q, 0) >= amount * 1000:
            t.add(q, 0, amount * 1000)
            held.append((q, amount * 1000))
        for node in range(len(t.names)):
            assert t.available(node, 0) >= 0  # nothing over-admitted anywhere up the tree
            if t.queue[node] and t.borrowing[node, 0] >= 0:  # never beyond nominal + borrowing limit
                assert t.usage[node, 0] <= t.subtree[node, 0] + t.borrowing[node, 0]
        assert t.usage[t.index("root"), 0] <= t.subtree[t.index("root"), 0]
    for q, amount in reversed(held):
        t.remove(q, 0, amount)
    assert t.usage.sum() == 0
