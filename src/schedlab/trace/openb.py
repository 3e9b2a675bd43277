"""Load and validate openb-format node and pod lists (Alibaba cluster-trace-gpu-v2023).

Every row is checked. A malformed file raises one :class:`~schedlab.errors.TraceError`
naming the file, the line (the header is line 1) and the field; nothing is skipped silently.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TraceError
from schedlab.trace.columns import (
    check_unique,
    read_integers,
    read_names,
    read_qos,
    read_strings,
    read_times,
    time_origin,
)
from schedlab.trace.csvfile import concat, read_csv, read_csv_chunks, release_memory
from schedlab.trace.tables import GPU_MILLI, Nodes, Tasks, effective_cpu

log = logging.getLogger(__name__)

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_REQUIRED = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
POD_TIMES = ("creation_time", "deletion_time", "scheduled_time")
POD_OPTIONAL = ("gpu_spec", "qos", "pod_phase", *POD_TIMES)
#: The most GPUs one node may have (a task may ask for).
MAX_NODE_GPUS = 64


def load_nodes(path: str | Path) -> Nodes:
    """Load an openb node list (columns ``sn, cpu_milli, memory_mib, gpu, model``; optional
    ``mig``: the node's MIG layout, for every GPU or one per GPU joined by ``;``)."""
    path = Path(path)
    frame = read_csv(path, NODE_COLUMNS)
    if not len(frame):
        raise TraceError(path, 2, None, "no data rows (the file has only a header)")
    names = frame["sn"].str.strip()
    if (names == "").any():
        raise TraceError(path, int(np.flatnonzero(names == "")[0]) + 2, "sn", "missing node name")
    check_unique(path, names.to_numpy(dtype=object), "sn", "node name")
    nodes = Nodes(
        name=names.to_numpy(dtype=object),
        cpu_milli=read_integers(path, frame, "cpu_milli", low=1),
        memory_mib=read_integers(path, frame, "memory_mib"),
        num_gpu=read_integers(path, frame, "gpu", high=MAX_NODE_GPUS),
        model=read_strings(frame, "model"),
        source=str(path),
        mig=read_strings(frame, "mig") if "mig" in frame.columns else None,
    )
    if not nodes.num_gpu.any():
        raise TraceError(path, 2, "gpu", f"no node has a GPU ({len(nodes)} CPU-only nodes)")
    return nodes


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
    origin = None
    for frame in read_csv_chunks(path, POD_REQUIRED):
        origin = time_origin(frame, "creation_time") if origin is None else origin
        num_gpu = read_integers(path, frame, "num_gpu", high=MAX_NODE_GPUS)
        milli = read_integers(path, frame, "gpu_milli", high=GPU_MILLI)
        check_gpu_request(path, num_gpu, milli, int(frame.index[0]))
        parts.append(
            {
                "name": read_names(frame, "name"),
                "cpu_milli": effective_cpu(read_integers(path, frame, "cpu_milli")),
                "memory_mib": read_integers(path, frame, "memory_mib"),
                "num_gpu": num_gpu,
                "gpu_milli": milli,
                "gpu_spec": read_strings(frame, "gpu_spec"),
                "qos": read_qos(path, frame),
                "pod_phase": read_strings(frame, "pod_phase"),
            }
            | {col: read_times(path, frame, col, origin) for col in POD_TIMES}
        )
    cols = concat(parts)
    check_unique(path, cols["name"], "name", "pod name")
    _check_order(path, cols, origin or 0)
    return Tasks(**cols, source=str(path))


def _check_order(path: Path, cols: dict[str, np.ndarray], origin: int) -> None:
    """A pod is created, then scheduled, then deleted (where those times are given)."""
    created, scheduled, deleted = cols["creation_time"], cols["scheduled_time"], cols["deletion_time"]
    for col, later, earlier, what in (
        ("deletion_time", deleted, created, "creation_time"),
        ("scheduled_time", scheduled, created, "creation_time"),
        ("deletion_time", deleted, scheduled, "scheduled_time"),
    ):
        bad = later < earlier  # False where either is missing (NaN)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(
                path,
                i + 2,
                col,
                f"{_as_read(later[i], origin)} is before {what} {_as_read(earlier[i], origin)}",
            )


def _as_read(value: float, origin: int) -> str:
    """A rebased time as the file gave it."""
    return str(int(value) + origin) if float(value).is_integer() else repr(float(value) + origin)


def mig_profile(token: str) -> str | None:
    """The MIG profile a ``gpu_spec`` token asks for (``mig-1g.10gb`` or the Kubernetes
    resource ``nvidia.com/mig-1g.10gb``: ``1g.10gb``), None for a GPU model."""
    for prefix in ("nvidia.com/mig-", "mig-"):
        if token.startswith(prefix):
            return token.removeprefix(prefix)
    return None


def mig_profiles(spec: str) -> list[str]:
    """The MIG profiles a ``gpu_spec`` (tokens joined by ``|``) asks for, in order."""
    return [p for p in (mig_profile(x) for x in spec.split("|") if x) if p is not None]


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
            if model and model not in known and model not in unknown and mig_profile(model) is None:
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
