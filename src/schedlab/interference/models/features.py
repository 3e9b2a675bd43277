"""``features``: slowdowns predicted from solo features only, so that it also covers
configurations without a single pair measurement.

The pair slowdown of ``a`` next to ``b`` under time-slicing is fitted, over every measured
pair, as ``0.5 + exp(x . w)`` (least squares on the log), where ``x`` holds the logs of both
solo p50 latencies, their squares and product, both kinds (inference or training step) and
the logs of both GPU memories. Under MPS, a pair costs the time-slicing prediction scaled by
the median ratio of (slowdown - 1) under MPS to (slowdown - 1) time-sliced over the measured
pairs at that SM share (interpolated between shares); alone, the median measured MPS-alone
slowdown at that share.
"""

from __future__ import annotations

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.errors import ConfigError
from schedlab.interference.models.base import InterferenceModel, Sharing, interpolate, register
from schedlab.interference.profiles import Profiles

#: The asymptote below which no pair slowdown is predicted (the smallest measured is 0.84).
FLOOR = 0.5


@register
class FeatureModel(InterferenceModel):
    """Pair slowdowns from solo latency, kind and GPU memory (no pair table at predict time)."""

    name = "features"

    def __init__(self, profiles: Profiles) -> None:
        super().__init__(profiles)
        keys = [k for k in profiles.pairs if k[0] in profiles.configs and k[1] in profiles.configs]
        if len(keys) < 12:
            raise ConfigError(
                f"{profiles.source}: too few time-sliced pair measurements to fit ({len(keys)})"
            )
        x = np.array([self._features(a, b) for a, b in keys])
        y = np.log(np.maximum(np.array([profiles.pairs[k] for k in keys]) - FLOOR, 1e-6))
        self.weights: FloatArray = np.linalg.lstsq(x, y, rcond=None)[0]
        self._mps_ratio = self._mps_ratios()
        self._mps_alone = {
            pct: float(np.median([v for (_, p), v in profiles.mps_alone.items() if p == pct]))
            for pct in sorted({p for _, p in profiles.mps_alone})
        }

    def _features(self, a: str, b: str) -> list[float]:
        ca, cb = self.profiles.configs[a], self.profiles.configs[b]
        la, lb = np.log(ca.solo["p50_ms"]), np.log(cb.solo["p50_ms"])
        ta, tb = float(ca.kind == "train"), float(cb.kind == "train")
        ma, mb = np.log(max(ca.gpu_mem_mib, 1)), np.log(max(cb.gpu_mem_mib, 1))
        return [1.0, la, lb, la * lb, la * la, lb * lb, ta, tb, tb * lb, ta * la, ma, mb]

    def time_sliced(self, config: str, other: str) -> float:
        """The fitted time-slicing pair slowdown."""
        return FLOOR + float(np.exp(np.dot(self._features(config, other), self.weights)))

    def _mps_ratios(self) -> dict[int, float]:
        ratios: dict[int, list[float]] = {}
        for (a, b, pct), value in self.profiles.mps_pairs.items():
            ts = self.profiles.pairs.get((a, b))
            if ts is not None and abs(ts - 1) > 0.05:
                ratios.setdefault(pct, []).append((value - 1) / (ts - 1))
        return {pct: float(np.median(v)) for pct, v in sorted(ratios.items())}

    def alone(self, config: str, sharing: Sharing) -> float:
        if sharing.mode != "mps" or not self._mps_alone:
            return 1.0
        return interpolate(self._mps_alone, sharing.mps_pct)

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        ts = self.time_sliced(config, other)
        if sharing.mode != "mps":
            return ts
        if not self._mps_ratio:
            raise ConfigError(f"{self.profiles.source} has no MPS pair measurements")
        return 1.0 + (ts - 1.0) * interpolate(self._mps_ratio, sharing.mps_pct)
