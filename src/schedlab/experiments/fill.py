"""The fill experiment of the FGD paper: offer typical tasks one by one, nothing departs.

See ``docs/method.md`` for the method. One run = one policy x one seed; :func:`run_fill`
returns a :class:`FillResult` holding the per-task record and the three curves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from schedlab.cluster import ClusterState, Fragmentation, ShapeTable, TypicalTasks
from schedlab.metrics.curves import bin_curve
from schedlab.policies import PolicyContext, make_policy
from schedlab.scheduler import Placer
from schedlab.trace.tables import FloatArray, IntArray, Nodes, Tasks

#: The paper's policies, in the order of its figures (weakest first).
PAPER_POLICIES = ("random", "dotprod", "clustering", "packing", "bestfit", "fgd")
CURVES = ("alloc_pct", "frag_amount_pct", "frag_ratio_pct")


@dataclass(frozen=True)
class FillConfig:
    """One fill run: policy, seed, target load (x GPU capacity), typical-task coverage."""

    policy: str
    seed: int
    tune_ratio: float = 1.3
    coverage: float = 0.95


def tuned_order(gpu_milli: IntArray, capacity: int, ratio: float, rng: np.random.Generator) -> IntArray:
    """Indices of the offered tasks: the originals shuffled, then tuned to ``ratio`` x capacity.

    Below target, copies drawn uniformly with replacement are appended until the first draw
    that would exceed the target (that copy is dropped). Above target, tasks at uniformly
    random positions are removed until the total is at or below it. A workload that requests
    no GPU at all is offered as it is.
    """
    n = len(gpu_milli)
    order = rng.permutation(n)
    target = ratio * capacity
    total = int(gpu_milli.sum())
    if n == 0 or not gpu_milli.any():
        return order  # nothing to tune: no task requests GPU
    if total > target:
        drop = rng.permutation(n)
        left = total - np.cumsum(gpu_milli[order[drop]])
        cut = int(np.flatnonzero(left <= target)[0]) + 1
        keep = np.ones(n, dtype=bool)
        keep[drop[:cut]] = False
        result: IntArray = order[keep]
        return result
    extra = [order]
    chunk = max(1024, n // 4)
    while total < target:
        draws = rng.integers(0, n, size=chunk, dtype=np.int64)
        running = total + np.cumsum(gpu_milli[draws])
        reach = np.flatnonzero(running >= target)
        if len(reach):
            j = int(reach[0])
            extra.append(draws[: j + 1] if running[j] == target else draws[:j])
            break
        extra.append(draws)
        total = int(running[-1])
    return np.concatenate(extra)


@dataclass
class FillResult:
    """A finished fill run: its configuration, per-task record and curves over arrived %."""

    config: FillConfig
    pods: str
    nodes: str
    capacity_milli: int
    records: pd.DataFrame
    wall_s: float
    curves: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def tasks(self) -> int:
        return len(self.records)

    @property
    def placed(self) -> int:
        return int((self.records["node"] >= 0).sum())

    @property
    def failed(self) -> int:
        return self.tasks - self.placed

    def summary(self) -> dict[str, object]:
        """The run as plain data (JSON-ready; NaN curve points become None)."""
        doc: dict[str, object] = {
            "policy": self.config.policy,
            "seed": self.config.seed,
            "tasks": self.tasks,
            "placed": self.placed,
            "failed": self.failed,
            "wall_s": round(self.wall_s, 4),
        }
        for name in CURVES:
            doc[name] = [None if np.isnan(v) else round(float(v), 6) for v in self.curves[name]]
        return doc

    def config_dict(self) -> dict[str, object]:
        return {**asdict(self.config), "pods": self.pods, "nodes": self.nodes}


def run_fill(
    tasks: Tasks,
    nodes: Nodes,
    config: FillConfig,
    progress: Callable[[int, int], None] | None = None,
) -> FillResult:
    """Run one fill experiment; ``progress(done, total)`` is called every 1000 tasks and at the end."""
    start = time.perf_counter()
    cluster = ClusterState(nodes)
    typical = TypicalTasks.from_tasks(tasks, config.coverage)
    frag = Fragmentation(typical, cluster.models)
    workload_rng, tie_rng, policy_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(3)
    )
    order = tuned_order(tasks.total_gpu_milli, cluster.gpu_capacity, config.tune_ratio, workload_rng)
    placer = Placer(
        cluster,
        make_policy(config.policy, PolicyContext(frag, policy_rng)),
        tie_rng.permutation(len(cluster)),
    )
    table = ShapeTable.build(tasks, cluster.models)
    shapes = table.shapes
    shape_of = table.of_task[order]

    n = len(order)
    node = np.full(n, -1, dtype=np.int64)
    gpu_mask = np.zeros(n, dtype=np.int64)
    allocated = np.zeros(n, dtype=np.int64)
    frag_num = np.zeros(n, dtype=np.int64)
    node_frag = frag.node_frag(cluster.cpu_left, cluster.gpu_free, cluster.model)
    frag_total = int(node_frag.sum())
    for i in range(n):
        shape = shapes[shape_of[i]]
        placement = placer.place(shape)
        if placement is not None:
            j = placement.node
            node[i] = j
            gpu_mask[i] = placement.gpu_mask
            new = int(
                frag.node_frag(
                    cluster.cpu_left[j : j + 1], cluster.gpu_free[j : j + 1], cluster.model[j : j + 1]
                )[0]
            )
            frag_total += new - int(node_frag[j])
            node_frag[j] = new
        allocated[i] = cluster.allocated_gpu_milli
        frag_num[i] = frag_total
        if progress is not None and (i + 1) % 1000 == 0:
            progress(i + 1, n)
    if progress is not None:
        progress(n, n)

    capacity = cluster.gpu_capacity
    arrived = np.cumsum(tasks.total_gpu_milli[order])
    frag_milli = frag_num / frag.scale
    free = capacity - allocated
    records = pd.DataFrame(
        {
            "step": np.arange(n),
            "task": order,
            "shape": shape_of,
            "node": node,
            "gpu_mask": gpu_mask,
            "arrived_milli": arrived,
            "allocated_milli": allocated,
            "frag_milli": frag_milli,
            "free_milli": free,
        }
    )
    x = arrived * 100.0 / capacity
    ratio = np.divide(frag_milli, free, out=np.zeros(n), where=free > 0)
    curves = {
        "alloc_pct": bin_curve(x, allocated * 100.0 / capacity),
        "frag_amount_pct": bin_curve(x, frag_milli * 100.0 / capacity),
        "frag_ratio_pct": bin_curve(x, ratio * 100.0),
    }
    return FillResult(
        config=config,
        pods=tasks.source,
        nodes=nodes.source,
        capacity_milli=capacity,
        records=records,
        wall_s=time.perf_counter() - start,
        curves=curves,
    )
