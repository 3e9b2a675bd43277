"""The embedded default data: the openb 2023 default pod list and GPU node list.

Source: Alibaba Cluster Trace Program, cluster-trace-gpu-v2023; see ``schedlab/data/README.md``
for the attribution that travels with these files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_PODS = "openb_pod_list_default.csv"
DEFAULT_NODES = "openb_node_list_gpu_node.csv"


def embedded_path(name: str) -> Path:
    """Path of an embedded data file."""
    return Path(str(files("schedlab") / "data" / name))


def default_pods_path() -> Path:
    return embedded_path(DEFAULT_PODS)


def default_nodes_path() -> Path:
    return embedded_path(DEFAULT_NODES)
