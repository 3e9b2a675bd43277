"""Reading Kueue configurations: the example's quota tree, every invalid object named by file,
document and field, every unmodelled field warned about by name."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from schedlab.errors import ConfigError
from schedlab.kueue.load import load_config
from schedlab.kueue.tree import quantity, subtree_nominal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kueue" / "teams.yaml"

FLAVOR = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {name: default}\n"


def queue(name: str, cohort: str | None, cpu: str, extra: str = "", resources: str | None = None) -> str:
    """A ClusterQueue with one flavor ``default`` covering cpu (nominal ``cpu``)."""
    spec = f"  cohort: {cohort}\n" if cohort else ""
    resources = resources or f"      - {{name: cpu, nominalQuota: {cpu}{extra}}}\n"
    return (
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: {name}}}\nspec:\n{spec}"
        "  resourceGroups:\n  - coveredResources: [cpu]\n"
        "    flavors:\n    - name: default\n      resources:\n" + resources
    )


def write(tmp_path: Path, *docs: str) -> Path:
    path = tmp_path / "kueue.yaml"
    path.write_text("---\n".join(docs))
    return path


def test_the_example_reads_into_its_quota_tree() -> None:
    config = load_config([EXAMPLE])
    assert sorted(config.flavors) == ["g2", "t4", "v100"]
    assert config.flavors["t4"].node_labels == (("alibabacloud.com/gpu-card-model", "T4"),)
    assert sorted(config.cohorts) == ["org", "production", "research"]
    assert config.cohorts["research"].parent == "org" and config.members("org") == (
        ["production", "research"],
        [],
    )
    vision = config.cluster_queues["team-vision"]
    assert [f.flavor for f in vision.groups[0].flavors] == ["g2", "t4"]  # the order flavors are tried
    g2 = dict(vision.groups[0].flavors[0].quotas)
    assert g2["nvidia.com/gpu"].nominal == 1600 and g2["nvidia.com/gpu"].borrowing_limit == 400
    assert vision.preemption.borrow_within_cohort == "LowerPriority"
    assert vision.preemption.max_priority_threshold == 100
    assert config.cluster_queues["team-language"].weight == 2
    assert config.cluster_queues["team-language"].queueing == "StrictFIFO"
    assert config.local_queues["vision/training"].cluster_queue == "team-vision"
    assert {p.name: p.value for p in config.priorities.values()} == {"production": 1000, "batch": 100}
    research = subtree_nominal(config, "research")  # its own 2000 + 20000 + 24000
    assert research[("g2", "cpu")] == 46000 and research[("v100", "nvidia.com/gpu")] == 200
    assert subtree_nominal(config, "org")[("t4", "nvidia.com/gpu")] == 300 + 540


def test_named_cohorts_are_implicit_and_the_sum_is_21(tmp_path: Path) -> None:
    """Kueue's cohort example: ClusterQueues of 9 and 12 CPUs in one cohort, 21 in all."""
    config = load_config(
        [write(tmp_path, FLAVOR, queue("team-a", "shared", "9"), queue("team-b", "shared", "12"))]
    )
    assert config.cohorts["shared"].parent == "" and config.members("shared") == ([], ["team-a", "team-b"])
    assert subtree_nominal(config, "shared") == {("default", "cpu"): Decimal(21)}


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        (
            (FLAVOR, queue("a", None, "9", ", borrowingLimit: 1")),
            "document 2 (ClusterQueue a): spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit:"
            " only allowed with a cohort",
        ),
        (
            (FLAVOR, queue("a", "c", "9", ", lendingLimit: 10")),
            "lendingLimit: 10 is more than nominalQuota 9",
        ),
        ((FLAVOR, queue("a", "c", "-1")), "nominalQuota: must not be negative"),
        ((FLAVOR, queue("a", "c", "lots")), "nominalQuota: not a Kubernetes quantity: 'lots'"),
        (
            (FLAVOR, queue("a", "c", "", resources="      - {name: memory, nominalQuota: 1}\n")),
            "resources: must list the covered resources in order: cpu",
        ),
        (
            (FLAVOR, queue("a", "c", "1"), queue("a", "c", "2")),
            "document 3 (ClusterQueue a): metadata.name: a second ClusterQueue a (the first: ",
        ),
        (
            (FLAVOR, queue("a", "c", "1") + "  queueingStrategy: Random\n"),
            "spec.queueingStrategy: 'Random' is not one of BestEffortFIFO, StrictFIFO",
        ),
        (
            (
                FLAVOR,
                queue("a", "c", "1") + "  preemption:\n    borrowWithinCohort: {policy: LowerPriority}\n",
            ),
            "borrowWithinCohort.policy: needs reclaimWithinCohort other than Never",
        ),
        ((FLAVOR, queue("a", "c", "1") + "  resourceGroups: 5\n"), "spec.resourceGroups: must be a list"),
        (
            (
                "apiVersion: kueue.x-k8s.io/v1beta1\nkind: Cohort\nmetadata: {name: x}\nspec: {parent: y}\n",
                "apiVersion: kueue.x-k8s.io/v1beta1\nkind: Cohort\nmetadata: {name: y}\nspec: {parent: x}\n",
            ),
            "spec.parent: a cycle: x -> y -> x",
        ),
        (
            ("apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {name: q}\nspec: {}\n",),
            "(LocalQueue q): spec.clusterQueue: missing",
        ),
        (
            (
                "apiVersion: kueue.x-k8s.io/v1beta1\nkind: WorkloadPriorityClass\n"
                "metadata: {name: p}\nvalue: high\n",
            ),
            "value: must be a 32-bit integer",
        ),
        (
            ("apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {}\n",),
            "metadata.name: missing",
        ),
        (("kind: [unclosed\n",), "line 2: not valid YAML"),
    ],
)
def test_an_invalid_object_is_one_error_naming_file_document_and_field(
    tmp_path: Path, docs: tuple[str, ...], message: str
) -> None:
    path = write(tmp_path, *docs)
    with pytest.raises(ConfigError) as err:
        load_config([path])
    assert str(err.value).startswith(str(path)) and message in str(err.value), str(err.value)


