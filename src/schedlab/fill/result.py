"""The configuration and the result of one fill run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from schedlab.trace.tables import FloatArray

CURVES = ("alloc_pct", "frag_amount_pct", "frag_ratio_pct")


@dataclass(frozen=True)
class FillConfig:
    """One fill run: policy, seed, target load (x GPU capacity), typical-task coverage."""

    policy: str
    seed: int
    tune_ratio: float = 1.3
    coverage: float = 0.95


@dataclass
class FillResult:
    """A finished fill run: its configuration, per-task record and curves over arrived %."""

    config: FillConfig
    pods: str
    nodes: str
    capacity_milli: int
    records: pd.DataFrame
    wall_s: float
    curves: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def tasks(self) -> int:
        return len(self.records)

    @property
    def placed(self) -> int:
        return int((self.records["node"] >= 0).sum())

    @property
    def failed(self) -> int:
        return self.tasks - self.placed

    def summary(self) -> dict[str, object]:
        """The run as plain data (JSON-ready; NaN curve points become None)."""
        doc: dict[str, object] = {
            "policy": self.config.policy,
            "seed": self.config.seed,
            "tasks": self.tasks,
            "placed": self.placed,
            "failed": self.failed,
            "wall_s": round(self.wall_s, 4),
        }
        for name in CURVES:
            doc[name] = [None if np.isnan(v) else round(float(v), 6) for v in self.curves[name]]
        return doc

    def config_dict(self) -> dict[str, object]:
        return {**asdict(self.config), "pods": self.pods, "nodes": self.nodes}
