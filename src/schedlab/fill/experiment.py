"""The fill experiment of the FGD paper: offer typical tasks one by one, nothing departs.

See ``docs/method.md`` for the method. One run = one policy x one seed; :func:`run_fill`
returns a :class:`~schedlab.fill.result.FillResult` holding the per-task record and the
three curves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from schedlab import jit
from schedlab.cluster import ClusterState, Fragmentation, Shape, ShapeTable, TypicalTasks
from schedlab.errors import ConfigError
from schedlab.fill.result import FillConfig, FillResult
from schedlab.fill.tuning import tuned_order
from schedlab.metrics.curves import bin_curve, curve_end
from schedlab.policies import PolicyContext, make_policy
from schedlab.policies.base import compiled_form
from schedlab.scheduler import Placer, PolicyError
from schedlab.trace.tables import IntArray, Nodes, StrArray, Tasks

Progress = Callable[[int, int], None] | None
Records = tuple[IntArray, IntArray, IntArray, IntArray]


def run_fill(
    tasks: Tasks,
    nodes: Nodes,
    config: FillConfig,
    progress: Progress = None,
    compiled: bool = True,
) -> FillResult:
    """Run one fill experiment; ``progress(done, total)`` is called every 1000 tasks and at
    the end. The compiled kernels run when the policy has them (``compiled=False``: the
    pure-Python reference, same result).

    ``wall_s`` covers everything from here on, and compiling the kernels when that happens
    (the first run on a machine); loading them from the on-disk cache happens first, once
    per process, like importing a library.
    """
    use_compiled = compiled and jit.enabled()
    compile_s = 0.0
    if use_compiled:
        from schedlab.fill.compiled import ready

        compile_s = ready()
    start = time.perf_counter() - compile_s
    if not nodes.num_gpu.any():
        raise ConfigError(f"{nodes.source}: no node has a GPU: the fill experiment needs GPU capacity")
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
    shape_of = table.of_task[order]
    n = len(order)
    if not n:
        raise ConfigError(
            f"{tasks.source}: no task left to offer after tuning to {config.tune_ratio} x capacity"
        )
    policy = placer.policy
    placed = None
    if use_compiled:
        form = compiled_form(policy, placer.view)
        if form is not None:
            from schedlab.fill.compiled import place_compiled

            placed = place_compiled(form, cluster, frag, placer.tie, table.shapes, shape_of, progress)
    if placed is None:
        placed = _place(placer, frag, table.shapes, shape_of, progress, tasks.name[order])
    node, gpu_mask, allocated, frag_num = placed

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
            "gpu_mask": gpu_mask.view(np.uint64),  # bit g: GPU g (up to 64)
            "arrived_milli": arrived,
            "allocated_milli": allocated,
            "frag_milli": frag_milli,
            "free_milli": free,
        }
    )
    x = arrived * 100.0 / capacity
    ratio = np.divide(frag_milli, free, out=np.zeros(n), where=free > 0)
    end = curve_end(config.tune_ratio)  # the curves run to the load the tune ratio reaches
    curves = {
        "alloc_pct": bin_curve(x, allocated * 100.0 / capacity, end),
        "frag_amount_pct": bin_curve(x, frag_milli * 100.0 / capacity, end),
        "frag_ratio_pct": bin_curve(x, ratio * 100.0, end),
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


def _place(
    placer: Placer,
    frag: Fragmentation,
    shapes: tuple[Shape, ...],
    shape_of: IntArray,
    progress: Progress,
    names: StrArray,
) -> Records:
    """The reference loop: per task its node, GPU mask, and the allocated GPU milli and the
    cluster's fragmentation numerator after it."""
    cluster = placer.cluster
    n = len(shape_of)
    node = np.full(n, -1, dtype=np.int64)
    gpu_mask = np.zeros(n, dtype=np.int64)
    allocated = np.zeros(n, dtype=np.int64)
    frag_num = np.zeros(n, dtype=np.int64)
    node_frag = frag.node_frag(cluster.cpu_left, cluster.gpu_free, cluster.model)
    frag_total = int(node_frag.sum())
    for i in range(n):
        try:
            placement = placer.place(shapes[shape_of[i]])
        except PolicyError as err:
            raise PolicyError(f"task {names[i]}: {err}") from None
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
    return node, gpu_mask, allocated, frag_num
