"""What a trace format is: how to recognise a file of it, load it, and what its rows become.

Every format module registers one :class:`Format` per kind of file it reads: node lists
(usable as ``--nodes``), job tables (usable as ``--jobs``; a :class:`TimedWorkload` whose
``excluded`` counts the rows left out, by reason) or request streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schedlab.trace.csvfile import as_trace_errors
from schedlab.trace.tables import Tasks, effective_cpu


@dataclass(frozen=True)
class Peek:
    """The start of a file, for recognising its format."""

    path: Path
    first_line: str
    head: str = ""  # the first 4 KiB as text

    @property
    def columns(self) -> set[str]:
        """The first line's comma-separated fields, stripped of spaces and quotes."""
        return {c.strip().strip('"') for c in self.first_line.split(",")}

    @property
    def fields(self) -> int:
        return len(self.first_line.split(","))

    @property
    def is_json(self) -> bool:
        return self.first_line.lstrip().startswith(("[", "{"))

    @classmethod
    def of(cls, path: Path) -> Peek:
        with as_trace_errors(path), path.open("rb") as f:
            head = f.read(4096)
        text = head.decode("utf-8-sig", errors="replace")
        return cls(path, text.splitlines()[0] if text.strip() else "", text)


@dataclass(frozen=True)
class Format:
    """One kind of file: ``kind`` is ``nodes``, ``jobs`` or ``requests``."""

    name: str
    kind: str
    title: str
    sniff: Callable[[Peek], bool]
    load: Callable[[Path], Any]
    #: How the file's rows map to schedlab's model (for ``trace inspect`` and the docs).
    mapping: str


FORMATS: list[Format] = []


def register(fmt: Format) -> Format:
    FORMATS.append(fmt)
    return fmt


def tasks_of(
    name: np.ndarray,
    cpu_milli: np.ndarray,
    memory_mib: np.ndarray,
    num_gpu: np.ndarray,
    gpu_milli: np.ndarray,
    arrival: np.ndarray,
    source: Path,
    qos: str = "",
) -> Tasks:
    """A task table of these requests (CPU as :func:`effective_cpu` counts it), one QoS,
    no GPU-type constraint, created at ``arrival``."""
    n = len(name)
    return Tasks(
        name=np.asarray(name, dtype=object),
        cpu_milli=effective_cpu(np.asarray(cpu_milli, dtype=np.int64)),
        memory_mib=np.asarray(memory_mib, dtype=np.int64),
        num_gpu=np.asarray(num_gpu, dtype=np.int64),
        gpu_milli=np.asarray(gpu_milli, dtype=np.int64),
        gpu_spec=np.full(n, "", dtype=object),
        qos=np.full(n, qos, dtype=object),
        pod_phase=np.full(n, "", dtype=object),
        creation_time=np.asarray(arrival, dtype=np.float64),
        deletion_time=np.full(n, np.nan),
        scheduled_time=np.full(n, np.nan),
        source=str(source),
    )
