"""Trace formats: one small module per public trace, each mapping its rows to schedlab's
node and task model (documented in the module and in ``docs/inputs.md``).

:func:`detect` recognises a file's format from its name and first line;
:func:`read_nodes` and :func:`read_workload` load any node list or job table, which is what
``--nodes`` and ``--jobs`` accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schedlab.errors import TraceError
from schedlab.formats import azure_llm, dlrm, helios, openb, pai, philly, spot_gpu
from schedlab.formats.base import FORMATS, Format, Peek
from schedlab.trace.tables import Nodes
from schedlab.workload.timed import TimedWorkload

__all__ = ["FORMATS", "Format", "detect", "read_nodes", "read_workload"]
del azure_llm, dlrm, helios, openb, pai, philly, spot_gpu  # imported to register their formats


def detect(path: str | Path) -> Format:
    """The format of ``path``; a clear error naming what is known when none matches."""
    path = Path(path)
    if path.suffix == ".header" and path.is_file():
        columns = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        raise TraceError(
            path,
            1,
            None,
            f"a header file ({len(columns[0].split(',')) if columns else 0} column names), not a table:"
            f" it names the columns of the headerless CSV beside it; give that file"
            f" (e.g. {path.with_suffix('.csv').name})",
        )
    peek = Peek.of(path)
    for fmt in FORMATS:
        if fmt.sniff(peek):
            return fmt
    known = ", ".join(f.name for f in FORMATS)
    raise TraceError(path, 1, None, f"not a trace format schedlab knows (known: {known})")


def read_nodes(path: str | Path) -> Nodes:
    """A node list of any known format."""
    nodes: Nodes = _read(path, "nodes", "a node list")
    return nodes


def read_workload(path: str | Path) -> TimedWorkload:
    """A job table of any known format, as a workload."""
    workload: TimedWorkload = _read(path, "jobs", "a job table")
    return workload


def _read(path: str | Path, kind: str, what: str) -> Any:
    fmt = detect(path)
    if fmt.kind != kind:
        raise TraceError(path, 1, None, f"a {fmt.title}, not {what}")
    return fmt.load(Path(path))
