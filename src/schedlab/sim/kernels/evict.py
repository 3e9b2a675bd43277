"""Compiled evictions: preemptible running tasks per node, and where preempting costs least.

Per node, the preemptible tasks running there form a doubly linked list in start order
(kept as tasks start and stop), with the CPU, memory and per-GPU milli they hold, so the
nodes where evictions could make room are found without walking any list. The victims of
one node are taken in the victim policy's order, ``(now - start) x weight`` ascending, then
the later start, then the lower task index (``weight``: GPUs held for least-lost, 0 for
newest), until the task fits; the node losing the fewest GPU-seconds wins (ties: the node
order). The mirror of :mod:`schedlab.sim.preemption.search` and :mod:`schedlab.sim.evictable`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.cluster.kernels import ClusterArrays, ShapeArraysK
from schedlab.jit import inline, kernel


class EvictArrays(NamedTuple):
    head: IntArray  # N: first task of the node's list (-1: none)
    tail: IntArray  # N
    prev: IntArray  # n
    next: IntArray  # n
    members: IntArray  # N: how many preemptible tasks run there
    cpu: IntArray  # N: held by the node's preemptible tasks
    mem: IntArray  # N
    gpu: IntArray  # N x G
    weight: FloatArray  # n: the victim policy's weight
    order: IntArray  # scratch: one node's candidates
    chosen: IntArray  # scratch: the best node's victims
    free: IntArray  # scratch: G


def evict_arrays(nodes: int, width: int, weight: FloatArray) -> EvictArrays:
    n = len(weight)
    return EvictArrays(
        head=np.full(nodes, -1, dtype=np.int64),
        tail=np.full(nodes, -1, dtype=np.int64),
        prev=np.full(max(n, 1), -1, dtype=np.int64),
        next=np.full(max(n, 1), -1, dtype=np.int64),
        members=np.zeros(nodes, dtype=np.int64),
        cpu=np.zeros(nodes, dtype=np.int64),
        mem=np.zeros(nodes, dtype=np.int64),
        gpu=np.zeros((nodes, width), dtype=np.int64),
        weight=np.ascontiguousarray(weight, dtype=np.float64),
        order=np.zeros(max(n, 1), dtype=np.int64),
        chosen=np.zeros(max(n, 1), dtype=np.int64),
        free=np.zeros(width, dtype=np.int64),
    )


@inline
def _hold(e: EvictArrays, sh: ShapeArraysK, s: int, node: int, mask: int, sign: int) -> None:
    e.cpu[node] += sign * sh.cpu[s]
    e.mem[node] += sign * sh.mem[s]
    for g in range(e.gpu.shape[1]):
        if mask >> g & 1:
            e.gpu[node, g] += sign * sh.milli[s]
    e.members[node] += sign


@kernel
def add(e: EvictArrays, sh: ShapeArraysK, task: int, s: int, node: int, mask: int) -> None:
    """``task`` (shape ``s``) started on ``node`` with GPUs ``mask``."""
    e.prev[task], e.next[task] = e.tail[node], -1
    if e.tail[node] >= 0:
        e.next[e.tail[node]] = task
    else:
        e.head[node] = task
    e.tail[node] = task
    _hold(e, sh, s, node, mask, 1)


@kernel
def remove(e: EvictArrays, sh: ShapeArraysK, task: int, s: int, node: int, mask: int) -> None:
    before, after = e.prev[task], e.next[task]
    if before >= 0:
        e.next[before] = after
    else:
        e.head[node] = after
    if after >= 0:
        e.prev[after] = before
    else:
        e.tail[node] = before
    _hold(e, sh, s, node, mask, -1)


@inline
def _fits(sh: ShapeArraysK, s: int, cpu: int, mem: int, free: IntArray) -> bool:
    if cpu < sh.cpu[s] or mem < sh.mem[s]:
        return False
    have = 0
    for g in range(len(free)):
        if free[g] >= sh.milli[s]:
            have += 1
    return have >= sh.k[s]


@inline
def _room(c: ClusterArrays, sh: ShapeArraysK, e: EvictArrays, s: int, node: int) -> bool:
    """Whether evicting every preemptible task of ``node`` would make shape ``s`` fit."""
    if e.members[node] == 0 or c.cpu_left[node] + e.cpu[node] < sh.cpu[s]:
        return False
    if c.mem_left[node] + e.mem[node] < sh.mem[s] or not sh.allowed[s, c.model[node]]:
        return False
    have = 0
    for g in range(c.gpu_free.shape[1]):
        if c.gpu_free[node, g] + e.gpu[node, g] >= sh.milli[s]:
            have += 1
    return have >= sh.k[s]


@inline
def _earlier(e: EvictArrays, start: FloatArray, now: float, a: int, b: int) -> bool:
    """Whether task ``a`` is evicted before task ``b``."""
    lost_a, lost_b = (now - start[a]) * e.weight[a], (now - start[b]) * e.weight[b]
    if lost_a != lost_b:
        return lost_a < lost_b
    if start[a] != start[b]:
        return start[a] > start[b]
    return a < b


@kernel
def cheapest(
    c: ClusterArrays,
    sh: ShapeArraysK,
    e: EvictArrays,
    start: FloatArray,
    mask: IntArray,
    shape_of: IntArray,
    rank: IntArray,
    now: float,
    s: int,
) -> tuple[int, int]:
    """The node to preempt on for shape ``s`` and how many victims (in ``e.chosen``);
    node -1 when no node works."""
    best, best_cost, best_rank, victims = -1, 0.0, 0, 0
    width = c.gpu_free.shape[1]
    for node in range(len(e.members)):
        if not _room(c, sh, e, s, node):
            continue
        m = 0
        task = e.head[node]
        while task >= 0:  # insertion sort into eviction order
            i = m
            while i > 0 and _earlier(e, start, now, task, e.order[i - 1]):
                e.order[i] = e.order[i - 1]
                i -= 1
            e.order[i] = task
            m += 1
            task = e.next[task]
        cpu, mem = c.cpu_left[node], c.mem_left[node]
        for g in range(width):
            e.free[g] = c.gpu_free[node, g]
        cost, taken = 0.0, 0
        while taken < m and not _fits(sh, s, cpu, mem, e.free):
            v = e.order[taken]
            vs = shape_of[v]
            cpu, mem = cpu + sh.cpu[vs], mem + sh.mem[vs]
            for g in range(width):
                if mask[v] >> g & 1:
                    e.free[g] += sh.milli[vs]
            taken += 1
            cost += (now - start[v]) * sh.total[vs] / 1000
        if taken == 0 or not _fits(sh, s, cpu, mem, e.free):
            continue
        if best < 0 or cost < best_cost or (cost == best_cost and rank[node] < best_rank):
            best, best_cost, best_rank, victims = node, cost, rank[node], taken
            for i in range(taken):
                e.chosen[i] = e.order[i]
    return best, victims
