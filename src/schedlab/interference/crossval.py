"""Cross-validation of interference models on time-sliced pair measurements.

Leave one pair out: for each measured unordered pair, fit the model without that pair's
measurements and predict both members' p50. Leave one configuration out: for each
configuration, fit without every pair that involves it (its solo measurements stay) and
predict all those pairs. The error of a prediction is |predicted p50 / measured p50 - 1|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.interference.models.base import INTERFERENCE_MODELS, Sharing
from schedlab.interference.profiles import Profiles


@dataclass(frozen=True)
class Errors:
    """Relative p50 errors of one cross-validation."""

    values: FloatArray

    def summary(self) -> dict[str, float | int]:
        return {
            "predictions": len(self.values),
            "median_rel_error": float(np.median(self.values)),
            "p90_rel_error": float(np.quantile(self.values, 0.9)),
        }


def _errors(name: str, train: Profiles, test: Profiles, pairs: list[tuple[str, str]]) -> list[float]:
    model = INTERFERENCE_MODELS.get(name)(train)
    out = []
    for a, b in pairs:
        predicted = model.slowdowns([a, b], Sharing())[0]
        out.append(abs(predicted / test.pairs[(a, b)] - 1.0))
    return out


def leave_one_pair_out(name: str, profiles: Profiles) -> Errors:
    """Errors of model ``name`` on each pair, fitted without it."""
    groups: dict[frozenset[str], list[tuple[str, str]]] = {}
    for a, b in profiles.pairs:
        groups.setdefault(frozenset((a, b)), []).append((a, b))
    errors: list[float] = []
    for key, pairs in groups.items():
        errors += _errors(name, profiles.without(pairs={key}), profiles, pairs)
    return Errors(np.array(errors))


def leave_one_config_out(name: str, profiles: Profiles) -> Errors:
    """Errors of model ``name`` on every pair of each configuration, fitted without them."""
    errors: list[float] = []
    for config in profiles.configs:
        pairs = [k for k in profiles.pairs if config in k]
        if pairs:
            errors += _errors(name, profiles.without(configs={config}), profiles, pairs)
    return Errors(np.array(errors))
