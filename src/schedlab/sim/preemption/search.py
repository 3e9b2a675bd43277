"""Where to preempt: the node whose evictions, in victim order, cost the fewest GPU-seconds.

For each node where evicting every preemptible task would make room, victims are taken in
the victim policy's order until the task fits; the cost is the GPU-seconds the victims lose
(elapsed run time x milli-GPU / 1000). The cheapest node wins; ties go to the node order. A
placement policy with an ``admit`` step is asked first whether it would take the node once
the victims are gone (a policy that guards SLOs may refuse; the next cheapest node is tried).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedlab.cluster.shapes import ShapeArrays
from schedlab.sim.evictable import Evictable
from schedlab.sim.victims.base import VictimPolicy
from schedlab.trace.tables import FloatArray, IntArray

Gpus = list[tuple[int, ...]]


def cheapest_eviction(
    shape: int,
    shapes: ShapeArrays,
    evictable: Evictable,
    victims: VictimPolicy,
    shape_of: IntArray,
    started: FloatArray,
    gpus_of: Gpus,
    rank: IntArray,
    now: float,
    accept: Callable[[int, list[int]], bool] | None = None,
) -> tuple[int, list[int]] | None:
    """The node and the tasks to evict there so that ``shape`` fits; None if no node works.
    ``accept(node, victims)``, when given, must agree too (the cheapest accepted one wins)."""
    cluster = evictable.cluster
    total = shapes.total_gpu_milli
    found: list[tuple[float, int, int, list[int]]] = []
    for node in np.flatnonzero(evictable.room(shape)).tolist():
        tasks = evictable.tasks_on(node)
        order = victims.order(tasks, started[tasks], total[shape_of[tasks]], now)
        cpu, mem = int(cluster.cpu_left[node]), int(cluster.mem_left[node])
        free = cluster.gpu_free[node].copy()
        chosen: list[int] = []
        cost = 0.0
        for v in order.tolist():
            if _fits(shapes, shape, cpu, mem, free):
                break
            vs = int(shape_of[v])
            cpu, mem = cpu + int(shapes.cpu[vs]), mem + int(shapes.mem[vs])
            free[list(gpus_of[v])] += shapes.gpu_milli[vs]
            chosen.append(v)
            cost += (now - float(started[v])) * int(total[vs]) / 1000
        if chosen and _fits(shapes, shape, cpu, mem, free):
            found.append((cost, int(rank[node]), node, chosen))
    for _, _, node, chosen in sorted(found, key=lambda c: c[:2]):
        if accept is None or accept(node, chosen):
            return node, chosen
    return None


def _fits(shapes: ShapeArrays, s: int, cpu: int, mem: int, free: IntArray) -> bool:
    return bool(
        cpu >= shapes.cpu[s]
        and mem >= shapes.mem[s]
        and int((free >= shapes.gpu_milli[s]).sum()) >= shapes.num_gpu[s]
    )
