"""What runs together on each GPU, as placement policies may read it (through
``ClusterView.colocation``): each GPU's group of profiled tasks, the task being placed, and
whether a group keeps every inference service in it within its SLO."""

from __future__ import annotations

import functools

import numpy as np

from schedlab.interference.models.base import InterferenceModel, Sharing
from schedlab.metrics.md1 import latency_cdf

#: A group is safe when every service in it meets its SLO for at least this share of requests
#: (its predicted p99 latency is within the SLO).
SAFE_QUANTILE = 0.99


@functools.lru_cache(maxsize=65536)
def largest_safe_slowdown(solo_ms: float, rate_rps: float, slo_ms: float) -> float:
    """The largest slowdown at which a service (solo p50 latency, request rate, SLO) meets its
    SLO for SAFE_QUANTILE of its requests (M/D/1), to 1e-12 relative. The latency quantile
    grows with the slowdown, so the answer lies in a bracket [meets, misses] that regula falsi
    (Illinois) narrows: about ten evaluations of Erlang's formula where bisection takes 40."""

    def excess(slowdown: float) -> float:
        service = solo_ms * slowdown
        return latency_cdf(rate_rps * service / 1000.0, service, slo_ms) - SAFE_QUANTILE

    low, high = 0.0, 1000.0 / (rate_rps * solo_ms)  # no service time: all met; load 1: none
    f_low, f_high = 1.0 - SAFE_QUANTILE, -SAFE_QUANTILE
    if high > 1.0:  # alone (slowdown 1) first: a service usually meets its SLO alone
        f_one = excess(1.0)
        low, f_low, high, f_high = (1.0, f_one, high, f_high) if f_one >= 0 else (low, f_low, 1.0, f_one)
    kept = 0  # which end stayed put at the last step (Illinois halves its value again)
    for _ in range(200):
        if high - low <= low * 1e-12:
            break
        mid = (low * f_high - high * f_low) / (f_high - f_low)
        if not low < mid < high:
            mid = (low + high) / 2
        f_mid = excess(mid)
        if f_mid >= 0:
            low, f_low = mid, f_mid
            f_high, kept = (f_high / 2, 1) if kept == 1 else (f_high, 1)
        else:
            high, f_high = mid, f_mid
            f_low, kept = (f_low / 2, -1) if kept == -1 else (f_low, -1)
    return low


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
        limits: np.ndarray | None = None,
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
        #: Per task, a largest safe slowdown given (infinite: none; an LLM replica's).
        self.limits = limits
        self._limits: dict[int, float] = {}

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
        return all(self._within(u, float(x)) for u, x in zip(members, slowdowns, strict=True))

    def _slowdowns(self, names: list[str]) -> list[float]:
        """The model's slowdowns of a group (1 alone)."""
        if len(names) == 1:
            return [1.0]
        return [float(x) for x in self.model.slowdowns(names, self.sharing)]

    def _within(self, u: int, slowdown: float) -> bool:
        """Whether task ``u`` at ``slowdown`` keeps its SLO: at most the limit given for it,
        or for a service its largest safe slowdown for SAFE_QUANTILE of its requests (found
        once per service); any slowdown for another task."""
        if self.limits is not None and np.isfinite(self.limits[u]):
            return slowdown <= float(self.limits[u])
        if np.isnan(self.rate_rps[u]):
            return True
        limit = self._limits.get(u)
        if limit is None:
            solo = self.model.profiles.config(str(self.profile[u])).solo["p50_ms"]
            limit = largest_safe_slowdown(float(solo), float(self.rate_rps[u]), float(self.slo_ms[u]))
            self._limits[u] = limit
        return slowdown <= limit
