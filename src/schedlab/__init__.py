"""schedlab: a fast, faithful, trace-driven lab for scheduling ML workloads on GPU clusters.

The public API: load traces, run the fill experiment or the event-driven replay, add
policies. Everything else is reachable through the subpackages named after each concept.
Names are imported on first use, so ``import schedlab`` (and ``schedlab --help``) is quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from schedlab.version import __version__

#: Public name -> module that defines it.
_WHERE = {
    "ClusterState": "schedlab.cluster",
    "ClusterView": "schedlab.cluster",
    "ConfigError": "schedlab.errors",
    "FillConfig": "schedlab.fill",
    "FillResult": "schedlab.fill",
    "Nodes": "schedlab.trace",
    "PlacementPolicy": "schedlab.policies",
    "QueuePolicy": "schedlab.sim.queues",
    "ReplayConfig": "schedlab.sim",
    "ReplayResult": "schedlab.sim",
    "SchedlabError": "schedlab.errors",
    "Shape": "schedlab.cluster",
    "Tasks": "schedlab.trace",
    "TimedWorkload": "schedlab.workload",
    "TraceError": "schedlab.errors",
    "VictimPolicy": "schedlab.eviction.victims",
    "from_openb": "schedlab.workload",
    "load_jobs": "schedlab.workload",
    "load_nodes": "schedlab.trace",
    "load_tasks": "schedlab.trace",
    "register": "schedlab.policies",
    "replay": "schedlab.sim",
    "run_fill": "schedlab.fill",
}

__all__ = [
    "ClusterState",
    "ClusterView",
    "ConfigError",
    "FillConfig",
    "FillResult",
    "Nodes",
    "PlacementPolicy",
    "QueuePolicy",
    "ReplayConfig",
    "ReplayResult",
    "SchedlabError",
    "Shape",
    "Tasks",
    "TimedWorkload",
    "TraceError",
    "VictimPolicy",
    "__version__",
    "from_openb",
    "load_jobs",
    "load_nodes",
    "load_tasks",
    "register",
    "replay",
    "run_fill",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'schedlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from schedlab.cluster import ClusterState, ClusterView, Shape
    from schedlab.errors import ConfigError, SchedlabError, TraceError
    from schedlab.eviction.victims import VictimPolicy
    from schedlab.fill import FillConfig, FillResult, run_fill
    from schedlab.policies import PlacementPolicy, register
    from schedlab.sim import ReplayConfig, ReplayResult, replay
    from schedlab.sim.queues import QueuePolicy
    from schedlab.trace import Nodes, Tasks, load_nodes, load_tasks
    from schedlab.workload import TimedWorkload, from_openb, load_jobs
