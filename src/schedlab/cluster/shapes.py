"""Task shapes: the distinct resource requests of a workload.

Task shapes repeat (the default openb trace has 151 in 8152 tasks), so schedulers cache
per-shape work. A :class:`Shape` is bound to one cluster: its GPU-type constraint is held as
a mask over that cluster's GPU models.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from schedlab.trace.tables import GPU_MILLI, BoolArray, IntArray, Tasks


@dataclass(frozen=True, eq=False)
class Shape:
    """One distinct request: CPU (milli), memory (MiB), GPU count and per-GPU milli.

    ``allowed`` masks the cluster's GPU models a GPU task may use (``None``: any model).
    """

    id: int
    cpu: int
    mem: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: str
    allowed: BoolArray | None

    @cached_property
    def is_cpu_only(self) -> bool:
        return self.num_gpu == 0

    @cached_property
    def is_sharing(self) -> bool:
        """One GPU, a fraction of it."""
        return self.num_gpu == 1 and self.gpu_milli < GPU_MILLI

    @cached_property
    def total_gpu_milli(self) -> int:
        return self.num_gpu * self.gpu_milli

    def describe(self) -> str:
        """E.g. ``a task of 2 x 1000 GPU milli, 8000 CPU milli, 16384 MiB``."""
        gpu = f"{self.num_gpu} x {self.gpu_milli} GPU milli, " if self.num_gpu else ""
        return f"a task of {gpu}{self.cpu} CPU milli, {self.mem} MiB"

    @cached_property
    def task_class(self) -> int:
        """-1 for CPU-only, 0 for a sharing task, k for a task of k whole GPUs."""
        if self.is_cpu_only:
            return -1
        return 0 if self.is_sharing else self.num_gpu


def intern(*columns: IntArray) -> tuple[IntArray, IntArray]:
    """Number the distinct rows of ``columns`` in order of first appearance: each row's id,
    and each id's first row. Works on integer codes (hashing), never on row tuples, so a
    million rows cost a few arrays of a million integers."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column)
        key = pd.factorize(key * len(uniques) + codes)[0].astype(np.int64)  # stays below n
    first = np.flatnonzero(np.r_[True, np.diff(np.maximum.accumulate(key)) > 0]) if len(key) else key
    return key, first


def allowed_mask(spec: str, models: tuple[str, ...]) -> BoolArray | None:
    """Mask over ``models`` of those a ``|``-separated constraint lists; None if unconstrained."""
    names = {m for m in spec.split("|") if m}
    if not names:
        return None
    return np.array([m in names for m in models], dtype=bool)


@dataclass(frozen=True, eq=False)
class ShapeTable:
    """The shapes of a task list and, for each task, the id of its shape."""

    shapes: tuple[Shape, ...]
    of_task: IntArray

    def __len__(self) -> int:
        return len(self.shapes)

    @classmethod
    def build(cls, tasks: Tasks, models: tuple[str, ...]) -> ShapeTable:
        """Intern the shapes of ``tasks``; ids follow first appearance."""
        if not len(tasks):
            return cls(shapes=(), of_task=np.zeros(0, dtype=np.int64))
        spec = pd.factorize(tasks.gpu_spec)[0]
        ids, first = intern(tasks.cpu_milli, tasks.memory_mib, tasks.num_gpu, tasks.gpu_milli, spec)
        shapes = tuple(
            Shape(
                id=i,
                cpu=int(tasks.cpu_milli[j]),
                mem=int(tasks.memory_mib[j]),
                num_gpu=int(tasks.num_gpu[j]),
                gpu_milli=int(tasks.gpu_milli[j]),
                gpu_spec=str(tasks.gpu_spec[j]),
                allowed=allowed_mask(str(tasks.gpu_spec[j]), models),
            )
            for i, j in enumerate(first)
        )
        return cls(shapes=shapes, of_task=ids)


@dataclass(frozen=True, eq=False)
class ShapeArrays:
    """The shapes of a :class:`ShapeTable` as columns (index = shape id), for vectorised
    checks and compiled kernels. ``allowed`` is S x M over the cluster's GPU models (all
    True for unconstrained and CPU-only shapes)."""

    cpu: IntArray
    mem: IntArray
    num_gpu: IntArray
    gpu_milli: IntArray
    allowed: BoolArray

    @classmethod
    def build(cls, shapes: tuple[Shape, ...], models: int) -> ShapeArrays:
        width = max(models, 1)
        allowed = np.ones((len(shapes), width), dtype=bool)
        for s in shapes:
            if s.allowed is not None and not s.is_cpu_only:
                allowed[s.id, :models] = s.allowed
        return cls(
            cpu=np.array([s.cpu for s in shapes], dtype=np.int64),
            mem=np.array([s.mem for s in shapes], dtype=np.int64),
            num_gpu=np.array([s.num_gpu for s in shapes], dtype=np.int64),
            gpu_milli=np.array([s.gpu_milli for s in shapes], dtype=np.int64),
            allowed=allowed,
        )

    @property
    def total_gpu_milli(self) -> IntArray:
        result: IntArray = self.num_gpu * self.gpu_milli
        return result
