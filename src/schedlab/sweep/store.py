"""The results store of a sweep: one Parquet file per finished run, written atomically.

Layout of a store directory::

    runs/<run_id>.parquet   one row set per run, config in columns (a fill run: 131 rows,
                            x = 0..130; a replay run: one row of metrics)
    sweep.json              the matrix of the latest sweep into this store
    summary.csv             statistics over seeds (written at the end)

A store holds runs of one kind (fill or replay sweeps); every run file has columns ``kind``
and ``slot`` (what the run measures: a store keeps one run per slot).

A file appears under its final name only once complete (written to a temporary name, then
renamed), so a killed sweep leaves only whole runs, and a rerun skips exactly those.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from schedlab.errors import ConfigError
from schedlab.metrics.stats import STATS, aggregate
from schedlab.policies import PAPER_POLICIES
from schedlab.provenance import stamp, write_parquet

#: The columns that say what a run measures: a store keeps one run per slot.
SLOT = ("workload", "policy", "seed", "tune_ratio")

#: The fill curves, by the names summaries give them.
SUMMARY_METRICS = {"alloc_pct": "alloc", "frag_amount_pct": "frag_amount", "frag_ratio_pct": "frag_ratio"}
SUMMARY_COLUMNS = [
    "workload",
    "policy",
    "x",
    "n_seeds",
    *(f"{m}_{stat}" for m in SUMMARY_METRICS.values() for stat in STATS),
]


class StoredSpec(Protocol):
    """What the store needs of a run's spec."""

    @property
    def version(self) -> str: ...

    @property
    def run_id(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def inputs(self) -> dict[str, str]: ...


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders ``gpushare40`` before ``gpushare100``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


class ResultStore:
    """A directory of finished runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs_dir = root / "runs"

    def check_folder(self) -> None:
        """Refuse a folder that holds other files (a fill or replay output, say) and is not a
        store: a sweep would mix its runs in, and ``report`` would find none."""
        if not self.root.is_dir() or (self.root / "sweep.json").exists() or self.runs_dir.is_dir():
            return
        others = sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ConfigError(
                f"--out {self.root}: not a sweep results store (it holds {shown}, no runs/ or"
                " sweep.json); give a new or empty folder, or an earlier sweep's"
            )

    def done(self) -> set[str]:
        """Ids of the runs already stored."""
        if not self.runs_dir.is_dir():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.parquet")}

    def write(self, frame: pd.DataFrame, spec: StoredSpec) -> Path:
        """Store one run's rows atomically under its ``run_id``, with its provenance (the
        run's configuration, input digests and version) in the file's metadata."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        final = self.runs_dir / f"{spec.run_id}.parquet"
        write_parquet(frame, final, stamp(spec.describe(), spec.inputs()) | {"version": spec.version})
        return final

    def _first_rows(self) -> dict[str, pd.Series]:
        """The first row of every stored run, by run id."""
        rows = {}
        for path in sorted(self.runs_dir.glob("*.parquet")) if self.runs_dir.is_dir() else []:
            rows[path.stem] = pd.read_parquet(path).iloc[0]
        return rows

    def slots(self) -> dict[str, str]:
        """``{run_id: slot}`` of every stored run (runs stored before slots were recorded:
        their workload, policy, seed and tune ratio)."""
        found = {}
        for run_id, row in self._first_rows().items():
            if "slot" in row.index:
                found[run_id] = str(row["slot"])
            else:
                found[run_id] = json.dumps(
                    [row[k].item() if hasattr(row[k], "item") else row[k] for k in SLOT]
                )
        return found

    def kinds(self) -> set[str]:
        """The kinds of sweep (``fill``, ``replay``) whose runs the store holds."""
        return {str(row["kind"]) if "kind" in row.index else "fill" for row in self._first_rows().values()}

    def remove(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            (self.runs_dir / f"{run_id}.parquet").unlink(missing_ok=True)

    def clean_partial(self) -> int:
        """Remove temporary files left by a killed sweep; return how many."""
        partial = list(self.runs_dir.glob(".*.tmp")) if self.runs_dir.is_dir() else []
        for path in partial:
            path.unlink()
        return len(partial)

    def load(self) -> pd.DataFrame:
        """Every stored run (in the order of their ids)."""
        files = sorted(self.runs_dir.glob("*.parquet")) if self.runs_dir.is_dir() else []
        if not files:
            raise ConfigError(f"no finished runs in {self.runs_dir}")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def fill_order(runs: pd.DataFrame) -> pd.DataFrame:
    """Fill runs sorted by workload (default first, then natural order), policy (the paper's
    six first), seed, tune ratio and x."""
    policies = list(PAPER_POLICIES) + sorted(set(runs["policy"]) - set(PAPER_POLICIES))
    runs = runs.assign(
        _w=runs["workload"].map(lambda w: (w != "default", natural_key(w))),
        _p=runs["policy"].map(policies.index),
    )
    runs = runs.sort_values(["_w", "_p", "seed", "tune_ratio", "x"], kind="stable")
    return runs.drop(columns=["_w", "_p"]).reset_index(drop=True)


def check_consistent(runs: pd.DataFrame) -> None:
    """Refuse a store whose runs of one workload come from different input files or
    schedlab versions, or that holds two runs of one slot: their mean means nothing."""
    for column, what in (
        ("pods_sha256", "pod lists"),
        ("nodes_sha256", "node lists"),
        ("version", "schedlab versions"),
    ):
        kinds = runs.groupby("workload")[column].nunique()
        if (kinds > 1).any():
            workload = str(kinds[kinds > 1].index[0])
            raise ConfigError(
                f"the store mixes runs of different {what} for workload {workload!r}; "
                "rerun the whole sweep into it (finished runs of the current inputs are kept) "
                "or give a new --out"
            )
    per_slot = runs.groupby(list(SLOT))["run_id"].nunique()
    if (per_slot > 1).any():
        raise ConfigError(
            f"the store holds {int((per_slot > 1).sum())} slot(s) with two runs; rerun the sweep"
        )


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per workload, policy and x: for every curve, mean, sample std, n and the 95 % Student-t
    interval over seeds (:func:`schedlab.metrics.stats.aggregate`; std and interval NaN for
    one seed); a ``tune_ratio`` column follows ``policy`` when the runs have several. A store
    of mixed inputs is refused (:func:`check_consistent`)."""
    runs = fill_order(runs)
    check_consistent(runs)
    keys = ["workload", "policy"]
    if runs["tune_ratio"].nunique() > 1:
        keys.append("tune_ratio")
    summary = aggregate(runs.rename(columns=SUMMARY_METRICS), [*keys, "x"], list(SUMMARY_METRICS.values()))
    summary = summary.rename(columns={"runs": "n_seeds"})
    columns = SUMMARY_COLUMNS[:2] + keys[2:] + SUMMARY_COLUMNS[2:]
    return summary[columns]
