"""Kueue YAML as ``kubectl apply`` takes it (multi-document files, ``List`` objects) into one
checked :class:`~schedlab.kueue.objects.KueueConfig`.

Read: ResourceFlavor, ClusterQueue, Cohort, LocalQueue and WorkloadPriorityClass of
``kueue.x-k8s.io`` (``v1beta1``; ``v1beta2``'s ``cohortName``/``parentName`` too), and
``scheduling.k8s.io`` PriorityClass, and Kueue's own ``Configuration`` (its ``fairSharing``:
:mod:`schedlab.kueue.manager`). Other kinds are skipped with a warning. Checked as
Kueue's validation does: enums, quantities, every flavor listing the covered resources in
order, a resource or flavor in one resource group only, limits only with a cohort (or a
parent cohort), ``lendingLimit <= nominalQuota``, the preemption rule that ``borrowWithinCohort``
needs ``reclaimWithinCohort``, cohort cycles. What Kueue accepts but cannot use (a flavor
not defined, a LocalQueue's ClusterQueue missing) is a warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from schedlab.errors import ConfigError
from schedlab.kueue import manager
from schedlab.kueue import objects as o
from schedlab.kueue.fields import Doc
from schedlab.kueue.references import check_references

GROUP = "kueue.x-k8s.io"
VERSIONS = ("v1beta1", "v1beta2", "v1alpha1")


def load_config(paths: Sequence[Path]) -> o.KueueConfig:
    """Every Kueue object of ``paths``, checked; ConfigError names the file, document and field."""
    config = o.KueueConfig()
    origins: dict[tuple[str, str], str] = {}
    for path in paths:
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise ConfigError(f"{path}: {err.strerror or err}") from None
        config.sources.append((str(path), hashlib.sha256(raw).hexdigest()))
        try:
            docs = list(yaml.safe_load_all(raw))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(
                f"{path}{line}: not valid YAML ({getattr(err, 'problem', None) or err})"
            ) from None
        for index, doc in enumerate(docs, 1):
            if doc is None:
                continue
            where = f"{path} document {index}"
            if isinstance(doc, dict) and doc.get("kind") == "List":
                for k, item in enumerate(Doc(where, "List").items(doc, "items", ""), 1):
                    _read(config, origins, f"{where} item {k}", item)
            else:
                _read(config, origins, where, doc)
    check_references(config, origins)
    return config


def _read(config: o.KueueConfig, origins: dict[tuple[str, str], str], where: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: a Kubernetes object must be a mapping, not {type(doc).__name__}")
    kind = str(doc.get("kind") or "")
    api = str(doc.get("apiVersion") or "")
    found = doc.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(meta.get("name") or "")
    d = Doc(where, f"{kind} {name}".strip())
    readers = {
        "ResourceFlavor": _flavor,
        "ClusterQueue": _cluster_queue,
        "Cohort": _cohort,
        "LocalQueue": _local_queue,
        "WorkloadPriorityClass": _priority,
    }
    if kind == "Configuration" and api.split("/")[0] == manager.GROUP:
        manager.read(config, d, doc)
        return
    kueue = api.split("/")[0] == GROUP
    if kind == "PriorityClass" and api.startswith("scheduling.k8s.io/"):
        kueue = True
        readers["PriorityClass"] = _priority
    if not kueue or kind not in readers:
        d.warn(
            "kind",
            f"{api or '(no apiVersion)'} {kind or '(no kind)'} is not a Kueue object schedlab reads; skipped",
        )
        return
    if api.split("/")[-1] not in VERSIONS and api.startswith(GROUP):
        d.warn(
            "apiVersion",
            f"{api} is not one of {', '.join(GROUP + '/' + v for v in VERSIONS)}; read as v1beta1",
        )
    if not name:
        raise d.error("metadata.name", "missing")
    d.fields(
        doc, "", {"apiVersion", "kind", "metadata", "spec", "status", "value", "description", "globalDefault"}
    )
    key = f"{meta.get('namespace') or 'default'}/{name}" if kind == "LocalQueue" else name
    group = "PriorityClass" if kind == "WorkloadPriorityClass" else kind
    if (group, key) in origins:
        raise d.error("metadata.name", f"a second {kind} {key} (the first: {origins[(group, key)]})")
    origins[(group, key)] = where
    readers[kind](config, d, doc, name, meta)


def _flavor(config: o.KueueConfig, d: Doc, doc: dict[str, Any], name: str, meta: dict[str, Any]) -> None:
    spec = d.mapping(doc, "spec", "")
    d.fields(
        spec,
        "spec",
        {"nodeLabels", "nodeTaints"},
        {"tolerations": "pods' tolerations", "topologyName": "topology-aware scheduling"},
    )
    labels = d.mapping(spec, "nodeLabels", "spec")
    taints = []
    for k, taint in enumerate(d.items(spec, "nodeTaints", "spec", 0, 8)):
        if not isinstance(taint, dict) or not taint.get("key"):
            raise d.error(f"spec.nodeTaints[{k}]", "a taint needs a key")
        taints.append(f"{taint['key']}={taint.get('value', '')}:{taint.get('effect', 'NoSchedule')}")
    if taints:
        d.warn("spec.nodeTaints", "workloads' tolerations are not modelled: every workload tolerates them")
    node_labels = tuple(sorted((str(k), str(v)) for k, v in labels.items()))
    config.flavors[name] = o.ResourceFlavor(name, node_labels, tuple(taints))


def _groups(d: Doc, spec: dict[str, Any], with_limits: bool) -> tuple[o.ResourceGroup, ...]:
    groups = []
    for g, group in enumerate(d.items(spec, "resourceGroups", "spec", 0, 16)):
        at = f"spec.resourceGroups[{g}]"
        if not isinstance(group, dict):
            raise d.error(at, "must be a mapping")
        d.fields(group, at, {"coveredResources", "flavors"})
        covered = tuple(str(r) for r in d.items(group, "coveredResources", at, 1, 64))
        flavors = []
        for f, flavor in enumerate(d.items(group, "flavors", at, 1, 64)):
            fat = f"{at}.flavors[{f}]"
            if not isinstance(flavor, dict):
                raise d.error(fat, "must be a mapping")
            d.fields(flavor, fat, {"name", "resources"})
            fname = d.string(flavor, "name", fat, required=True)
            quotas = []
            for r, resource in enumerate(d.items(flavor, "resources", fat, 1, 64)):
                rat = f"{fat}.resources[{r}]"
                if not isinstance(resource, dict):
                    raise d.error(rat, "must be a mapping")
                d.fields(resource, rat, {"name", "nominalQuota", "borrowingLimit", "lendingLimit"})
                nominal = d.quantity(resource, "nominalQuota", rat, required=True)
                assert nominal is not None
                borrow, lend = (
                    d.quantity(resource, "borrowingLimit", rat),
                    d.quantity(resource, "lendingLimit", rat),
                )
                if not with_limits and (borrow is not None or lend is not None):
                    which = "borrowingLimit" if borrow is not None else "lendingLimit"
                    raise d.error(
                        f"{rat}.{which}", "only allowed with a cohort (a parent cohort, for a Cohort)"
                    )
                if lend is not None and lend > nominal:
                    raise d.error(f"{rat}.lendingLimit", f"{lend} is more than nominalQuota {nominal}")
                quotas.append(
                    (d.string(resource, "name", rat, required=True), o.Quota(nominal, borrow, lend))
                )
            if tuple(n for n, _ in quotas) != covered:
                raise d.error(
                    f"{fat}.resources", f"must list the covered resources in order: {', '.join(covered)}"
                )
            flavors.append(o.FlavorQuotas(fname, tuple(quotas)))
        groups.append(o.ResourceGroup(covered, tuple(flavors)))
    for what, names in (
        ("resource", [r for g in groups for r in g.covered]),
        ("flavor", [f.flavor for g in groups for f in g.flavors]),
    ):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise d.error(
                "spec.resourceGroups",
                f"{what} {twice[0]} is in more than one place: each {what} may be in one resource group only",
            )
    return tuple(groups)


def _weight(d: Doc, spec: dict[str, Any]) -> Any:
    fair = d.mapping(spec, "fairSharing", "spec")
    d.fields(fair, "spec.fairSharing", {"weight"})
    weight = d.quantity(fair, "weight", "spec.fairSharing")
    return o.Cohort("").weight if weight is None else weight


def _cluster_queue(
    config: o.KueueConfig, d: Doc, doc: dict[str, Any], name: str, meta: dict[str, Any]
) -> None:
    spec = d.mapping(doc, "spec", "")
    known = {
        "resourceGroups",
        "cohort",
        "cohortName",
        "queueingStrategy",
        "namespaceSelector",
        "flavorFungibility",
        "preemption",
        "stopPolicy",
        "fairSharing",
    }
    unsupported = {
        "admissionChecks": "admission checks",
        "admissionChecksStrategy": "admission checks",
        "admissionScope": "admission fair sharing",
        "excludeResourcePrefixes": "resources are those of the job CSV",
    }
    d.fields(spec, "spec", known, unsupported)
    if spec.get("namespaceSelector") not in (None, {}):
        d.warn(
            "spec.namespaceSelector",
            "not modelled: every LocalQueue that names this ClusterQueue submits to it",
        )
    cohort = d.string(spec, "cohort", "spec") or d.string(spec, "cohortName", "spec")
    fungible = d.mapping(spec, "flavorFungibility", "spec")
    d.fields(fungible, "spec.flavorFungibility", {"whenCanBorrow", "whenCanPreempt"})
    pre = d.mapping(spec, "preemption", "spec")
    d.fields(pre, "spec.preemption", {"withinClusterQueue", "reclaimWithinCohort", "borrowWithinCohort"})
    borrow = d.mapping(pre, "borrowWithinCohort", "spec.preemption")
    d.fields(borrow, "spec.preemption.borrowWithinCohort", {"policy", "maxPriorityThreshold"})
    preemption = o.Preemption(
        d.choice(pre, "withinClusterQueue", "spec.preemption", o.WITHIN_CLUSTER_QUEUE),
        d.choice(pre, "reclaimWithinCohort", "spec.preemption", o.RECLAIM_WITHIN_COHORT),
        d.choice(borrow, "policy", "spec.preemption.borrowWithinCohort", o.BORROW_WITHIN_COHORT),
        d.integer(borrow, "maxPriorityThreshold", "spec.preemption.borrowWithinCohort"),
    )
    if preemption.reclaim_within_cohort == "Never" and preemption.borrow_within_cohort != "Never":
        raise d.error(
            "spec.preemption.borrowWithinCohort.policy", "needs reclaimWithinCohort other than Never"
        )
    config.cluster_queues[name] = o.ClusterQueue(
        name,
        _groups(d, spec, with_limits=bool(cohort)),
        cohort,
        d.choice(spec, "queueingStrategy", "spec", o.QUEUEING),
        preemption,
        d.choice(fungible, "whenCanBorrow", "spec.flavorFungibility", o.WHEN_CAN_BORROW),
        d.choice(fungible, "whenCanPreempt", "spec.flavorFungibility", o.WHEN_CAN_PREEMPT),
        _weight(d, spec),
        d.choice(spec, "stopPolicy", "spec", o.STOP_POLICY),
    )


def _cohort(config: o.KueueConfig, d: Doc, doc: dict[str, Any], name: str, meta: dict[str, Any]) -> None:
    spec = d.mapping(doc, "spec", "")
    d.fields(spec, "spec", {"parent", "parentName", "resourceGroups", "fairSharing"})
    parent = d.string(spec, "parent", "spec") or d.string(spec, "parentName", "spec")
    config.cohorts[name] = o.Cohort(
        name, parent, _groups(d, spec, with_limits=bool(parent)), _weight(d, spec)
    )


def _local_queue(config: o.KueueConfig, d: Doc, doc: dict[str, Any], name: str, meta: dict[str, Any]) -> None:
    spec = d.mapping(doc, "spec", "", required=True)
    d.fields(spec, "spec", {"clusterQueue", "stopPolicy"}, {"fairSharing": "admission fair sharing"})
    queue = o.LocalQueue(
        str(meta.get("namespace") or "default"), name, d.string(spec, "clusterQueue", "spec", required=True)
    )
    config.local_queues[queue.key] = queue


def _priority(config: o.KueueConfig, d: Doc, doc: dict[str, Any], name: str, meta: dict[str, Any]) -> None:
    value = d.integer(doc, "value", "", required=True)
    assert value is not None
    config.priorities[name] = o.PriorityClass(name, value)
