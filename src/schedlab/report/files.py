"""Writing results as data: Parquet records and a JSON summary with the full configuration."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab.experiments.fill import FillResult


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as JSON atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def write_fill(results: Sequence[FillResult], out: Path, config: Mapping[str, Any]) -> list[Path]:
    """Write ``records.parquet`` (every task of every run) and ``summary.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    records = pd.concat(
        [r.records.assign(policy=r.config.policy, seed=r.config.seed) for r in results],
        ignore_index=True,
    )
    records_path = out / "records.parquet"
    records.to_parquet(records_path, index=False)
    summary_path = out / "summary.json"
    write_json(
        summary_path,
        {
            "config": dict(config),
            "runs": [{"config": r.config_dict(), **r.summary()} for r in results],
        },
    )
    return [records_path, summary_path]
