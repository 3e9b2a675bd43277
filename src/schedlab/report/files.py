"""Writing results as data: Parquet records and a JSON summary with the full configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab.files import write_json
from schedlab.fill import FillResult
from schedlab.provenance import write_parquet


def write_fill(results: Sequence[FillResult], out: Path, meta: Mapping[str, Any]) -> list[Path]:
    """Write ``records.parquet`` (every task of every run) and ``summary.json`` into ``out``,
    each with ``meta`` (a :func:`~schedlab.provenance.stamp`: config, inputs, version)."""
    out.mkdir(parents=True, exist_ok=True)
    records = pd.concat(
        [r.records.assign(policy=r.config.policy, seed=r.config.seed) for r in results],
        ignore_index=True,
    )
    records_path = out / "records.parquet"
    write_parquet(records, records_path, meta)
    summary_path = out / "summary.json"
    write_json(summary_path, {**meta, "runs": [{"config": r.config_dict(), **r.summary()} for r in results]})
    return [records_path, summary_path]
