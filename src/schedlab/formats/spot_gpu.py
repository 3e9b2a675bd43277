"""Alibaba spot GPU trace v2026: the node list ``node_info_df.csv``.

Columns ``gpu_model, gpu_capacity_num, cpu_num, node_name``: one node per row with
``cpu_num`` vCPUs (x 1000 milli) and ``gpu_capacity_num`` GPUs of ``gpu_model``. The trace
gives no memory: nodes get :data:`UNKNOWN_MEMORY_MIB`, so memory never limits placement.
"""

from __future__ import annotations

from pathlib import Path

from schedlab.formats.base import Format, register
from schedlab.trace.columns import check_unique, read_integers, read_strings
from schedlab.trace.csvfile import read_rows
from schedlab.trace.openb import MAX_NODE_GPUS
from schedlab.trace.tables import Nodes

COLUMNS = ("gpu_model", "gpu_capacity_num", "cpu_num", "node_name")
#: Memory of a node whose trace does not give it (MiB): large enough never to bind.
UNKNOWN_MEMORY_MIB = 1 << 30


def load_spot_nodes(path: Path) -> Nodes:
    frame = read_rows(path, COLUMNS)
    names = read_strings(frame, "node_name")
    check_unique(path, names, "node_name", "node name")
    cpu = read_integers(path, frame, "cpu_num", low=1, high=1 << 20)
    return Nodes(
        name=names,
        cpu_milli=cpu * 1000,
        memory_mib=cpu * 0 + UNKNOWN_MEMORY_MIB,
        num_gpu=read_integers(path, frame, "gpu_capacity_num", high=MAX_NODE_GPUS),
        model=read_strings(frame, "gpu_model"),
        source=str(path),
    )


register(
    Format(
        "spot-gpu-2026",
        "nodes",
        "Alibaba spot GPU 2026 node list",
        lambda peek: set(COLUMNS) <= peek.columns,
        load_spot_nodes,
        "one node per row: cpu_num vCPUs x 1000 milli, gpu_capacity_num GPUs of gpu_model;"
        " memory not in the trace (never limits placement)",
    )
)
