"""Cross-validation of interference models on time-sliced pair measurements, and their
errors on held-out measurements.

Leave one pair out: for each measured unordered pair, fit the model without that pair's
measurements and predict both members' p50. Leave one configuration out: for each
configuration, fit without every pair that involves it (its solo measurements stay) and
predict all those pairs. Leave one group out: for each measured group of three or more,
fit without its members' measurements and predict them. Held out: fit on one profile
directory and predict every co-located measurement of another (say, groups of three
measured by ``schedlab profile --size 3``). The error of a prediction is |predicted p50 / measured p50 - 1|.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.interference.models.base import INTERFERENCE_MODELS, Sharing
from schedlab.interference.profiles import Profiles, load_rows


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


def leave_one_group_out(name: str, profiles: Profiles) -> dict[int, Errors]:
    """Errors of model ``name`` on every member of each measured group of three or more
    (time-sliced), fitted without that group's measurements, by group size."""
    groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for key in profiles.groups:
        groups.setdefault(tuple(sorted(key)), []).append(key)
    errors: dict[int, list[float]] = {}
    for members, keys in groups.items():
        train = replace(profiles, groups={k: v for k, v in profiles.groups.items() if k not in keys})
        model = INTERFERENCE_MODELS.get(name)(train)
        errors.setdefault(len(members), []).extend(
            abs(model.slowdowns(list(k), Sharing())[0] / profiles.groups[k] - 1.0) for k in keys
        )
    return {size: Errors(np.array(values)) for size, values in sorted(errors.items())}


def held_out(name: str, profiles: Profiles, directory: str | Path) -> dict[str, Errors]:
    """Errors of model ``name`` fitted to ``profiles`` on every co-located measurement of
    another profile directory (groups of any size, MPS too), by ``"<sharing> <size>"``.

    The measured slowdown is a member's p50 over that directory's own solo p50 of the same
    configuration, so that the two machines' solo latencies need not agree."""
    rows = load_rows(directory)
    solo = rows[rows["sharing"] == "alone"].groupby("config")["p50_ms"].mean()
    model = INTERFERENCE_MODELS.get(name)(profiles)
    errors: dict[str, list[float]] = {}
    shared = rows[rows["tasks_on_gpu"] >= 2]
    columns = ("config", "co_runners", "sharing", "pct", "p50_ms")
    for config, others, mode, pct, p50 in zip(*(shared[c] for c in columns), strict=True):
        group = [config, *(o for o in str(others).split(";") if o)]
        sharing = Sharing(mode, int(pct)) if mode == "mps" else Sharing()
        predicted = model.slowdowns(group, sharing)[0]
        errors.setdefault(f"{mode} {len(group)}", []).append(abs(predicted * solo[config] / p50 - 1.0))
    return {key: Errors(np.array(values)) for key, values in sorted(errors.items())}
