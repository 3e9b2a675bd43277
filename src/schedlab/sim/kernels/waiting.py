"""The compiled waiting queue: per task shape, a binary heap of waiting tasks.

A task waits in its shape's heap, ordered by ``(key0, key1, key2, task)`` (the queue
policy's key, padded with zeros, then the lower task index). Shape ``s`` owns the slots
``offset[s] .. offset[s + 1]`` of one flat array: as many as it has tasks, so no heap ever
overflows; ``pos`` is each waiting task's place in its heap, so that a task whose key
changes (``drf``, the starvation guard) moves in O(log n). ``active`` lists the shapes with
waiting tasks (``where`` is each one's position in it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import BoolArray, FloatArray, IntArray
from schedlab.jit import inline, step


class WaitingArrays(NamedTuple):
    slots: IntArray  # n
    offset: IntArray  # S + 1
    size: IntArray  # S
    active: IntArray  # S (the first ``tally[0]`` entries)
    where: IntArray  # S: position in ``active`` (-1 when not waiting)
    tally: IntArray  # [number of active shapes, number of waiting tasks]
    key0: FloatArray  # per task
    key1: FloatArray  # per task
    key2: FloatArray  # per task
    pos: IntArray  # per task: its place in its shape's heap (-1: not waiting)
    shape_of: IntArray  # per task
    candidate: BoolArray  # scratch: S


def waiting_arrays(shape_of: IntArray, shapes: int, key0: FloatArray, key1: FloatArray) -> WaitingArrays:
    per_shape = np.bincount(shape_of, minlength=shapes)
    n = max(len(shape_of), 1)
    return WaitingArrays(
        slots=np.zeros(n, dtype=np.int64),
        offset=np.concatenate([[0], np.cumsum(per_shape)]).astype(np.int64),
        size=np.zeros(shapes, dtype=np.int64),
        active=np.zeros(shapes, dtype=np.int64),
        where=np.full(shapes, -1, dtype=np.int64),
        tally=np.zeros(2, dtype=np.int64),
        key0=np.ascontiguousarray(key0, dtype=np.float64),
        key1=np.ascontiguousarray(key1, dtype=np.float64),
        key2=np.zeros(len(shape_of)),
        pos=np.full(n, -1, dtype=np.int64),
        shape_of=np.ascontiguousarray(shape_of, dtype=np.int64),
        candidate=np.zeros(shapes, dtype=bool),
    )


@inline
def before(w: WaitingArrays, a: int, b: int) -> bool:
    """Whether task ``a`` comes before task ``b`` in queue order."""
    if w.key0[a] != w.key0[b]:
        return w.key0[a] < w.key0[b]
    if w.key1[a] != w.key1[b]:
        return w.key1[a] < w.key1[b]
    if w.key2[a] != w.key2[b]:
        return w.key2[a] < w.key2[b]
    return a < b


@inline
def first(w: WaitingArrays, s: int) -> int:
    return w.slots[w.offset[s]]


@inline
def _put(w: WaitingArrays, base: int, i: int, task: int) -> None:
    w.slots[base + i] = task
    w.pos[task] = i


@step
def _up(w: WaitingArrays, base: int, i: int) -> None:
    task = w.slots[base + i]
    while i > 0:
        parent = (i - 1) // 2
        other = w.slots[base + parent]
        if not before(w, task, other):
            break
        _put(w, base, i, other)
        i = parent
    _put(w, base, i, task)


@step
def _down(w: WaitingArrays, base: int, i: int, size: int) -> None:
    task = w.slots[base + i]
    while True:
        child, least = -1, task
        for j in range(2 * i + 1, min(2 * i + 3, size)):
            if before(w, w.slots[base + j], least):
                child, least = j, w.slots[base + j]
        if child < 0:
            break
        _put(w, base, i, least)
        i = child
    _put(w, base, i, task)


@step
def push(w: WaitingArrays, s: int, task: int) -> None:
    base = w.offset[s]
    i = w.size[s]
    w.size[s] += 1
    w.tally[1] += 1
    if i == 0:
        w.where[s] = w.tally[0]
        w.active[w.tally[0]] = s
        w.tally[0] += 1
    _put(w, base, i, task)
    _up(w, base, i)


@step
def remove(w: WaitingArrays, task: int) -> None:
    """Take ``task`` (waiting) out of its shape's heap."""
    s = w.shape_of[task]
    base, i = w.offset[s], w.pos[task]
    last = w.size[s] - 1
    w.size[s] = last
    w.tally[1] -= 1
    w.pos[task] = -1
    if last == 0:  # the shape leaves the active list (the last active shape takes its place)
        moved = w.active[w.tally[0] - 1]
        w.active[w.where[s]] = moved
        w.where[moved] = w.where[s]
        w.where[s] = -1
        w.tally[0] -= 1
        return
    if i == last:
        return
    _put(w, base, i, w.slots[base + last])
    _down(w, base, i, last)
    _up(w, base, i)


@step
def pop(w: WaitingArrays, s: int) -> int:
    """Remove and return shape ``s``'s first task."""
    task = first(w, s)
    remove(w, task)
    return task


@step
def moved(w: WaitingArrays, task: int) -> None:
    """``task``'s key changed while it waits: restore the heap order."""
    s = w.shape_of[task]
    base = w.offset[s]
    _down(w, base, w.pos[task], w.size[s])
    _up(w, base, w.pos[task])


@step
def head(w: WaitingArrays, only_candidates: bool) -> int:
    """The shape whose first task comes first (among the candidates only, if asked); -1 if none."""
    best = -1
    for i in range(w.tally[0]):
        s = w.active[i]
        if only_candidates and not w.candidate[s]:
            continue
        if best < 0 or before(w, first(w, s), first(w, best)):
            best = s
    return best