def test_what_schedlab_does_not_model_is_a_warning_naming_the_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = (
        FLAVOR + "spec:\n  tolerations: []\n",
        queue("a", "c", "1") + "  admissionChecks: [check]\n  colour: blue\n",
        queue("b", "c", "1").replace("name: default", "name: gone"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata: {namespace: t, name: q}\n"
        "spec: {clusterQueue: nowhere}\n",
    )
    with caplog.at_level(logging.WARNING, logger="schedlab"):
        config = load_config([write(tmp_path, *docs)])
    said = [r.getMessage().split(": ", 1)[1] for r in caplog.records]
    assert said == [
        "spec.tolerations: not modelled (pods' tolerations); ignored",
        "spec.admissionChecks: not modelled (admission checks); ignored",
        "spec.colour: unknown field; ignored",
        "kind: v1 Namespace is not a Kueue object schedlab reads; skipped",
        "spec.resourceGroups: ResourceFlavor gone is not defined: Kueue keeps this ClusterQueue inactive",
        "spec.clusterQueue: ClusterQueue nowhere is not defined: its workloads never run",
    ]
    assert "document 2 (ClusterQueue a)" in caplog.records[1].getMessage()
    assert sorted(config.cluster_queues) == ["a", "b"]


def test_quantities_print_as_operators_write_them() -> None:
    assert [quantity(Decimal(v)) for v in ("40", "0.5", "274877906944", "1.5", "3145728")] == [
        "40",
        "500m",
        "256Gi",
        "1500m",
        "3Mi",
    ]


def test_the_check_command_prints_the_tree_or_json_and_fails_in_one_line(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "schedlab", "kueue", "check"]
    shown = subprocess.run([*run, str(EXAMPLE)], capture_output=True, text=True, check=True).stdout
    assert "│       │   └── LocalQueue language/training" in shown
    assert "flavor t4 [alibabacloud.com/gpu-card-model=T4]: cpu 24000, nvidia.com/gpu 540" in shown
    data = json.loads(
        subprocess.run([*run, "--json", str(EXAMPLE)], capture_output=True, text=True, check=True).stdout
    )
    assert data["sources"][0]["file"] == str(EXAMPLE) and len(data["sources"][0]["sha256"]) == 64
    assert [q["name"] for q in data["cluster_queues"]] == ["serving", "team-language", "team-vision"]
    bad = write(tmp_path, FLAVOR, queue("a", None, "9", ", borrowingLimit: 1"))
    failed = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2 and failed.stdout == "" and failed.stderr.count("\n") == 1
    assert failed.stderr.startswith(f"error: {bad} document 2 (ClusterQueue a): ")
