"""Heterogeneous speeds: how fast a task runs on each GPU model (and task class).

A task of run time d (at speed 1) takes d / speed on a node. The speed table is a CSV with
columns ``model`` and ``speed`` and an optional ``task_class`` (``cpu``, ``sharing`` or
``whole``; empty = every class). A (model, class) row wins over a (model, any) row; models
not listed run at speed 1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.errors import TraceError
from schedlab.trace.columns import read_strings
from schedlab.trace.csvfile import read_csv
from schedlab.trace.tables import FloatArray, IntArray

log = logging.getLogger(__name__)

TASK_CLASSES = ("cpu", "sharing", "whole")


def class_index(shape: Shape) -> int:
    """0 for CPU-only, 1 for sharing, 2 for whole-GPU tasks (index into :data:`TASK_CLASSES`)."""
    return 0 if shape.is_cpu_only else 1 if shape.is_sharing else 2


@dataclass(frozen=True)
class SpeedTable:
    """Speed factors by (GPU model, task class); class "" applies to every class."""

    factors: dict[tuple[str, str], float] = field(default_factory=dict)
    source: str = "<memory>"
    lines: dict[tuple[str, str], int] = field(default_factory=dict)  # file line of each row

    @classmethod
    def load(cls, path: str | Path) -> SpeedTable:
        path = Path(path)
        frame = read_csv(path, ("model", "speed"))
        if not len(frame):
            raise TraceError(path, 2, None, "no data rows (the file has only a header)")
        models = read_strings(frame, "model")
        classes = read_strings(frame, "task_class")
        raw = frame["speed"].str.strip()
        speeds = np.array([_positive(path, i, v) for i, v in enumerate(raw)])
        factors: dict[tuple[str, str], float] = {}
        lines: dict[tuple[str, str], int] = {}
        for i, (model, task_class) in enumerate(zip(models, classes, strict=True)):
            if task_class not in ("", *TASK_CLASSES):
                raise TraceError(
                    path, i + 2, "task_class", f"must be one of cpu, sharing, whole or empty: '{task_class}'"
                )
            if (model, task_class) in factors:
                raise TraceError(
                    path, i + 2, "model", f"duplicate row for model '{model}' class '{task_class}'"
                )
            factors[(str(model), str(task_class))] = float(speeds[i])
            lines[(str(model), str(task_class))] = i + 2
        return cls(factors, str(path), lines)

    def unknown_models(self, models: Iterable[str]) -> list[str]:
        """Warn about each row whose GPU model no node has (it has no effect); return them."""
        have = set(models)
        unknown = [key for key in self.factors if key[0] not in have]
        for model, _ in unknown:
            line = self.lines.get((model, _), 0)
            log.warning(
                "%s:%d: field 'model': GPU model '%s' is on no node; the row has no effect",
                self.source,
                line,
                model,
            )
        return [model for model, _ in unknown]

    def node_factors(self, model: IntArray, models: tuple[str, ...]) -> FloatArray:
        """Speed per node (rows) and task class (columns, as :data:`TASK_CLASSES`)."""
        table = np.ones((len(models), len(TASK_CLASSES)))
        for m, name in enumerate(models):
            for c, task_class in enumerate(TASK_CLASSES):
                table[m, c] = self.factors.get((name, task_class), self.factors.get((name, ""), 1.0))
        result: FloatArray = table[model]
        return result


def _positive(path: Path, i: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(path, i + 2, "speed", f"not a number: '{text}'") from None
    if not 0 < value < float("inf"):
        raise TraceError(path, i + 2, "speed", f"must be a positive finite number: {text}")
    return value
