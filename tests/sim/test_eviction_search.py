"""The preemption search costs nodes lazily, in the order of a lower bound of their cost: it
must find what costing every node finds (the cheapest accepted node, ties by node order)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.cluster import ClusterState, ShapeArrays, ShapeTable
from schedlab.eviction.evictable import Evictable
from schedlab.eviction.search import _fits, cheapest_eviction
from schedlab.eviction.victims import VICTIM_POLICIES
from schedlab.trace import Nodes, Tasks

KINDS = [(0, 0), (1, 300), (1, 700), (1, 1000), (2, 1000), (4, 1000)]  # (num_gpu, gpu_milli)


def every_node(shape, shapes, evictable, victims, shape_of, started, gpus_of, rank, now, accept):  # type: ignore[no-untyped-def]
    """The search as first written: cost every node where evicting all could make room."""
    cluster, total = evictable.cluster, shapes.total_gpu_milli
    found = []
    for node in np.flatnonzero(evictable.room(shape)).tolist():
        tasks = evictable.tasks_on(node)
        order = victims.order(tasks, started[tasks], total[shape_of[tasks]], now)
        cpu, mem = int(cluster.cpu_left[node]), int(cluster.mem_left[node])
        free = cluster.gpu_free[node].copy()
        chosen, cost = [], 0.0
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
        if accept(node, chosen):
            return node, chosen
    return None


@settings(max_examples=150, deadline=None)
@given(
    running=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.floats(0, 100)), max_size=40),
    preemptor=st.integers(1, 5),
    victim=st.sampled_from(["least-lost", "newest"]),
    refused=st.sets(st.integers(0, 5)),
    seed=st.integers(0, 1000),
)
def test_the_lazy_search_finds_what_costing_every_node_finds(
    running: list[tuple[int, int, float]], preemptor: int, victim: str, refused: set[int], seed: int
) -> None:
    nodes = Nodes.build([(f"n{i}", 8000, 32768, 4, "T4") for i in range(6)])
    kinds = [KINDS[k] for _, k, _ in running] + [KINDS[preemptor]]
    tasks = Tasks.build([(1000, 1024, k, m, "") for k, m in kinds])
    cluster = ClusterState(nodes)
    table = ShapeTable.build(tasks, cluster.models)
    shapes = ShapeArrays.build(table.shapes, len(cluster.models))
    evictable = Evictable(cluster, shapes, len(tasks))
    started = np.array([t for _, _, t in running] + [0.0])
    gpus_of: list[tuple[int, ...]] = [()] * len(tasks)
    for t, (node, _, _) in enumerate(running):  # place what fits, on the GPUs with the most room
        shape = table.shapes[table.of_task[t]]
        if not cluster.feasible(shape, np.array([node]))[0]:
            continue
        free = cluster.gpu_free[node]
        gpus = tuple(sorted(np.argsort(-free, kind="stable")[: shape.num_gpu].tolist()))
        cluster.place(node, shape, list(gpus))
        gpus_of[t] = gpus
        evictable.add(t, int(table.of_task[t]), node, gpus)
    rank = np.random.default_rng(seed).permutation(len(cluster))
    args = (int(table.of_task[-1]), shapes, evictable, VICTIM_POLICIES.get(victim)())
    more = (table.of_task, started, gpus_of, rank, 150.0, lambda node, _: node not in refused)
    assert cheapest_eviction(*args, *more) == every_node(*args, *more)
