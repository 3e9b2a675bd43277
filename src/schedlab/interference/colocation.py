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
#: A service's largest safe slowdown is searched for once it has been asked about this often.
FIND_LIMIT_AFTER = 16


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
        self._limits: dict[int, float] = {}
        self._asked: dict[int, int] = {}

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
        slowdowns = self._slowdowns([str(self.profile[u]) for u in members])
        for u, slowdown in zip(members, slowdowns, strict=True):
            if not np.isnan(self.rate_rps[u]) and not self._within(u, float(slowdown)):
                return False
        return True

    def _slowdowns(self, names: list[str]) -> list[float]:
        """The model's slowdowns of a group (1 alone)."""
        if len(names) == 1:
            return [1.0]
        return [float(x) for x in self.model.slowdowns(names, self.sharing)]

    def _within(self, u: int, slowdown: float) -> bool:
        """Whether service ``u`` at ``slowdown`` meets its SLO for SAFE_QUANTILE of its
        requests. The latency quantile grows with the slowdown, so each service's largest
        safe slowdown is found once (bisection); only a slowdown within 1e-9 of it is
        checked exactly, so the verdict is the exact formula's."""
        limit = self._limits.get(u)
        if limit is None:
            asked = self._asked[u] = self._asked.get(u, 0) + 1
            if asked < FIND_LIMIT_AFTER:  # a service asked about a few times: no search
                return self._meets(u, slowdown)
            limit = self._limits[u] = self._largest_slowdown(u)
        if slowdown < limit * (1 - 1e-9):
            return True
        if slowdown > limit * (1 + 1e-9):
            return False
        return self._meets(u, slowdown)

    def _meets(self, u: int, slowdown: float) -> bool:
        service = self.model.profiles.config(str(self.profile[u])).solo["p50_ms"] * slowdown
        rho = float(self.rate_rps[u]) * service / 1000.0
        return latency_cdf(rho, service, float(self.slo_ms[u])) >= SAFE_QUANTILE

    def _largest_slowdown(self, u: int) -> float:
        solo = self.model.profiles.config(str(self.profile[u])).solo["p50_ms"]
        high = 1000.0 / (float(self.rate_rps[u]) * solo)  # load 1: no quantile is met
        low = 0.0
        for _ in range(200):
            if high - low <= low * 1e-12:
                break
            mid = (low + high) / 2
            low, high = (mid, high) if self._meets(u, mid) else (low, mid)
        return low
