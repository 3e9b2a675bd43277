"""The heaps of the compiled admission (:mod:`schedlab.kueue.kernel`): binary heaps of ranks
in one array (a shape's waiting workloads), the indexed heap of a ClusterQueue's shapes keyed
by their first rank, and the heap of ends by time and workload."""

from __future__ import annotations

import numpy as np

from schedlab.jit import inline
from schedlab.kueue.kernel_quota import Arrays


@inline
def sift_down(a: np.ndarray, off: int, size: int, j: int) -> None:
    while True:
        c = 2 * j + 1
        if c >= size:
            return
        if c + 1 < size and a[off + c + 1] < a[off + c]:
            c += 1
        if a[off + j] <= a[off + c]:
            return
        a[off + j], a[off + c] = a[off + c], a[off + j]
        j = c


@inline
def sift_up(a: np.ndarray, off: int, j: int) -> None:
    while j > 0:
        p = (j - 1) >> 1
        if a[off + p] <= a[off + j]:
            return
        a[off + j], a[off + p] = a[off + p], a[off + j]
        j = p


@inline
def q_fix(queues: Arrays, ranks: Arrays, s: int, j: int) -> None:
    """Move shape ``s``, at position ``j`` of its queue's heap, where its key belongs."""
    _, q_off, s_queue, qh, qsize, qpos = queues
    heap, h_off, _ = ranks
    q = s_queue[s]
    off = q_off[q]
    while j > 0:  # up
        p = (j - 1) >> 1
        t = qh[off + p]
        if heap[h_off[t]] <= heap[h_off[s]]:
            break
        qh[off + j], qpos[t] = t, j
        j = p
    while True:  # down
        c = 2 * j + 1
        if c >= qsize[q]:
            break
        if c + 1 < qsize[q] and heap[h_off[qh[off + c + 1]]] < heap[h_off[qh[off + c]]]:
            c += 1
        t = qh[off + c]
        if heap[h_off[s]] <= heap[h_off[t]]:
            break
        qh[off + j], qpos[t] = t, j
        j = c
    qh[off + j], qpos[s] = s, j


@inline
def q_insert(queues: Arrays, ranks: Arrays, s: int) -> None:
    qsize, q = queues[4], queues[2][s]
    qsize[q] += 1
    q_fix(queues, ranks, s, qsize[q] - 1)


@inline
def q_remove(queues: Arrays, ranks: Arrays, s: int) -> None:
    _, q_off, s_queue, qh, qsize, qpos = queues
    q = s_queue[s]
    j, last = qpos[s], qh[q_off[q] + qsize[q] - 1]
    qsize[q] -= 1
    qpos[s] = -1
    if last != s:
        q_fix(queues, ranks, last, j)


@inline
def end_push(times: np.ndarray, tasks: np.ndarray, size: int, t: float, i: int) -> int:
    """Add the end of workload ``i`` at ``t`` to the heap of ends; its new size."""
    j = size
    times[j], tasks[j] = t, i
    while j > 0:
        p = (j - 1) >> 1
        if (times[p], tasks[p]) <= (times[j], tasks[j]):
            break
        times[j], times[p], tasks[j], tasks[p] = times[p], times[j], tasks[p], tasks[j]
        j = p
    return size + 1


@inline
def end_pop(times: np.ndarray, tasks: np.ndarray, size: int) -> int:
    """Take the first end (earliest, then lowest workload) off the heap; its new size."""
    size -= 1
    times[0], tasks[0] = times[size], tasks[size]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= size:
            return size
        if c + 1 < size and (times[c + 1], tasks[c + 1]) < (times[c], tasks[c]):
            c += 1
        if (times[j], tasks[j]) <= (times[c], tasks[c]):
            return size
        times[j], times[c], tasks[j], tasks[c] = times[c], times[j], tasks[c], tasks[j]
        j = c
