"""Profiles: what each configuration costs alone and next to another one on one GPU.

A *configuration* is ``model/batch`` for inference and ``model_train/batch`` for a training
step (the spelling of the data's ``co_runners`` column). A profile directory holds
``configs.csv`` (model, batch, kind, gpu_mem_mib, ...) and ``measurements.csv`` (one row
per member of a measurement: ``sharing`` alone / time-slicing / mps, ``mps_thread_pct``,
``co_runners``, latency quantiles in ms); see the embedded copy's README.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schedlab.errors import ConfigError, TraceError
from schedlab.trace.columns import check_unique, line, read_integers, read_strings
from schedlab.trace.csvfile import read_csv
from schedlab.trace.embedded import embedded_path

SHARING = ("alone", "time-slicing", "mps")
KINDS = ("infer", "train")
LATENCIES = ("p50_ms", "p90_ms", "p99_ms", "mean_ms")


def default_profiles_path() -> Path:
    """The embedded profile directory (one H100; see ``schedlab/data/README.md``)."""
    return embedded_path("gpu-colocation-h100")


def config_name(model: str, batch: int, kind: str) -> str:
    """``resnet50/8`` for inference, ``bert_train/16`` for a training step."""
    return f"{model}_train/{batch}" if kind == "train" else f"{model}/{batch}"


@dataclass(frozen=True)
class Config:
    """One configuration: its name, kind, batch, GPU memory and solo latency (ms)."""

    name: str
    kind: str
    batch: int
    gpu_mem_mib: int
    solo: dict[str, float]  # p50_ms, p90_ms, p99_ms, mean_ms: means of its solo measurements


@dataclass(frozen=True)
class Profiles:
    """Configurations and their pair measurements (latencies as ratios to solo).

    ``pairs[(a, b)]``: p50 of ``a`` time-sliced with ``b`` over ``a``'s solo p50 (the mean
    over repeated measurements). ``mps_alone[(a, pct)]``: ``a``'s p50 alone under MPS at
    ``pct`` % of the SMs over its solo p50; ``mps_pairs[(a, b, pct)]``: ``a``'s p50 next to
    ``b`` under MPS at ``pct`` over its MPS-alone p50 at ``pct``; ``groups[(a, b, c, ...)]``:
    ``a``'s p50 time-sliced with two or more co-runners ``b, c, ...`` over its solo p50.
    """

    configs: dict[str, Config]
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    mps_alone: dict[tuple[str, int], float] = field(default_factory=dict)
    mps_pairs: dict[tuple[str, str, int], float] = field(default_factory=dict)
    source: str = "<memory>"
    groups: dict[tuple[str, ...], float] = field(default_factory=dict)

    def config(self, name: str) -> Config:
        """The configuration ``name``; an error listing the known ones otherwise."""
        found = self.configs.get(name)
        if found is None:
            known = ", ".join(self.configs)
            raise ConfigError(f"unknown configuration {name!r} in {self.source} (known: {known})")
        return found

    def without(self, pairs: Set[frozenset[str]] = frozenset(), configs: Set[str] = frozenset()) -> Profiles:
        """These profiles less the pair measurements of ``pairs`` (unordered) and of every
        pair that involves one of ``configs`` (their solo measurements stay): for
        cross-validation."""

        def drop(a: str, b: str) -> bool:
            return frozenset((a, b)) in pairs or a in configs or b in configs

        return replace(
            self,
            pairs={k: v for k, v in self.pairs.items() if not drop(*k)},
            mps_pairs={k: v for k, v in self.mps_pairs.items() if not drop(k[0], k[1])},
            groups={k: v for k, v in self.groups.items() if not configs & set(k)},
        )

    def merged(self, other: Profiles) -> Profiles:
        """These profiles and ``other``'s measurements together (slowdowns are ratios to
        each directory's own solo latency, so two machines' solo latencies need not agree):
        configurations and solo latencies from the first that has them, a measurement in
        both the mean of the two."""

        def mean(a: dict[Any, float], b: dict[Any, float]) -> dict[Any, float]:
            return {k: (a[k] + b[k]) / 2 if k in a and k in b else a.get(k, b.get(k, 0.0)) for k in a | b}

        return Profiles(
            other.configs | self.configs,
            mean(self.pairs, other.pairs),
            mean(self.mps_alone, other.mps_alone),
            mean(self.mps_pairs, other.mps_pairs),
            f"{self.source} + {other.source}",
            mean(self.groups, other.groups),
        )


def load_profiles(directory: str | Path | None = None) -> Profiles:
    """Read a profile directory (default: the embedded H100 profiles), checking every row."""
    root = Path(directory) if directory is not None else default_profiles_path()
    if not root.is_dir():
        raise ConfigError(f"profile directory not found: {root}")
    configs_path, measurements_path = root / "configs.csv", root / "measurements.csv"
    frame = read_csv(configs_path, ("model", "batch", "kind", "gpu_mem_mib"))
    kinds = _choice(configs_path, frame, "kind", KINDS)
    names = np.array(
        [
            config_name(m, b, k)
            for m, b, k in zip(
                read_strings(frame, "model"),
                read_integers(configs_path, frame, "batch", low=1),
                kinds,
                strict=True,
            )
        ],
        dtype=object,
    )
    check_unique(configs_path, names, "model", "configuration")
    memory = read_integers(configs_path, frame, "gpu_mem_mib")
    rows = _measurements(measurements_path, set(names.tolist()))
    solo = rows[rows["sharing"] == "alone"].groupby("config")[list(LATENCIES)].mean()
    configs = {}
    for i, name in enumerate(names.tolist()):
        if name not in solo.index:
            raise TraceError(
                measurements_path, 0, "sharing", f"configuration {name} has no solo ('alone') row"
            )
        stats = {k: float(solo.loc[name, k]) for k in LATENCIES}
        configs[name] = Config(name, str(kinds[i]), int(frame["batch"].iloc[i]), int(memory[i]), stats)
    solo_p50 = {name: c.solo["p50_ms"] for name, c in configs.items()}
    ts = rows[(rows["sharing"] == "time-slicing") & (rows["tasks_on_gpu"] == 2)]
    means = ts.groupby(["config", "co_runners"], as_index=False)["p50_ms"].mean()
    pairs = {
        (str(a), str(b)): float(v) / solo_p50[str(a)]
        for a, b, v in zip(means["config"], means["co_runners"], means["p50_ms"], strict=True)
    }
    mps = rows[rows["sharing"] == "mps"]
    alone = mps[mps["tasks_on_gpu"] == 1].groupby(["config", "pct"], as_index=False)["p50_ms"].mean()
    mps_alone = {
        (str(a), int(p)): float(v) / solo_p50[str(a)]
        for a, p, v in zip(alone["config"], alone["pct"], alone["p50_ms"], strict=True)
    }
    both = (
        mps[mps["tasks_on_gpu"] == 2]
        .groupby(["config", "co_runners", "pct"], as_index=False)["p50_ms"]
        .mean()
    )
    mps_pairs = {
        (str(a), str(b), int(p)): float(v) / (mps_alone[(str(a), int(p))] * solo_p50[str(a)])
        for a, b, p, v in zip(both["config"], both["co_runners"], both["pct"], both["p50_ms"], strict=True)
        if (str(a), int(p)) in mps_alone
    }
    many = rows[(rows["sharing"] == "time-slicing") & (rows["tasks_on_gpu"] >= 3)]
    means = many.groupby(["config", "co_runners"], as_index=False)["p50_ms"].mean()
    groups = {
        (str(a), *(o for o in str(b).split(";") if o)): float(v) / solo_p50[str(a)]
        for a, b, v in zip(means["config"], means["co_runners"], means["p50_ms"], strict=True)
    }
    return Profiles(configs, pairs, mps_alone, mps_pairs, str(root), groups)


def load_all(directories: Sequence[str | Path]) -> Profiles:
    """Several profile directories read as one (:meth:`Profiles.merged`); none: the
    embedded profiles."""
    profiles = [load_profiles(d) for d in directories] or [load_profiles()]
    merged = profiles[0]
    for more in profiles[1:]:
        merged = merged.merged(more)
    return merged


def load_rows(directory: str | Path) -> pd.DataFrame:
    """Every measurement row of a profile directory, checked: ``config``, ``co_runners``
    (``;``-separated), ``sharing``, ``pct``, ``tasks_on_gpu`` and the latency columns."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"profile directory not found: {root}")
    return _measurements(root / "measurements.csv", set(load_profiles(root).configs))


