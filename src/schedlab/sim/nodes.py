"""Cluster events: nodes failing, draining, coming back and joining during a replay.

An event file (``replay --node-events FILE``) is a CSV ``time,node,event``: the time in
seconds on the replay's clock (the clock of the tasks' arrival times), a node name of the
node list, and one of:

- ``fail``: the node leaves service at once; its running tasks stop and restart elsewhere
  (their work so far is lost: ``failure_lost_gpu_s``; a gang restarts whole);
- ``drain``: no new task is placed on the node; what runs there finishes;
- ``repair``: the node (failed or drained) is in service again;
- ``add``: the node joins the cluster: it is out of service from the start until then.

``--mtbf HOURS`` draws failures instead (or as well): each node fails as a Poisson process
of mean time between failures MTBF (from the first arrival until the last), and is repaired
an exponential time of mean ``--mttr`` later; seeded by the replay's seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schedlab.cluster.state import ClusterState
from schedlab.errors import ConfigError, TraceError
from schedlab.trace.columns import line, read_strings, read_times
from schedlab.trace.csvfile import read_rows
from schedlab.trace.tables import Nodes

KINDS = ("fail", "drain", "repair", "add")
FAIL, DRAIN, REPAIR, ADD = range(4)


@dataclass(frozen=True)
class NodeEvent:
    time: float
    node: int
    kind: int  # index into KINDS


def load_node_events(path: Path, nodes: Nodes) -> list[NodeEvent]:
    """The events of a ``time,node,event`` CSV (checked: known nodes and kinds, times >= 0)."""
    frame = read_rows(path, ("time", "node", "event"))
    times = read_times(path, frame, "time")
    index = {str(name): i for i, name in enumerate(nodes.name)}
    events = []
    for i, (time, name, kind) in enumerate(
        zip(times, read_strings(frame, "node"), read_strings(frame, "event"), strict=True)
    ):
        if np.isnan(time):
            raise TraceError(path, line(frame, i), "time", "missing value")
        if name not in index:
            raise TraceError(path, line(frame, i), "node", f"no node {name!r} in {nodes.source}")
        if kind not in KINDS:
            raise TraceError(
                path, line(frame, i), "event", f"unknown event {kind!r} (known: {', '.join(KINDS)})"
            )
        events.append(NodeEvent(float(time), index[name], KINDS.index(kind)))
    return sorted(events, key=lambda e: e.time)


def random_failures(
    nodes: int, start: float, end: float, mtbf_h: float, mttr_h: float, seed: int
) -> list[NodeEvent]:
    """Failures and repairs of every node: Poisson failures of mean ``mtbf_h`` hours between
    ``start`` and ``end``, each repaired an exponential time of mean ``mttr_h`` hours later."""
    if not (mtbf_h > 0 and mttr_h > 0):
        raise ConfigError("--mtbf and --mttr must be positive numbers of hours")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4E0DE]))
    events = []
    for node in range(nodes):
        t = start + rng.exponential(mtbf_h * 3600)
        while t < end:
            back = t + rng.exponential(mttr_h * 3600)
            events += [NodeEvent(float(t), node, FAIL), NodeEvent(float(back), node, REPAIR)]
            t = back + rng.exponential(mtbf_h * 3600)
    return sorted(events, key=lambda e: (e.time, e.node))


class Outages:
    """Node events as a replay applies them, and what they cost: the tasks restarted, the
    GPU-seconds lost, and the GPU capacity in service after each event."""

    def __init__(self, events: list[NodeEvent], cluster: ClusterState) -> None:
        self.events, self.cluster = events, cluster
        self.restarts = 0
        self.lost_gpu_s = 0.0
        self.capacity: list[tuple[float, int]] = []  # (time, GPU milli in service)

    def begin(self, start: float, log: bool = False) -> None:
        """Take the nodes that join later out of service; note the capacity at ``start`` (if
        there are events, or ``log``)."""
        for event in self.events:
            if event.kind == ADD and self.cluster.up[event.node]:
                self.cluster.set_up(event.node, False)  # out of service until it is added
        if self.events or log:
            self.capacity.append((start, self.cluster.gpu_capacity_up))

    def apply(
        self,
        i: int,
        now: float,
        stop: Callable[[int], tuple[int, float]],
        freed: Callable[[int], None],
        keep_down: bool = False,
    ) -> None:
        """Event ``i`` happens at ``now``. ``stop(node)`` restarts a failed node's tasks
        elsewhere (how many, GPU-seconds lost); ``freed(node)`` offers a node back in
        service to the waiting tasks; ``keep_down``: a repair or addition leaves the node out
        of service (a MIG node of a layout its GPU does not have now)."""
        event, cluster = self.events[i], self.cluster
        if event.kind == FAIL:
            cluster.set_up(event.node, False)
            restarts, lost = stop(event.node)
            self.restarts += restarts
            self.lost_gpu_s += lost
        elif event.kind == DRAIN:
            cluster.set_up(event.node, False)
        elif not cluster.up[event.node] and not keep_down:  # repair or add
            cluster.set_up(event.node, True)
            freed(event.node)
        self.capacity.append((now, cluster.gpu_capacity_up))
