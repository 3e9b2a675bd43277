"""What a replay records as it runs: every run attempt, the cluster after every event, and
fragmentation samples. Columns live in typed buffers (8 bytes a value; ``q`` = int64,
``d`` = float64): a million-task run keeps tens of millions of values.

A fragmentation sample counts the nodes in service only (a node failed, drained or of a MIG
layout a GPU is not in is not free capacity): FGD's measure (``frag_milli``, expected
unusable GPU milli for the workload's typical tasks) and the free GPU milli, both with a MIG
instance as one GPU, as the placement sees it, and slice-aware (``frag_compute_milli``,
``free_compute_milli``): each GPU weighted by its compute, a MIG instance by its share of
the physical GPU (g/7; g/4 on an A30), so that partitioned and whole GPUs compare."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pandas as pd

from schedlab.arrays import IntArray
from schedlab.cluster import ClusterState, Fragmentation
from schedlab.cluster.fragmentation import NodeFragmentation
from schedlab.cluster.partition import SHARE_UNITS

ATTEMPT_COLUMNS = (
    ("task", "q"),
    ("node", "q"),
    ("gpu_mask", "q"),
    ("start", "d"),
    ("end", "d"),
    ("attempt", "q"),
)
SERIES_COLUMNS = (("time", "d"), ("allocated_milli", "q"), ("queued", "i"), ("running", "i"))
FRAG_COLUMNS = ("time", "frag_milli", "free_milli", "frag_compute_milli", "free_compute_milli")


def in_service(node_frag: IntArray, cluster: ClusterState, units: IntArray) -> tuple[int, int, int, int]:
    """Over the nodes in service: the fragmentation numerators' sum and the free GPU milli,
    then both with each node's GPUs weighted by their compute in :data:`SHARE_UNITS` (``units``
    per node)."""
    up = cluster.up
    free = cluster.gpu_free.sum(axis=1)
    return (
        int(node_frag[up].sum()),
        int(free[up].sum()),
        int((node_frag * units)[up].sum()),
        int((free * units)[up].sum()),
    )


def buffers(columns: tuple[tuple[str, str], ...]) -> dict[str, array[Any]]:
    return {name: array(code) for name, code in columns}


def frame(columns: dict[str, array[Any]]) -> pd.DataFrame:
    return pd.DataFrame({k: np.frombuffer(v, dtype=v.typecode) for k, v in columns.items()})


class Recorder:
    """Attempts, the series after every arrival and departure, and fragmentation samples."""

    def __init__(self, cluster: ClusterState, frag: Fragmentation, units: IntArray) -> None:
        self.cluster = cluster
        self.frag = frag
        self.units = units  # per node: its GPUs' compute in SHARE_UNITS
        self.attempts = buffers(ATTEMPT_COLUMNS)
        self.series = buffers(SERIES_COLUMNS)
        self.frag_samples = buffers(tuple((name, "d") for name in FRAG_COLUMNS))
        self._node_frag = NodeFragmentation(frag, len(cluster))

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
        frag, free, frag_compute, free_compute = in_service(self._node_frag.of(c), c, self.units)
        scale = self.frag.scale  # floats divided as the compiled path's arrays are
        row = (now, float(frag) / scale, free, float(frag_compute) / (SHARE_UNITS * scale))
        for name, value in zip(FRAG_COLUMNS, (*row, float(free_compute) / SHARE_UNITS), strict=True):
            self.frag_samples[name].append(value)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Attempts, series and fragmentation samples as tables."""
        frag = frame(self.frag_samples)
        frag["free_milli"] = frag["free_milli"].astype(np.int64)
        return frame(self.attempts), frame(self.series), frag
