"""The interference-model protocol, the group rule and the registry of models by name.

A model answers two questions for a sharing mode (time-slicing, or MPS at an SM share):
how much slower a configuration runs alone under it (:meth:`~InterferenceModel.alone`: 1
for time-slicing; MPS limits the SMs), and how much slower it runs next to one other
configuration (:meth:`~InterferenceModel.pair`). A group of any size follows from the pairs
(:meth:`~InterferenceModel.slowdowns`): under time-slicing the GPU serves the members in
turn, so each co-runner adds the delay it adds in the pair,

    slowdown_i(G) = alone_i x (1 + scale(m) x sum over the other members j of (pair(i, j) - 1)),

with ``m`` = |G| - 1 co-runners and ``scale`` 1 (:meth:`~InterferenceModel.group_scale`;
the ``groups`` model fits it), which equals the measurement for a pair and extends to three,
four or more members, including the same configuration twice. In groups of three or more
``pair`` may be another estimate of the same pair (:meth:`~InterferenceModel.group_pair`:
the ``groups`` model's smoothed pairs; the pair itself for the others), and a model may
combine the extra delays in quadrature (:meth:`~InterferenceModel.quadrature`: the root of
the sum of their squares, each square keeping its delay's sign) instead of summing them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.errors import ConfigError
from schedlab.interference.profiles import Profiles
from schedlab.registry import Registry

MODES = ("time-slicing", "mps")


@dataclass(frozen=True)
class Sharing:
    """How members share a GPU: ``time-slicing``, or ``mps`` with each process limited to
    ``mps_pct`` % of the SMs."""

    mode: str = "time-slicing"
    mps_pct: int = 100

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown sharing mode {self.mode!r} (known: {', '.join(MODES)})")
        if not 0 < self.mps_pct <= 100:
            raise ConfigError(f"--mps-pct must be in 1..100, not {self.mps_pct}")


class InterferenceModel:
    """Predicts slowdowns (co-located latency / solo latency) of configurations sharing a GPU."""

    name: ClassVar[str]

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles

    def alone(self, config: str, sharing: Sharing) -> float:
        """Slowdown of ``config`` alone under ``sharing`` (1 without an SM limit)."""
        return 1.0

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        """Slowdown of ``config`` next to ``other``, relative to ``config`` alone under
        ``sharing``."""
        raise NotImplementedError

    def group_pair(self, config: str, other: str, sharing: Sharing) -> float:
        """The pair slowdown that ``other`` adds to ``config`` in a group of three or more
        (:meth:`pair` unless a model estimates it apart)."""
        return self.pair(config, other, sharing)

    def quadrature(self, sharing: Sharing) -> bool:
        """Whether in groups of three or more the co-runners' extra delays combine in
        quadrature (:func:`combined`) rather than by their sum."""
        return False

    def group_scale(self, others: int, sharing: Sharing) -> float:
        """The factor on the sum of the pairs' extra delays of a member with ``others``
        co-runners (1: the additive rule)."""
        return 1.0

    def slowdowns(self, group: Sequence[str], sharing: Sharing = Sharing()) -> FloatArray:
        """Each member's slowdown when ``group`` (configuration names, repeats allowed)
        shares one GPU, in the order given."""
        for name in group:
            self.profiles.config(name)  # unknown names: a clear error
        in_group = len(group) > 2
        pairs = self._pairs(sharing, in_group)
        estimate = self.group_pair if in_group else self.pair
        scale = self.group_scale(len(group) - 1, sharing)
        squares = in_group and self.quadrature(sharing)
        result = np.empty(len(group))
        for i, name in enumerate(group):
            extra = 0.0
            for j, other in enumerate(group):
                if j != i:
                    value = pairs.get((name, other))
                    if value is None:
                        value = pairs[(name, other)] = estimate(name, other, sharing)
                    extra += term(value - 1.0, squares)
            extra = combined(extra, squares)
            result[i] = self.alone(name, sharing) * max(1.0 + extra * scale, 1e-3)
        return result

    def _pairs(self, sharing: Sharing, in_group: bool) -> dict[tuple[str, str], float]:
        """The pair slowdowns asked so far under ``sharing``, in pairs or in larger groups (a
        pair's value never changes)."""
        memo: dict[tuple[Sharing, bool], dict[tuple[str, str], float]] = self.__dict__.setdefault(
            "_pair_memo", {}
        )
        return memo.setdefault((sharing, in_group), {})


def term(extra: float, squares: bool) -> float:
    """One co-runner's extra delay as the group rule adds it: itself, or its signed square."""
    return extra * abs(extra) if squares else extra


def combined(extra: float, squares: bool) -> float:
    """The co-runners' extra delay from ``extra``: their sum, or with ``squares`` the sum of
    their signed squares, whose signed root it is. The compiled kernels do the same
    operations (:func:`schedlab.sim.kernels.rates.term` and ``combined``), so the floats agree."""
    return math.copysign(math.sqrt(abs(extra)), extra) if squares else extra


def interpolate(levels: Mapping[int, float], pct: int) -> float:
    """The value at ``pct`` from values at measured SM shares: linear between them,
    the nearest one outside."""
    points = sorted(levels.items())
    xs, ys = [p for p, _ in points], [v for _, v in points]
    return float(np.interp(pct, xs, ys))


INTERFERENCE_MODELS: Registry[type[InterferenceModel]] = Registry("interference model")


def register(cls: type[InterferenceModel]) -> type[InterferenceModel]:
    """Class decorator: make a model available by its ``name``."""
    return INTERFERENCE_MODELS.register(cls)


def make_model(name: str, profiles: Profiles) -> InterferenceModel:
    """The model registered as ``name``, fitted to ``profiles``."""
    return INTERFERENCE_MODELS.get(name)(profiles)
