"""Compiled evictions: preemptible running tasks per node, and where preempting costs least.

Per node, the preemptible tasks running there form a doubly linked list in start order
(kept as tasks start and stop), with the CPU, memory and per-GPU milli they hold, so the
nodes where evictions could make room are found without walking any list. The victims of
one node are taken in the victim policy's order, ``(now - start) x weight`` ascending, then
the later start, then the lower task index (``weight``: GPUs held for least-lost, 0 for
newest), until the task fits; the node losing the fewest GPU-seconds wins (ties: the node
order). The mirror of :mod:`schedlab.eviction.search` and :mod:`schedlab.eviction.evictable`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.cluster.kernels import ClusterArrays, ShapeArraysK
from schedlab.jit import inline, step


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
    bound: FloatArray  # N: the least any one task of the node lost, when last computed,
    since: FloatArray  # N: and the latest start of a task added since,
    slope: FloatArray  # N: and the least milli-GPU of those (-1: none added since)
    order: IntArray  # scratch columns, one row per candidate of one node: the task,
    key: FloatArray  # its eviction-order key, its start, its shape, what evicting it loses
    began: FloatArray
    shape: IntArray
    cost: FloatArray
    chosen: IntArray  # scratch: the best node's victims
    free: IntArray  # scratch: G
    skip: IntArray  # N: nodes marked with ``mark[0]`` are not candidates (refused)
    mark: IntArray  # [current skip mark, current stamp mark]
    every: IntArray  # N: 0 .. N-1, the candidates of a full search
    listed: IntArray  # N: scratch, the candidates of a search of the nodes changed since
    stamp: IntArray  # N: nodes listed in this search (``mark[1]``)
    failed: IntArray  # S: per shape, the placer's log position at its last failed search (-1)


def evict_arrays(nodes: int, width: int, weight: FloatArray, shapes: int) -> EvictArrays:
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
        bound=np.zeros(nodes),
        since=np.zeros(nodes),
        slope=np.full(nodes, -1.0),
        order=np.zeros(max(n, 1), dtype=np.int64),
        key=np.zeros(max(n, 1)),
        began=np.zeros(max(n, 1)),
        shape=np.zeros(max(n, 1), dtype=np.int64),
        cost=np.zeros(max(n, 1)),
        chosen=np.zeros(max(n, 1), dtype=np.int64),
        free=np.zeros(width, dtype=np.int64),
        skip=np.zeros(nodes, dtype=np.int64),
        mark=np.zeros(2, dtype=np.int64),
        every=np.arange(nodes, dtype=np.int64),
        listed=np.zeros(nodes, dtype=np.int64),
        stamp=np.zeros(nodes, dtype=np.int64),
        failed=np.full(max(shapes, 1), -1, dtype=np.int64),
    )


@inline
def _hold(e: EvictArrays, sh: ShapeArraysK, s: int, node: int, mask: int, sign: int) -> None:
    e.cpu[node] += sign * sh.cpu[s]
    e.mem[node] += sign * sh.mem[s]
    for g in range(e.gpu.shape[1]):
        if mask >> g & 1:
            e.gpu[node, g] += sign * sh.milli[s]
    e.members[node] += sign


@step
def add(e: EvictArrays, sh: ShapeArraysK, task: int, s: int, node: int, mask: int, now: float) -> None:
    """``task`` (shape ``s``) started on ``node`` with GPUs ``mask`` at ``now``."""
    e.prev[task], e.next[task] = e.tail[node], -1
    if e.tail[node] >= 0:
        e.next[e.tail[node]] = task
    else:
        e.head[node] = task
    e.tail[node] = task
    e.since[node] = now
    total = float(sh.total[s])
    e.slope[node] = total if e.slope[node] < 0 else min(e.slope[node], total)
    _hold(e, sh, s, node, mask, 1)


@step
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
def fits_free(sh: ShapeArraysK, s: int, cpu: int, mem: int, free: IntArray) -> bool:
    """Whether shape ``s`` fits this much CPU, memory and GPU milli free (on a node of a GPU
    model it may take)."""
    if cpu < sh.cpu[s] or mem < sh.mem[s]:
        return False
    have = 0
    for g in range(len(free)):
        if free[g] >= sh.milli[s]:
            have += 1
    return have >= sh.k[s]


@inline
def _room(c: ClusterArrays, sh: ShapeArraysK, e: EvictArrays, s: int, node: int) -> bool:
    """Whether evicting every preemptible task of ``node`` would make shape ``s`` fit (never
    on a node out of service or refused)."""
    if e.members[node] == 0 or not c.up[node] or e.skip[node] == e.mark[0]:
        return False
    if c.cpu_left[node] + e.cpu[node] < sh.cpu[s]:
        return False
    if c.mem_left[node] + e.mem[node] < sh.mem[s] or not sh.allowed[s, c.model[node]]:
        return False
    have = 0
    for g in range(c.gpu_free.shape[1]):
        if c.gpu_free[node, g] + e.gpu[node, g] >= sh.milli[s]:
            have += 1
    return have >= sh.k[s]


@inline
def _after(e: EvictArrays, i: int, key: float, began: float, task: int) -> bool:
    """Whether scratch row ``i`` is evicted after a task with this key, start and index."""
    if e.key[i] != key:
        return e.key[i] > key
    if e.began[i] != began:
        return e.began[i] < began
    return e.order[i] > task


@step
def _gather(
    e: EvictArrays, start: FloatArray, shape_of: IntArray, sh: ShapeArraysK, now: float, node: int
) -> int:
    """Copy the node's tasks into the scratch rows, each with its eviction-order key, start,
    shape and what evicting it loses; set the node's bound to the least of those; return
    how many."""
    m, bound = 0, np.inf
    task = e.head[node]
    while task >= 0:
        began, vs = start[task], shape_of[task]
        e.order[m], e.key[m], e.began[m], e.shape[m] = task, (now - began) * e.weight[task], began, vs
        e.cost[m] = (now - began) * sh.total[vs] / 1000
        bound = min(bound, e.cost[m])
        m += 1
        task = e.next[task]
    e.bound[node], e.slope[node] = bound, -1.0
    return m


@step
def _sort(e: EvictArrays, m: int) -> None:
    """Sort the scratch rows into eviction order: ``(now - start) x weight`` ascending, then
    the later start, then the lower task index (insertion sort: a node runs few tasks)."""
    for j in range(1, m):
        task, key, began, vs, cost = e.order[j], e.key[j], e.began[j], e.shape[j], e.cost[j]
        i = j
        while i > 0 and _after(e, i - 1, key, began, task):
            e.order[i], e.key[i], e.began[i], e.shape[i], e.cost[i] = (
                e.order[i - 1],
                e.key[i - 1],
                e.began[i - 1],
                e.shape[i - 1],
                e.cost[i - 1],
            )
            i -= 1
        e.order[i], e.key[i], e.began[i], e.shape[i], e.cost[i] = task, key, began, vs, cost


@inline
def lower(e: EvictArrays, node: int, now: float) -> float:
    """At most what evicting any one task of ``node`` loses now. Losses only grow with time
    and a task leaving cannot lower their minimum, so the minimum computed at an earlier
    call still holds; a task added since has lost at least (now - its start) x its milli-GPU,
    so at least (now - the latest such start) x the least such milli-GPU."""
    if e.slope[node] < 0:
        return e.bound[node]
    return min(e.bound[node], (now - e.since[node]) * e.slope[node] / 1000)


@inline
def _beaten(bound: float, rank: int, best_cost: float, best_rank: int) -> bool:
    """Whether a node whose cost is at least ``bound`` cannot beat the best so far."""
    return bound > best_cost or (bound == best_cost and rank > best_rank)


@inline
def _walk(
    c: ClusterArrays, sh: ShapeArraysK, e: EvictArrays, mask: IntArray, s: int, node: int, m: int
) -> tuple[float, int]:
    """Evict the sorted scratch rows of ``node`` until shape ``s`` fits: what they lose and
    how many (0 if even all of them do not make room)."""
    width = c.gpu_free.shape[1]
    cpu, mem = c.cpu_left[node], c.mem_left[node]
    for g in range(width):
        e.free[g] = c.gpu_free[node, g]
    cost, taken = 0.0, 0
    while taken < m and not fits_free(sh, s, cpu, mem, e.free):
        v, vs = e.order[taken], e.shape[taken]
        cpu, mem = cpu + sh.cpu[vs], mem + sh.mem[vs]
        for g in range(width):
            if mask[v] >> g & 1:
                e.free[g] += sh.milli[vs]
        cost += e.cost[taken]
        taken += 1
    if taken == 0 or not fits_free(sh, s, cpu, mem, e.free):
        return 0.0, 0
    return cost, taken


@step
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
    nodes: IntArray,
    count: int,
) -> tuple[int, int]:
    """The node to preempt on for shape ``s`` and how many victims (in ``e.chosen``), among
    the first ``count`` of ``nodes`` not marked in ``e.skip``; node -1 when none works. The
    least (cost, node rank) wins: the order of ``nodes`` does not matter."""
    # The node with the least bound is tried first: its cost is usually the best, and
    # then most other nodes are ruled out by their bound alone.
    first, first_bound = -1, np.inf
    for j in range(count):
        node = nodes[j]
        if e.members[node] > 0 and lower(e, node, now) < first_bound and _room(c, sh, e, s, node):
            first, first_bound = node, lower(e, node, now)
    best, best_cost, best_rank, victims = -1, 0.0, 0, 0
    if first < 0:
        return best, victims
    for i in range(count + 1):
        node = first if i == 0 else nodes[i - 1]
        if (i > 0 and node == first) or e.members[node] == 0:
            continue
        if best >= 0 and _beaten(lower(e, node, now), rank[node], best_cost, best_rank):
            continue
        if i > 0 and not _room(c, sh, e, s, node):
            continue
        m = _gather(e, start, shape_of, sh, now, node)
        if best >= 0 and _beaten(e.bound[node], rank[node], best_cost, best_rank):
            continue
        _sort(e, m)
        cost, taken = _walk(c, sh, e, mask, s, node, m)
        if taken == 0:
            continue
        if best < 0 or cost < best_cost or (cost == best_cost and rank[node] < best_rank):
            best, best_cost, best_rank, victims = node, cost, rank[node], taken
            for j in range(taken):
                e.chosen[j] = e.order[j]
    return best, victims
