"""Kueue's objects as schedlab reads them (``kueue.x-k8s.io/v1beta1``; field names in the
docstrings are Kueue's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

#: Kueue's enums, each with its default first.
QUEUEING = ("BestEffortFIFO", "StrictFIFO")
WITHIN_CLUSTER_QUEUE = ("Never", "LowerPriority", "LowerOrNewerEqualPriority")
RECLAIM_WITHIN_COHORT = ("Never", "LowerPriority", "Any")
BORROW_WITHIN_COHORT = ("Never", "LowerPriority")
WHEN_CAN_BORROW = ("MayStopSearch", "TryNextFlavor", "Borrow")
WHEN_CAN_PREEMPT = ("TryNextFlavor", "MayStopSearch", "Preempt")
STOP_POLICY = ("None", "Hold", "HoldAndDrain")


@dataclass(frozen=True)
class Quota:
    """One (flavor, resource) quota: ``nominalQuota``, ``borrowingLimit`` and
    ``lendingLimit`` (None: unlimited)."""

    nominal: Decimal
    borrowing_limit: Decimal | None = None
    lending_limit: Decimal | None = None


@dataclass(frozen=True)
class FlavorQuotas:
    """A flavor of a resource group and its quota per covered resource, in their order."""

    flavor: str
    quotas: tuple[tuple[str, Quota], ...]


@dataclass(frozen=True)
class ResourceGroup:
    """``coveredResources`` and the flavors that provide them, in the order tried."""

    covered: tuple[str, ...]
    flavors: tuple[FlavorQuotas, ...]


@dataclass(frozen=True)
class Preemption:
    """``spec.preemption``: whom a pending workload may preempt."""

    within_cluster_queue: str = "Never"
    reclaim_within_cohort: str = "Never"
    borrow_within_cohort: str = "Never"
    max_priority_threshold: int | None = None


@dataclass(frozen=True)
class ResourceFlavor:
    """``spec.nodeLabels`` (the nodes the flavor stands for) and ``spec.nodeTaints``."""

    name: str
    node_labels: tuple[tuple[str, str], ...] = ()
    node_taints: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterQueue:
    """Quota, cohort, queueing strategy, preemption, flavor fungibility, fair-sharing weight."""

    name: str
    groups: tuple[ResourceGroup, ...]
    cohort: str = ""
    queueing: str = "BestEffortFIFO"
    preemption: Preemption = field(default_factory=Preemption)
    when_can_borrow: str = "MayStopSearch"
    when_can_preempt: str = "TryNextFlavor"
    weight: Decimal = Decimal(1)
    stop_policy: str = "None"


@dataclass(frozen=True)
class Cohort:
    """A Cohort object: its ``parent`` and quota of its own (hierarchical cohorts); a cohort
    only named by ClusterQueues has neither."""

    name: str
    parent: str = ""
    groups: tuple[ResourceGroup, ...] = ()
    weight: Decimal = Decimal(1)


@dataclass(frozen=True)
class LocalQueue:
    """``namespace/name`` and the ClusterQueue it submits to."""

    namespace: str
    name: str
    cluster_queue: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PriorityClass:
    """A WorkloadPriorityClass: ``value``."""

    name: str
    value: int


@dataclass
class KueueConfig:
    """Everything read from one or more files; ``sources``: file and SHA-256 digest."""

    flavors: dict[str, ResourceFlavor] = field(default_factory=dict)
    cluster_queues: dict[str, ClusterQueue] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    local_queues: dict[str, LocalQueue] = field(default_factory=dict)
    priorities: dict[str, PriorityClass] = field(default_factory=dict)
    sources: list[tuple[str, str]] = field(default_factory=list)
    #: Kueue's Configuration ``fairSharing``: its preemption strategies when enabled, else None
    fair_sharing: tuple[str, ...] | None = None

    def members(self, cohort: str) -> tuple[list[str], list[str]]:
        """The child cohorts and ClusterQueues of ``cohort``, by name."""
        children = sorted(c.name for c in self.cohorts.values() if c.parent == cohort)
        queues = sorted(q.name for q in self.cluster_queues.values() if q.cohort == cohort)
        return children, queues

    def roots(self) -> list[str]:
        """Cohorts without a parent."""
        return sorted(c.name for c in self.cohorts.values() if not c.parent)
