"""What runs together on each GPU, as placement policies may read it (through
``ClusterView.colocation``): each GPU's group of profiled tasks, the task being placed, and
whether a group keeps every inference service in it within its SLO."""

from __future__ import annotations

import numpy as np

from schedlab.interference.models.base import InterferenceModel, Sharing
from schedlab.metrics.md1 import latency_cdf

#: A group is safe when every service in it meets its SLO for at least this share of requests
#: (its predicted p99 latency is within the SLO).
SAFE_QUANTILE = 0.99


class Colocation:
    """Groups of profiled tasks per (node, GPU), kept by the replay; read-only for policies.

    ``profile``, ``rate_rps`` and ``slo_ms`` are per task (NaN rate: a batch job);
    ``current`` is the task being placed (-1 when none).
    """

    def __init__(
        self,
        model: InterferenceModel,
        sharing: Sharing,
        profile: np.ndarray,
        rate_rps: np.ndarray | None,
        slo_ms: np.ndarray | None,
        groups: dict[tuple[int, int], list[int]],
        busy_nodes: dict[int, int],
    ) -> None:
        self.model = model
        self.sharing = sharing
        self.profile = profile
        n = len(profile)
        self.rate_rps = rate_rps if rate_rps is not None else np.full(n, np.nan)
        self.slo_ms = slo_ms if slo_ms is not None else np.full(n, np.nan)
        self.groups = groups
        self.busy_nodes = busy_nodes
        self.current = -1

    def occupied(self) -> np.ndarray:
        """The nodes where some GPU holds a profiled task."""
        return np.fromiter(self.busy_nodes, dtype=np.int64, count=len(self.busy_nodes))

    def group(self, node: int, gpu: int) -> list[int]:
        """The profiled tasks running on ``gpu`` of ``node``."""
        return list(self.groups.get((node, gpu), ()))

    def safe(self, node: int, gpu: int, task: int) -> bool:
        """Whether ``task`` may join ``gpu`` of ``node``: every service in the new group
        (``task`` included) keeps its predicted p99 latency within its SLO."""
        if not self.profile[task]:
            return True
        members = [*self.groups.get((node, gpu), ()), task]
        if len(members) == 1:
            slowdowns = np.ones(1)
        else:
            slowdowns = self.model.slowdowns([str(self.profile[u]) for u in members], self.sharing)
        for u, slowdown in zip(members, slowdowns, strict=True):
            rate = self.rate_rps[u]
            if np.isnan(rate):
                continue
            service = self.model.profiles.config(str(self.profile[u])).solo["p50_ms"] * float(slowdown)
            if latency_cdf(rate * service / 1000.0, service, float(self.slo_ms[u])) < SAFE_QUANTILE:
                return False
        return True
