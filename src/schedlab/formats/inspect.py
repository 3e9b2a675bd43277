"""What ``schedlab trace inspect`` reports about a trace file: its format and mapping, and
for a job table its size, time span, shape, QoS and gang mix, the load it offers a cluster
and what was left out; for a node list its nodes and GPU models; for a request stream its
rate and token counts."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schedlab.formats import detect
from schedlab.trace.tables import Nodes
from schedlab.workload.classes import gpu_class
from schedlab.workload.gangs import gang_layout
from schedlab.workload.load import fit_no_node, gpu_load, resource_loads
from schedlab.workload.timed import TimedWorkload


def inspect_file(path: Path, nodes: Nodes) -> dict[str, Any]:
    """The report of ``path`` as a document (``nodes``: the cluster for the offered load)."""
    fmt = detect(path)
    doc: dict[str, Any] = {"file": str(path), "format": fmt.name, "title": fmt.title, "kind": fmt.kind}
    doc["mapping"] = fmt.mapping
    loaded = fmt.load(path)
    if fmt.kind == "jobs":
        doc |= _jobs(loaded, nodes)
    elif fmt.kind == "nodes":
        doc |= _nodes(loaded)
    elif fmt.kind == "requests":
        doc |= _requests(path, loaded)
    else:
        doc["rows_by_status"] = loaded
    return doc


def _mix(values: np.ndarray) -> dict[str, int]:
    counts = Counter(str(v) if str(v) else "(empty)" for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _jobs(workload: TimedWorkload, nodes: Nodes) -> dict[str, Any]:
    leader, size = gang_layout(workload)
    gangs = (size > 1) & (leader == np.arange(len(workload)))
    span = float(workload.arrival[-1] - workload.arrival[0]) if len(workload) > 1 else 0.0
    load = gpu_load(workload, nodes)
    return {
        "tasks": len(workload),
        "jobs": int((leader == np.arange(len(workload))).sum()),
        "span_s": span,
        "gpu_classes": _mix(gpu_class(workload.tasks)),
        "qos": _mix(workload.tasks.qos),
        "users": len(pd.unique(workload.user)),
        "gangs": int(gangs.sum()),
        "gang_sizes": {str(k): int(v) for k, v in sorted(Counter(size[gangs].tolist()).items())},
        "run_time_s": {
            "median": float(np.median(workload.duration)) if len(workload) else 0.0,
            "mean": float(workload.duration.mean()) if len(workload) else 0.0,
        },
        "nodes": nodes.source,
        "offered_load": load if math.isfinite(load) else None,
        "offered_loads": resource_loads(workload, nodes),
        "fit_no_node": int(fit_no_node(workload, nodes).sum()),
        "left_out": dict(workload.excluded),
    }


def _nodes(nodes: Nodes) -> dict[str, Any]:
    models = Counter()  # type: Counter[str]
    for model, gpus in zip(nodes.model, nodes.num_gpu, strict=True):
        models[str(model) or "(CPU only)"] += int(gpus)
    return {
        "nodes": len(nodes),
        "gpus": int(nodes.num_gpu.sum()),
        "cpu_only_nodes": int((nodes.num_gpu == 0).sum()),
        "gpus_by_model": dict(sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))),
        "gpus_per_node": {str(k): int(v) for k, v in sorted(Counter(nodes.num_gpu.tolist()).items())},
    }


def _requests(path: Path, trace: Any) -> dict[str, Any]:
    frame = pd.read_csv(path, usecols=["ContextTokens", "GeneratedTokens"])
    return {
        "requests": len(trace.times),
        "span_s": float(trace.period),
        "rate_rps": float(trace.rate),
        "context_tokens_mean": float(frame["ContextTokens"].mean()),
        "generated_tokens_mean": float(frame["GeneratedTokens"].mean()),
    }
