"""The compiled event queue: a binary min-heap of events keyed by (time, sequence).

The compiled twin of :class:`~schedlab.engine.Simulator`'s heap, for one kind of event
with two integer payloads. Events at the same time leave in the order they were pushed
(the sequence number breaks ties), so a run is deterministic. Knows nothing of GPUs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.jit import inline, step


class EventHeap(NamedTuple):
    """``size[0]`` events in heap order; ``size[1]`` is the next sequence number."""

    time: FloatArray
    seq: IntArray
    first: IntArray
    second: IntArray
    size: IntArray


def event_heap(capacity: int) -> EventHeap:
    capacity = max(capacity, 16)
    return EventHeap(
        time=np.zeros(capacity),
        seq=np.zeros(capacity, dtype=np.int64),
        first=np.zeros(capacity, dtype=np.int64),
        second=np.zeros(capacity, dtype=np.int64),
        size=np.zeros(2, dtype=np.int64),
    )


def grown(heap: EventHeap, capacity: int) -> EventHeap:
    """A copy of ``heap`` with room for ``capacity`` events."""
    bigger = event_heap(capacity)
    used = int(heap.size[0])
    for old, new in zip(heap[:4], bigger[:4], strict=True):
        new[:used] = old[:used]
    bigger.size[:] = heap.size
    return bigger


@inline
def _before(h: EventHeap, i: int, j: int) -> bool:
    return h.time[i] < h.time[j] or (h.time[i] == h.time[j] and h.seq[i] < h.seq[j])


@inline
def _swap(h: EventHeap, i: int, j: int) -> None:
    h.time[i], h.time[j] = h.time[j], h.time[i]
    h.seq[i], h.seq[j] = h.seq[j], h.seq[i]
    h.first[i], h.first[j] = h.first[j], h.first[i]
    h.second[i], h.second[j] = h.second[j], h.second[i]


@step
def push(h: EventHeap, time: float, first: int, second: int) -> None:
    """Add an event (the caller keeps ``size[0] < capacity``)."""
    i = h.size[0]
    h.time[i], h.seq[i], h.first[i], h.second[i] = time, h.size[1], first, second
    h.size[0] += 1
    h.size[1] += 1
    while i > 0:
        parent = (i - 1) // 2
        if not _before(h, i, parent):
            break
        _swap(h, i, parent)
        i = parent


@step
def pop(h: EventHeap) -> None:
    """Remove the earliest event (read it first at index 0)."""
    last = h.size[0] - 1
    _swap(h, 0, last)
    h.size[0] = last
    i = 0
    while True:
        left, right, least = 2 * i + 1, 2 * i + 2, i
        if left < last and _before(h, left, least):
            least = left
        if right < last and _before(h, right, least):
            least = right
        if least == i:
            return
        _swap(h, i, least)
        i = least


@step
def latest(h: EventHeap) -> float:
    """The time of the last event in the heap (minus infinity when empty)."""
    result = -np.inf
    for i in range(h.size[0]):
        result = max(result, h.time[i])
    return result
