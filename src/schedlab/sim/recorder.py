"""What a replay records as it runs: every run attempt, the cluster after every event, and
fragmentation samples. Columns live in typed buffers (8 bytes a value; ``q`` = int64,
``d`` = float64): a million-task run keeps tens of millions of values."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pandas as pd

from schedlab.cluster import ClusterState, Fragmentation

ATTEMPT_COLUMNS = (
    ("task", "q"),
    ("node", "q"),
    ("gpu_mask", "q"),
    ("start", "d"),
    ("end", "d"),
    ("attempt", "q"),
)
SERIES_COLUMNS = (("time", "d"), ("allocated_milli", "q"), ("queued", "i"), ("running", "i"))
FRAG_COLUMNS = ("time", "frag_milli", "free_milli")


def buffers(columns: tuple[tuple[str, str], ...]) -> dict[str, array[Any]]:
    return {name: array(code) for name, code in columns}


def frame(columns: dict[str, array[Any]]) -> pd.DataFrame:
    return pd.DataFrame({k: np.frombuffer(v, dtype=v.typecode) for k, v in columns.items()})


class Recorder:
    """Attempts, the series after every arrival and departure, and fragmentation samples."""

    def __init__(self, cluster: ClusterState, frag: Fragmentation) -> None:
        self.cluster = cluster
        self.frag = frag
        self.attempts = buffers(ATTEMPT_COLUMNS)
        self.series = buffers(SERIES_COLUMNS)
        self.frag_samples = buffers(tuple((name, "d") for name in FRAG_COLUMNS))
        self._node_frag = np.zeros(len(cluster), dtype=np.int64)
        self._frag_seen = np.full(len(cluster), -1, dtype=np.int64)

    def attempt(self, task: int, node: int, gpu_mask: int, start: float, end: float, attempt: int) -> None:
        for name, value in zip(self.attempts, (task, node, gpu_mask, start, end, attempt), strict=True):
            self.attempts[name].append(value)

    def state(self, now: float, queued: int, running: int) -> None:
        series = self.series
        series["time"].append(now)
        series["allocated_milli"].append(self.cluster.allocated_gpu_milli)
        series["queued"].append(queued)
        series["running"].append(running)

    def sample(self, now: float) -> None:
        """Record cluster fragmentation, recomputing only nodes changed since the last sample."""
        c = self.cluster
        dirty = np.flatnonzero(self._frag_seen != c.version)
        if len(dirty):
            self._node_frag[dirty] = self.frag.node_frag(c.cpu_left[dirty], c.gpu_free[dirty], c.model[dirty])
            self._frag_seen[dirty] = c.version[dirty]
        samples = self.frag_samples
        samples["time"].append(now)
        samples["frag_milli"].append(float(self._node_frag.sum()) / self.frag.scale)
        samples["free_milli"].append(c.free_gpu_milli)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Attempts, series and fragmentation samples as tables."""
        frag = frame(self.frag_samples)
        frag["free_milli"] = frag["free_milli"].astype(np.int64)
        return frame(self.attempts), frame(self.series), frag
