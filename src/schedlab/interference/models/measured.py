"""``measured``: the pair measurements themselves, wherever they exist.

A measured pair's slowdown is the mean of its measurements (so a pair's prediction equals
what was measured); a pair never measured falls back to the ``features`` model fitted on the
others. Under MPS, measured MPS pairs and MPS-alone slowdowns at the requested SM share are
used directly (interpolated between measured shares when a configuration was measured at
two or more), the ``features`` model's MPS rule otherwise. Groups follow the additive rule
of :mod:`schedlab.interference.models.base`.
"""

from __future__ import annotations

from schedlab.interference.models.base import Sharing, interpolate, register
from schedlab.interference.models.features import FeatureModel


@register
class MeasuredModel(FeatureModel):
    """Measured pairs first, fitted features for the rest."""

    name = "measured"

    def alone(self, config: str, sharing: Sharing) -> float:
        if sharing.mode != "mps":
            return 1.0
        levels = {p: v for (c, p), v in self.profiles.mps_alone.items() if c == config}
        return interpolate(levels, sharing.mps_pct) if len(levels) >= 2 else super().alone(config, sharing)

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        if sharing.mode != "mps":
            measured = self.profiles.pairs.get((config, other))
            return measured if measured is not None else self.time_sliced(config, other)
        levels = {p: v for (a, b, p), v in self.profiles.mps_pairs.items() if (a, b) == (config, other)}
        return (
            interpolate(levels, sharing.mps_pct) if len(levels) >= 2 else super().pair(config, other, sharing)
        )
