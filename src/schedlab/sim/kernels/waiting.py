"""The compiled waiting queue: per task shape, a binary heap of waiting tasks.

A task waits in its shape's heap, ordered by ``(key0, key1, task)`` (the queue policy's key,
then the lower task index). Shape ``s`` owns the slots ``offset[s] .. offset[s + 1]`` of one
flat array: as many as it has tasks, so no heap ever overflows. ``active`` lists the shapes
with waiting tasks (``where`` is each one's position in it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import BoolArray, FloatArray, IntArray
from schedlab.jit import inline, kernel


class WaitingArrays(NamedTuple):
    slots: IntArray  # n
    offset: IntArray  # S + 1
    size: IntArray  # S
    active: IntArray  # S (the first ``tally[0]`` entries)
    where: IntArray  # S: position in ``active`` (-1 when not waiting)
    tally: IntArray  # [number of active shapes, number of waiting tasks]
    key0: FloatArray  # per task
    key1: FloatArray  # per task
    candidate: BoolArray  # scratch: S


def waiting_arrays(shape_of: IntArray, shapes: int, key0: FloatArray, key1: FloatArray) -> WaitingArrays:
    per_shape = np.bincount(shape_of, minlength=shapes)
    return WaitingArrays(
        slots=np.zeros(max(len(shape_of), 1), dtype=np.int64),
        offset=np.concatenate([[0], np.cumsum(per_shape)]).astype(np.int64),
        size=np.zeros(shapes, dtype=np.int64),
        active=np.zeros(shapes, dtype=np.int64),
        where=np.full(shapes, -1, dtype=np.int64),
        tally=np.zeros(2, dtype=np.int64),
        key0=np.ascontiguousarray(key0, dtype=np.float64),
        key1=np.ascontiguousarray(key1, dtype=np.float64),
        candidate=np.zeros(shapes, dtype=bool),
    )


@inline
def before(w: WaitingArrays, a: int, b: int) -> bool:
    """Whether task ``a`` comes before task ``b`` in queue order."""
    if w.key0[a] != w.key0[b]:
        return w.key0[a] < w.key0[b]
    if w.key1[a] != w.key1[b]:
        return w.key1[a] < w.key1[b]
    return a < b


@inline
def first(w: WaitingArrays, s: int) -> int:
    return w.slots[w.offset[s]]


@kernel
def push(w: WaitingArrays, s: int, task: int) -> None:
    base = w.offset[s]
    i = w.size[s]
    w.slots[base + i] = task
    w.size[s] += 1
    w.tally[1] += 1
    if i == 0:
        w.where[s] = w.tally[0]
        w.active[w.tally[0]] = s
        w.tally[0] += 1
    while i > 0:
        parent = (i - 1) // 2
        if not before(w, w.slots[base + i], w.slots[base + parent]):
            break
        w.slots[base + i], w.slots[base + parent] = w.slots[base + parent], w.slots[base + i]
        i = parent


@kernel
def pop(w: WaitingArrays, s: int) -> int:
    """Remove and return shape ``s``'s first task."""
    base = w.offset[s]
    task = w.slots[base]
    last = w.size[s] - 1
    w.slots[base] = w.slots[base + last]
    w.size[s] = last
    w.tally[1] -= 1
    if last == 0:  # the shape leaves the active list (the last active shape takes its place)
        moved = w.active[w.tally[0] - 1]
        w.active[w.where[s]] = moved
        w.where[moved] = w.where[s]
        w.where[s] = -1
        w.tally[0] -= 1
    i = 0
    while True:
        left, right, least = 2 * i + 1, 2 * i + 2, i
        if left < last and before(w, w.slots[base + left], w.slots[base + least]):
            least = left
        if right < last and before(w, w.slots[base + right], w.slots[base + least]):
            least = right
        if least == i:
            return task
        w.slots[base + i], w.slots[base + least] = w.slots[base + least], w.slots[base + i]
        i = least
