"""Load and validate openb-format node and pod lists (Alibaba cluster-trace-gpu-v2023).

Every row is checked. A malformed file raises one :class:`~schedlab.errors.TraceError`
naming the file, the line (the header is line 1) and the field; nothing is skipped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.trace.tables import GPU_MILLI, Nodes, Tasks, effective_cpu

log = logging.getLogger(__name__)

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_REQUIRED = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
POD_TIMES = ("creation_time", "deletion_time", "scheduled_time")
POD_OPTIONAL = ("gpu_spec", "qos", "pod_phase", *POD_TIMES)


def read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV as strings, checking that it parses and has the required columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise TraceError(path, 0, None, "file not found") from None
    except pd.errors.EmptyDataError:
        raise TraceError(path, 1, None, "file is empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise TraceError(path, _parser_line(str(err)), None, f"not valid CSV: {err}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in required:
        if col not in frame.columns:
            have = ", ".join(frame.columns)
            raise TraceError(path, 1, col, f"required column is missing (header has: {have})")
    return frame


def _parser_line(message: str) -> int:
    """The line number pandas reports in a parser error, or 0 when it gives none."""
    words = message.replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "line" and words[i + 1].isdigit():
            return int(words[i + 1])
    return 0


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
        raise TraceError(path, i + 2, col, why)
    out = values.to_numpy(dtype=np.float64)
    if low is not None and (out < low).any():
        i = int(np.flatnonzero(out < low)[0])
        what = "negative request" if low == 0 else f"below {low}"
        raise TraceError(path, i + 2, col, f"{what}: {raw.iloc[i]}")
    if high is not None and (out > high).any():
        i = int(np.flatnonzero(out > high)[0])
        raise TraceError(path, i + 2, col, f"must be at most {high}: {raw.iloc[i]}")
    return out.astype(np.int64)


def read_times(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """Parse an optional column of times in seconds; empty cells become NaN."""
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    raw = frame[col].str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & (raw != "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, i + 2, col, f"not a number: '{raw.iloc[i]}'")
    if (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        raise TraceError(path, i + 2, col, f"negative time: {raw.iloc[i]}")
    return values


def read_strings(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[col].str.strip().to_numpy(dtype=object)


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


def check_gpu_request(path: Path, num_gpu: np.ndarray, milli: np.ndarray) -> None:
    """GPU count and per-GPU milli must describe a CPU-only, sharing or whole-GPU task."""
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
            raise TraceError(path, i + 2, col, f"{why} (num_gpu={num_gpu[i]}, gpu_milli={milli[i]})")


def load_tasks(path: str | Path) -> Tasks:
    """Load an openb pod list (required ``name, cpu_milli, memory_mib, num_gpu, gpu_milli``).

    Optional columns: ``gpu_spec, qos, pod_phase, creation_time, deletion_time,
    scheduled_time``. A CPU request of 0 counts as 100 milli-cores.
    """
    path = Path(path)
    frame = read_csv(path, POD_REQUIRED)
    cpu = read_integers(path, frame, "cpu_milli")
    mem = read_integers(path, frame, "memory_mib")
    num_gpu = read_integers(path, frame, "num_gpu")
    milli = read_integers(path, frame, "gpu_milli", high=GPU_MILLI)
    check_gpu_request(path, num_gpu, milli)
    return Tasks(
        name=read_strings(frame, "name"),
        cpu_milli=effective_cpu(cpu),
        memory_mib=mem,
        num_gpu=num_gpu,
        gpu_milli=milli,
        gpu_spec=read_strings(frame, "gpu_spec"),
        qos=read_strings(frame, "qos"),
        pod_phase=read_strings(frame, "pod_phase"),
        creation_time=read_times(path, frame, "creation_time"),
        deletion_time=read_times(path, frame, "deletion_time"),
        scheduled_time=read_times(path, frame, "scheduled_time"),
        source=str(path),
    )


def check_gpu_specs(tasks: Tasks, nodes: Nodes) -> list[str]:
    """Warn about GPU-type constraints naming a model that no node has; return those models.

    Such tasks can still be hosted by another model their constraint lists; a task whose
    constraint lists only unknown models can never be placed.
    """
    known = {str(m) for m in nodes.model[nodes.num_gpu > 0]}
    unknown: dict[str, int] = {}
    for i, spec in enumerate(tasks.gpu_spec):
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
