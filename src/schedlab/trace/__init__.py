"""Traces: node and task tables, and loaders for the openb format."""

from schedlab.trace.embedded import default_nodes_path, default_pods_path
from schedlab.trace.openb import check_gpu_specs, load_nodes, load_tasks
from schedlab.trace.tables import DEFAULT_CPU_MILLI, GPU_MILLI, Nodes, Tasks

__all__ = [
    "DEFAULT_CPU_MILLI",
    "GPU_MILLI",
    "Nodes",
    "Tasks",
    "check_gpu_specs",
    "default_nodes_path",
    "default_pods_path",
    "load_nodes",
    "load_tasks",
]
