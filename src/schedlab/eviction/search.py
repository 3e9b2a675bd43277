"""Where to preempt: the node whose evictions, in victim order, cost the fewest GPU-seconds.

For each node where evicting every preemptible task would make room, victims are taken in
the victim policy's order until the task fits; the cost is the GPU-seconds the victims lose
(elapsed run time x milli-GPU / 1000). The cheapest node wins; ties go to the node order. A
placement policy with an ``admit`` step is asked first whether it would take the node once
the victims are gone (a policy that guards SLOs may refuse; the next cheapest node is tried).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from schedlab.cluster.shapes import ShapeArrays
from schedlab.eviction.evictable import Evictable
from schedlab.eviction.victims.base import VictimPolicy
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
    ``accept(node, victims)``, when given, must agree too (the cheapest accepted one wins).

    Nodes are costed lazily, in the order of a lower bound of their cost: where ``shape``'s
    GPUs do not fit now, some GPU-holding task must go, so the node costs at least its
    cheapest such task (else 0). A node is final once no node left could cost less."""
    cluster, total = evictable.cluster, shapes.total_gpu_milli

    def evictions(node: int) -> tuple[float, list[int]] | None:
        """The cost and the victims (in victim order, until ``shape`` fits) on ``node``; None
        when ``shape`` fits there without evictions."""
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
        return (cost, chosen) if chosen and _fits(shapes, shape, cpu, mem, free) else None

    candidates = np.flatnonzero(evictable.room(shape))
    bound = np.zeros(len(candidates))
    if shapes.num_gpu[shape] > 0:
        fitting = (cluster.gpu_free[candidates] >= shapes.gpu_milli[shape]).sum(axis=1)
        gpu_short = fitting < shapes.num_gpu[shape]
        if gpu_short.any():
            least = evictable.least_gpu_loss(started, total[shape_of], now)[candidates]
            bound = np.where(gpu_short, least, 0.0)
    order = np.lexsort((rank[candidates], bound))
    found: list[tuple[float, int, int, list[int]]] = []  # a heap of costed nodes
    i = 0
    while True:  # cost nodes until the cheapest costed one is final, then ask ``accept``
        while i < len(order) and (not found or (bound[order[i]], rank[candidates[order[i]]]) < found[0][:2]):
            node = int(candidates[order[i]])
            costed = evictions(node)
            if costed is not None:
                heapq.heappush(found, (costed[0], int(rank[node]), node, costed[1]))
            i += 1
        if not found:
            return None
        _, _, node, chosen = heapq.heappop(found)
        if accept is None or accept(node, chosen):
            return node, chosen


def _fits(shapes: ShapeArrays, s: int, cpu: int, mem: int, free: IntArray) -> bool:
    return bool(
        cpu >= shapes.cpu[s]
        and mem >= shapes.mem[s]
        and int((free >= shapes.gpu_milli[s]).sum()) >= shapes.num_gpu[s]
    )