def _choice(path: Path, frame: pd.DataFrame, col: str, allowed: tuple[str, ...]) -> np.ndarray:
    values = read_strings(frame, col)
    bad = ~np.isin(values.astype(str), allowed)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(frame, i), col, f"must be one of {', '.join(allowed)}: '{values[i]}'")
    return values


def _measurements(path: Path, known: set[str]) -> pd.DataFrame:
    """The measurement rows with a ``config`` column, checked: sharing, SM share, latencies
    (positive, finite), group sizes and co-runners that are known configurations."""
    frame = read_csv(
        path, ("measurement", "sharing", "tasks_on_gpu", "model", "batch", "kind", "co_runners", *LATENCIES)
    )
    sharing = _choice(path, frame, "sharing", SHARING)
    kinds = _choice(path, frame, "kind", KINDS)
    batch = read_integers(path, frame, "batch", low=1)
    names = [config_name(m, b, k) for m, b, k in zip(read_strings(frame, "model"), batch, kinds, strict=True)]
    out = pd.DataFrame(
        {
            "measurement": read_integers(path, frame, "measurement"),
            "sharing": sharing,
            "tasks_on_gpu": read_integers(path, frame, "tasks_on_gpu", low=1),
            "config": names,
            "co_runners": read_strings(frame, "co_runners"),
        }
    )
    for col in LATENCIES:
        raw = frame[col].str.strip()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(path, line(frame, i), col, f"must be a positive number of ms: '{raw.iloc[i]}'")
        out[col] = values
    pct = pd.to_numeric(
        frame.get("mps_thread_pct", pd.Series([""] * len(frame))).str.strip(), errors="coerce"
    )
    out["pct"] = pct.to_numpy(dtype=np.float64)
    bad_pct = (out["sharing"] == "mps").to_numpy() & ~((out["pct"] > 0) & (out["pct"] <= 100)).to_numpy()
    if bad_pct.any():
        i = int(np.flatnonzero(bad_pct)[0])
        raise TraceError(path, line(frame, i), "mps_thread_pct", "an mps row needs a share in (0, 100]")
    for i, (name, others) in enumerate(zip(names, out["co_runners"], strict=True)):
        for other in [name, *(o for o in str(others).split(";") if o)]:
            if other not in known:
                raise TraceError(path, line(frame, i), "co_runners", f"unknown configuration '{other}'")
    return out
