"""Load and validate openb-format node and pod lists (Alibaba cluster-trace-gpu-v2023).

Every row is checked. A malformed file raises one :class:`~schedlab.errors.TraceError`
naming the file, the line (the header is line 1) and the field; nothing is skipped silently.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schedlab.errors import TraceError
from schedlab.trace.tables import GPU_MILLI, Nodes, Tasks, effective_cpu

log = logging.getLogger(__name__)

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_REQUIRED = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
POD_TIMES = ("creation_time", "deletion_time", "scheduled_time")
POD_OPTIONAL = ("gpu_spec", "qos", "pod_phase", *POD_TIMES)


def read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV as strings, checking that it parses and has the required columns."""
    with _as_trace_errors(path):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    return _checked_columns(path, frame, required)


#: Rows parsed at a time from large files (their text is dropped once parsed).
CHUNK_ROWS = 1 << 18


def read_csv_chunks(path: Path, required: Sequence[str], rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Read a CSV as strings in chunks of ``rows`` (each frame's index is its row number in
    the file), checking that it parses and has the required columns. A file with a header
    and no row gives one empty frame."""
    with _as_trace_errors(path):
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, chunksize=rows)
    yielded = False
    with reader:
        while True:
            with _as_trace_errors(path):
                frame = next(reader, None)
            if frame is None:
                break
            yield _checked_columns(path, frame, required)
            yielded = True
    if not yielded:
        yield read_csv(path, required)


@contextlib.contextmanager
def _as_trace_errors(path: Path) -> Iterator[None]:
    """Turn the CSV reader's failures into one :class:`TraceError` naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise TraceError(path, 0, None, "file not found") from None
    except pd.errors.EmptyDataError:
        raise TraceError(path, 1, None, "file is empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise TraceError(path, _parser_line(str(err)), None, f"not valid CSV: {err}") from None


def _checked_columns(path: Path, frame: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in required:
        if col not in frame.columns:
            have = ", ".join(frame.columns)
            raise TraceError(path, 1, col, f"required column is missing (header has: {have})")
    return frame


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join the columns parsed from each chunk."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def release_memory() -> None:
    """Give the memory freed after parsing a large file back to the operating system: the
    CSV parser's arrow buffers, and the C heap where it is glibc's (a million-row job file
    would otherwise keep a few hundred MB for the rest of the run)."""
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)


def _parser_line(message: str) -> int:
    """The line number pandas reports in a parser error, or 0 when it gives none."""
    words = message.replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "line" and words[i + 1].isdigit():
            return int(words[i + 1])
    return 0


def line(frame: pd.DataFrame, i: int) -> int:
    """The file line of the ``i``-th row of ``frame`` (the header is line 1)."""
    return int(frame.index[i]) + 2


def read_integers(
    path: Path,
    frame: pd.DataFrame,
    col: str,
    *,
    low: int | None = 0,
    high: int | None = None,
) -> np.ndarray:
    """Parse a required column of integers, each within ``low..high``."""
    raw = frame[col].str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        text = raw.iloc[i]
        why = "missing value" if text == "" else f"not an integer: '{text}'"
        raise TraceError(path, line(frame, i), col, why)
    out = values.to_numpy(dtype=np.float64)
    if low is not None and (out < low).any():
        i = int(np.flatnonzero(out < low)[0])
        what = "negative request" if low == 0 else f"below {low}"
        raise TraceError(path, line(frame, i), col, f"{what}: {raw.iloc[i]}")
    if high is not None and (out > high).any():
        i = int(np.flatnonzero(out > high)[0])
        raise TraceError(path, line(frame, i), col, f"must be at most {high}: {raw.iloc[i]}")
    return out.astype(np.int64)


def read_times(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """Parse an optional column of times in seconds; empty cells become NaN."""
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    raw = frame[col].str.strip()
    values = np.array(pd.to_numeric(raw, errors="coerce"), dtype=np.float64)  # a writeable copy
    bad = np.isnan(values) & (raw != "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(frame, i), col, f"not a number: '{raw.iloc[i]}'")
    if (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        raise TraceError(path, line(frame, i), col, f"negative time: {raw.iloc[i]}")
    return values


def read_strings(frame: pd.DataFrame, col: str) -> np.ndarray:
    """An optional column of text (stripped; empty where missing). Equal values share one
    string object, so a million rows of a few QoS classes cost a million pointers."""
    if col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    codes, uniques = pd.factorize(frame[col].str.strip())
    values = np.asarray(uniques, dtype=object)
    result: np.ndarray = values[codes] if len(values) else np.full(len(frame), "", dtype=object)
    return result


def load_nodes(path: str | Path) -> Nodes:
    """Load an openb node list (columns ``sn, cpu_milli, memory_mib, gpu, model``)."""
    path = Path(path)
    frame = read_csv(path, NODE_COLUMNS)
    names = frame["sn"].str.strip()
    if (names == "").any():
        raise TraceError(path, int(np.flatnonzero(names == "")[0]) + 2, "sn", "missing node name")
    dup = names.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((names == names.iloc[i]).to_numpy())[0])
        raise TraceError(
            path, i + 2, "sn", f"duplicate node name '{names.iloc[i]}' (first on line {first + 2})"
        )
    return Nodes(
        name=names.to_numpy(dtype=object),
        cpu_milli=read_integers(path, frame, "cpu_milli"),
        memory_mib=read_integers(path, frame, "memory_mib"),
        num_gpu=read_integers(path, frame, "gpu"),
        model=read_strings(frame, "model"),
        source=str(path),
    )


def check_gpu_request(path: Path, num_gpu: np.ndarray, milli: np.ndarray, first_row: int = 0) -> None:
    """GPU count and per-GPU milli must describe a CPU-only, sharing or whole-GPU task
    (``first_row``: the file row of the arrays' first element)."""
    checks = (
        (
            (num_gpu > 1) & (milli < GPU_MILLI),
            "num_gpu",
            "num_gpu > 1 needs whole GPUs (gpu_milli = 1000)",
        ),
        ((num_gpu >= 1) & (milli == 0), "gpu_milli", "num_gpu >= 1 needs gpu_milli > 0"),
        ((num_gpu == 0) & (milli > 0), "gpu_milli", "gpu_milli > 0 needs num_gpu >= 1"),
    )
    for bad, col, why in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(
                path, first_row + i + 2, col, f"{why} (num_gpu={num_gpu[i]}, gpu_milli={milli[i]})"
            )


def load_tasks(path: str | Path) -> Tasks:
    """Load an openb pod list (required ``name, cpu_milli, memory_mib, num_gpu, gpu_milli``).

    Optional columns: ``gpu_spec, qos, pod_phase, creation_time, deletion_time,
    scheduled_time``. A CPU request of 0 counts as 100 milli-cores.
    """
    tasks = _parse_tasks(Path(path))
    release_memory()
    return tasks


def _parse_tasks(path: Path) -> Tasks:
    parts = []
    for frame in read_csv_chunks(path, POD_REQUIRED):
        cpu = read_integers(path, frame, "cpu_milli")
        mem = read_integers(path, frame, "memory_mib")
        num_gpu = read_integers(path, frame, "num_gpu")
        milli = read_integers(path, frame, "gpu_milli", high=GPU_MILLI)
        check_gpu_request(path, num_gpu, milli, int(frame.index[0]) if len(frame) else 0)
        parts.append(
            {
                "name": read_strings(frame, "name"),
                "cpu_milli": effective_cpu(cpu),
                "memory_mib": mem,
                "num_gpu": num_gpu,
                "gpu_milli": milli,
                "gpu_spec": read_strings(frame, "gpu_spec"),
                "qos": read_strings(frame, "qos"),
                "pod_phase": read_strings(frame, "pod_phase"),
            }
            | {col: read_times(path, frame, col) for col in POD_TIMES}
        )
    return Tasks(**concat(parts), source=str(path))


def check_gpu_specs(tasks: Tasks, nodes: Nodes) -> list[str]:
    """Warn about GPU-type constraints naming a model that no node has; return those models.

    Such tasks can still be hosted by another model their constraint lists; a task whose
    constraint lists only unknown models can never be placed.
    """
    known = {str(m) for m in nodes.model[nodes.num_gpu > 0]}
    unknown: dict[str, int] = {}
    codes, specs = pd.factorize(tasks.gpu_spec)  # each distinct constraint once, in order
    first = np.flatnonzero(np.r_[True, np.diff(np.maximum.accumulate(codes)) > 0]) if len(codes) else codes
    for spec, i in zip(specs, first.tolist(), strict=True):
        for model in str(spec).split("|"):
            if model and model not in known and model not in unknown:
                unknown[model] = i
    for model, i in unknown.items():
        log.warning(
            "%s:%d: field 'gpu_spec': GPU model '%s' is on no node of %s",
            tasks.source,
            i + 2,
            model,
            nodes.source,
        )
    return list(unknown)
