"""What ``schedlab profile`` measures: the configurations and the list of measurements.

A measurement is a group of configurations that run at once on the GPU (one process each)
under one sharing mode. The plan, in order: every configuration alone; the co-location
groups (every unordered group of ``size`` configurations, the same one twice included, or a
seeded sample of them) time-sliced; every configuration alone again (the data's drift
check); then, with MPS, each configuration alone and the same groups at each SM share.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from schedlab.errors import ConfigError
from schedlab.interference.profiles import config_name

#: Models schedlab can build, with the input each one takes (the profile's ``input`` column).
MODEL_INPUTS = {
    "resnet50": "3x224x224 image",
    "mobilenet": "3x224x224 image",
    "vit": "3x224x224 image",
    "bert": "128 tokens",
    "gpt2": "256 tokens",
}
DEFAULT_BATCHES = (1, 8, 32)
#: The training steps measured by default: the best-effort co-runners of the embedded data.
DEFAULT_TRAIN = ("resnet50/32", "bert/16")
DEFAULT_MPS_PCTS = (100, 50, 25)
#: The most measurements one plan may hold (all groups of four of 17 configurations: 5985).
MAX_MEASUREMENTS = 20_000


@dataclass(frozen=True)
class Spec:
    """One configuration to build: a model, a batch size, inference or a training step."""

    model: str
    batch: int
    kind: str = "infer"

    @property
    def name(self) -> str:
        return config_name(self.model, self.batch, self.kind)

    @property
    def input(self) -> str:
        return MODEL_INPUTS[self.model]


@dataclass(frozen=True)
class Measurement:
    """Members (indices into the plan's specs) run at once under ``sharing``."""

    sharing: str  # alone | time-slicing | mps
    members: tuple[int, ...]
    mps_pct: int | None = None


@dataclass(frozen=True)
class Plan:
    specs: tuple[Spec, ...]
    measurements: tuple[Measurement, ...]


def parse_specs(models: str, batches: str, train: str) -> tuple[Spec, ...]:
    """Inference configurations (every model x every batch) and training steps
    (``model/batch`` items), from comma-separated option values."""
    names = [m.strip() for m in models.split(",") if m.strip()]
    for model in names:
        if model not in MODEL_INPUTS:
            raise ConfigError(f"--models: unknown model {model!r} (known: {', '.join(MODEL_INPUTS)})")
    sizes = [_batch(b, "--batches") for b in batches.split(",") if b.strip()]
    specs = [Spec(m, b) for m in dict.fromkeys(names) for b in dict.fromkeys(sizes)]
    for item in (t.strip() for t in train.split(",")):
        if not item:
            continue
        model, _, batch = item.partition("/")
        if model not in MODEL_INPUTS or not batch:
            raise ConfigError(f"--train: expected MODEL/BATCH with a known model, not {item!r}")
        specs.append(Spec(model, _batch(batch, "--train"), "train"))
    if not specs:
        raise ConfigError("nothing to measure: give --models and --batches, or --train")
    return tuple(dict.fromkeys(specs))


def parse_pcts(text: str) -> tuple[int, ...]:
    """SM shares from ``100,50,25``."""
    shares = []
    for item in (t.strip() for t in text.split(",")):
        if not item.isdigit() or not 1 <= int(item) <= 100:
            raise ConfigError(f"--mps-pcts: an SM share must be a whole number in 1..100, not {item!r}")
        shares.append(int(item))
    if not shares:
        raise ConfigError("--mps-pcts: give at least one SM share")
    return tuple(dict.fromkeys(shares))


def _batch(text: str, flag: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{flag}: a batch size must be a whole number, not {text.strip()!r}") from None
    if not 1 <= value <= 4096:
        raise ConfigError(f"{flag}: a batch size must be in 1..4096, not {value}")
    return value


def build_plan(
    specs: tuple[Spec, ...],
    groups: str = "all",
    size: int = 2,
    mps_pcts: tuple[int, ...] = (),
    seed: int = 0,
) -> Plan:
    """The measurements: solo, ``groups`` (``all`` or a count drawn with ``seed``) of
    ``size`` members time-sliced, solo again, then solo and groups under MPS per share."""
    if size < 2:
        raise ConfigError(f"--size must be at least 2, not {size}")
    count = math.comb(len(specs) + size - 1, size)
    if groups == "all":
        if count > MAX_MEASUREMENTS:
            raise ConfigError(f"--pairs all would make {count} groups; give a number instead")
        chosen = list(itertools.combinations_with_replacement(range(len(specs)), size))
    else:
        try:
            wanted = int(groups)
        except ValueError:
            raise ConfigError(f"--pairs must be 'all' or a number, not {groups!r}") from None
        if not 0 <= wanted <= MAX_MEASUREMENTS:
            raise ConfigError(f"--pairs must be in 0..{MAX_MEASUREMENTS}, not {wanted}")
        chosen = _sample(len(specs), size, min(wanted, count), seed)
    solo = [Measurement("alone", (i,)) for i in range(len(specs))]
    shared = [Measurement("time-slicing", g) for g in chosen]
    mps = []
    for pct in mps_pcts:
        mps += [Measurement("mps", (i,), pct) for i in range(len(specs))]
        mps += [Measurement("mps", g, pct) for g in chosen]
    return Plan(specs, tuple(solo + shared + solo + mps))


def _sample(n: int, size: int, wanted: int, seed: int) -> list[tuple[int, ...]]:
    """``wanted`` distinct sorted groups of ``size`` of ``n`` items (repeats allowed), in
    a seeded random order."""
    rng = np.random.default_rng(seed)
    found: dict[tuple[int, ...], None] = {}
    while len(found) < wanted:
        group = tuple(sorted(int(i) for i in rng.integers(0, n, size)))
        found.setdefault(group, None)
    return list(found)
