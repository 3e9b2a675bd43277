"""schedlab: a fast, faithful, trace-driven lab for scheduling ML workloads on GPU clusters.

The public API: load traces, run the fill experiment or the event-driven replay, add
policies. Everything else is reachable through the subpackages named after each concept.
"""

__version__ = "0.1.0"

from schedlab.cluster import ClusterState, Shape
from schedlab.errors import ConfigError, SchedlabError, TraceError
from schedlab.experiments.fill import FillConfig, FillResult, run_fill
from schedlab.experiments.replay import ReplayConfig, ReplayResult, replay
from schedlab.policies import PlacementPolicy, register
from schedlab.queueing import QueuePolicy, VictimPolicy
from schedlab.trace import Nodes, Tasks, load_nodes, load_tasks
from schedlab.workload import TimedWorkload, from_openb, load_jobs

__all__ = [
    "ClusterState",
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
