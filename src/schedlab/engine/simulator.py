"""A small discrete-event engine: a clock and a priority queue of events.

It knows nothing about clusters or GPUs. An event is a handler called with a payload at a
time; events at the same time run by ascending ``priority``, then in the order they were
scheduled, so a run is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class Simulator:
    """The clock (:attr:`now`) and the event heap of (time, priority, sequence, handler, payload)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, int, Handler, Any]] = []
        self._seq = 0
        self.events = 0

    def schedule(self, time: float, handler: Handler, payload: Any = None, priority: int = 0) -> None:
        """Call ``handler(payload)`` at ``time`` (not before :attr:`now`)."""
        if time < self.now:
            raise ValueError(f"cannot schedule at {time} < now {self.now}")
        heapq.heappush(self._heap, (time, priority, self._seq, handler, payload))
        self._seq += 1

    @property
    def pending(self) -> int:
        return len(self._heap)

    def peek(self) -> float:
        """Time of the next event (infinity when none)."""
        return self._heap[0][0] if self._heap else float("inf")

    def latest(self) -> float:
        """Time of the last event scheduled so far (minus infinity when none)."""
        return max((entry[0] for entry in self._heap), default=float("-inf"))

    def run(self, until: float = float("inf")) -> int:
        """Process events in order until none is left or the next is after ``until``; return count."""
        heap = self._heap
        pop = heapq.heappop
        count = 0
        while heap and heap[0][0] <= until:
            time, _, _, handler, payload = pop(heap)
            self.now = time
            handler(payload)
            count += 1
        self.events += count
        return count
