"""Flavor assignment as Kueue does it: flavors in order, borrowing and flavor fungibility,
pending reasons, quota counted on admission and given back."""

from __future__ import annotations

from pathlib import Path

from schedlab.kueue.assign import Assignment, Pending, Preempting, admit, assign, release
from schedlab.kueue.load import load_config
from schedlab.kueue.quota import QuotaTree

FLAVORS = "".join(
    f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {{name: {f}}}\n---\n"
    for f in ("spot", "on-demand")
)


def queue(name: str, spot: int, on_demand: int, cohort: str = "", fungibility: str = "") -> str:
    return (
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: {name}}}\nspec:\n"
        + (f"  cohort: {cohort}\n" if cohort else "")
        + (f"  flavorFungibility: {{whenCanBorrow: {fungibility}}}\n" if fungibility else "")
        + "  resourceGroups:\n  - coveredResources: [cpu]\n    flavors:\n"
        + f"    - name: spot\n      resources: [{{name: cpu, nominalQuota: {spot}}}]\n"
        + f"    - name: on-demand\n      resources: [{{name: cpu, nominalQuota: {on_demand}}}]\n"
    )


def setup(tmp_path: Path, *queues: str) -> tuple[QuotaTree, object]:
    path = tmp_path / "k.yaml"
    path.write_text(FLAVORS + "---\n".join(queues))
    config = load_config([path])
    return QuotaTree.build(config), config


def test_flavors_are_tried_in_order_and_a_workload_that_fits_none_pends_with_reasons(tmp_path: Path) -> None:
    tree, config = setup(tmp_path, queue("a", 4, 10))
    assert assign(tree, config, "a", {"cpu": 3000}) == Assignment((("cpu", "spot"),), False)
    assert assign(tree, config, "a", {"cpu": 6000}) == Assignment((("cpu", "on-demand"),), False)
    pending = assign(tree, config, "a", {"cpu": 20_000})
    assert isinstance(pending, Pending) and str(pending) == (
        "flavor spot: cpu 20 is more than the 4 this queue can ever use; "
        "flavor on-demand: cpu 20 is more than the 10 this queue can ever use"
    )
    first = assign(tree, config, "a", {"cpu": 3000})
    assert isinstance(first, Assignment)
    admit(tree, "a", first, {"cpu": 3000})
    later = assign(tree, config, "a", {"cpu": 3000})  # 1 left on spot: on-demand now
    assert later == Assignment((("cpu", "on-demand"),), False)
    release(tree, "a", first, {"cpu": 3000})
    assert tree.usage.sum() == 0


def test_borrowing_stops_the_search_unless_the_queue_tries_the_next_flavor(tmp_path: Path) -> None:
    for fungibility, expected in (("", ("spot", True)), ("TryNextFlavor", ("on-demand", False))):
        tree, config = setup(tmp_path, queue("a", 4, 10, "c", fungibility), queue("b", 8, 0, "c"))
        found = assign(tree, config, "a", {"cpu": 6000})  # spot: 4 of its own + 2 of b's
        assert found == Assignment((("cpu", expected[0]),), expected[1]), fungibility
    tree, config = setup(tmp_path, queue("a", 4, 0, "c", "TryNextFlavor"), queue("b", 8, 0, "c"))
    assert assign(tree, config, "a", {"cpu": 6000}) == Assignment((("cpu", "spot"),), True)  # the fallback


def test_the_shortfall_is_named_when_others_use_the_cohort_s_quota(tmp_path: Path) -> None:
    reason = (
        "flavor spot: insufficient quota for cpu: 3 asked, 2 available; "
        "flavor on-demand: cpu 3 is more than the 0 this queue can ever use"
    )
    reclaims = queue("a", 4, 0, "c").replace("spec:\n", "spec:\n  preemption: {reclaimWithinCohort: Any}\n")
    for a, preempts in ((queue("a", 4, 0, "c"), False), (reclaims, True)):
        tree, config = setup(tmp_path, a, queue("b", 8, 0, "c"))
        taken = assign(tree, config, "b", {"cpu": 10_000})
        assert taken == Assignment((("cpu", "spot"),), True)
        admit(tree, "b", taken, {"cpu": 10_000})
        found = assign(tree, config, "a", {"cpu": 3000})
        if not preempts:  # no policy to preempt by: it pends
            assert isinstance(found, Pending) and str(found) == reason
            continue
        # 3 CPUs are within a's nominal 4: spot would fit by preempting b's borrowed CPUs
        assert isinstance(found, Preempting) and found.needs == {("spot", "cpu")} and not found.borrows
        assert str(found.pending) == reason


def test_each_resource_group_gets_its_own_flavor_and_uncovered_resources_never_fit() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "kueue" / "teams.yaml"
    config = load_config([example])
    tree = QuotaTree.build(config)
    gpus = {"cpu": 16_000, "nvidia.com/gpu": 8}
    assert assign(tree, config, "team-vision", gpus) == Assignment(
        (("cpu", "g2"), ("nvidia.com/gpu", "g2")), False
    )
    assert str(assign(tree, config, "team-vision", {"cpu": 1000, "memory": 2**30})) == (
        "resource memory is not covered by ClusterQueue team-vision"
    )
