"""The waiting queue: per task shape, the waiting tasks sorted by queue key.

Items are ``(key, task)`` (ties in key go to the lower task index, i.e. the earlier
arrival). The queue's head is the smallest first item over all shapes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
from sortedcontainers import SortedList

from schedlab.cluster.feasibility import shapes_fitting
from schedlab.cluster.shapes import ShapeArrays
from schedlab.cluster.state import ClusterState
from schedlab.trace.tables import FloatArray, IntArray, StrArray

Item = tuple[tuple[float, ...], int]


class WaitingQueue:
    """Waiting tasks by shape; counts them in :attr:`size`."""

    def __init__(
        self,
        cluster: ClusterState,
        shape_of: IntArray,
        shapes: ShapeArrays,
        users: StrArray | None = None,
        guarded: FloatArray | None = None,
        tier: Callable[[int], tuple[float, ...]] = lambda t: (),
    ) -> None:
        self.cluster = cluster
        self.shape_of = shape_of
        self.shapes = shapes
        self._by_shape: dict[int, SortedList] = {}
        self.size = 0
        self._items: dict[int, Item] = {}  # each waiting task's item
        #: With ``users``: the waiting tasks of each user (for :meth:`rekey`).
        self.users = users
        self._by_user: dict[str, set[int]] = defaultdict(set)
        #: With ``guarded`` (when each task's wait began: its arrival, later when it ran before
        #: an eviction; infinite for a task the starvation guard leaves alone): the guarded
        #: waiting tasks in that order (for :meth:`starving`); those whose wait began by
        #: ``_promoted`` are ahead of every other task of their ``tier``.
        self.guarded = guarded
        self.tier = tier
        self._by_arrival = SortedList()
        self._promoted = -math.inf

    def __bool__(self) -> bool:
        return self.size > 0

    def push(self, item: Item) -> None:
        item = self._entering(item)
        arrival = self._arrival(item[1])
        s = int(self.shape_of[item[1]])
        queue = self._by_shape.get(s)
        if queue is None:
            queue = self._by_shape[s] = SortedList()
        queue.add(item)
        self.size += 1
        self._items[item[1]] = item
        if self.users is not None:
            self._by_user[str(self.users[item[1]])].add(item[1])
        if math.isfinite(arrival):
            self._by_arrival.add((arrival, item[1]))

    def _arrival(self, t: int) -> float:
        """When ``t``'s wait began, as the guard counts it (inf: not guarded)."""
        return math.inf if self.guarded is None else float(self.guarded[t])

    def _entering(self, item: Item) -> Item:
        """``item`` as it enters: with a starving key if its task starved before (evicted)."""
        arrival = self._arrival(item[1])
        return (self._starving_key(item[1], arrival), item[1]) if arrival <= self._promoted else item

    def item_of(self, t: int, key: Callable[[int], tuple[float, ...]]) -> Item:
        """``t``'s place in the queue order: its item while it waits, else the item it
        would enter with (``key`` gives a task's key)."""
        return self._items.get(t) or self._entering((key(t), t))

    def first(self, shape: int) -> Item:
        item: Item = self._by_shape[shape][0]
        return item

    def pop(self, shape: int) -> Item:
        queue = self._by_shape[shape]
        item: Item = queue.pop(0)
        if not queue:
            del self._by_shape[shape]
        self.size -= 1
        del self._items[item[1]]
        if math.isfinite(arrival := self._arrival(item[1])):
            self._by_arrival.remove((arrival, item[1]))
        if self.users is not None:
            self._by_user[str(self.users[item[1]])].discard(item[1])
        return item

    def starving(self, before: float, limit: int) -> list[int]:
        """Put every guarded waiting task whose wait began at or before ``before`` ahead of
        every other task of its tier (key: its tier, -infinity, that time), for good; return
        the first ``limit`` of them, longest wait first (needs ``guarded``; ``before`` never
        decreases)."""
        if before > self._promoted:
            newly = self._by_arrival.irange((self._promoted, math.inf), (before, math.inf), (False, True))
            for arrival, t in list(newly):
                self._replace(t, self._starving_key(t, arrival))
            self._promoted = before
        return [t for arrival, t in self._by_arrival.islice(0, limit) if arrival <= before]

    def _starving_key(self, t: int, arrival: float) -> tuple[float, ...]:
        return (*self.tier(t), -math.inf, arrival)

    def rekey(self, user: str, key: Callable[[int], tuple[float, ...]], skip: int = -1) -> None:
        """Take the keys of ``user``'s waiting tasks (but ``skip``) again (needs ``users``)."""
        for t in self._by_user.get(user, ()):
            old = self._items[t][0]
            if t != skip and -math.inf not in old:  # a starving task stays first
                new = key(t)
                if new != old:
                    self._replace(t, new)

    def _replace(self, t: int, key: tuple[float, ...]) -> None:
        """Give waiting task ``t`` a new key."""
        queue = self._by_shape[int(self.shape_of[t])]
        queue.remove(self._items[t])
        self._items[t] = (key, t)
        queue.add(self._items[t])

    def count(self, shape: int) -> int:
        """How many tasks of ``shape`` wait."""
        queue = self._by_shape.get(shape)
        return 0 if queue is None else len(queue)

    def waiting_shapes(self) -> set[int]:
        """The shapes of the waiting tasks."""
        return set(self._by_shape)

    def head(self, shapes: Iterable[int] | None = None) -> int | None:
        """The shape (among ``shapes``, default all) whose first task comes first in order."""
        best, best_item = None, None
        for s in self._by_shape if shapes is None else shapes:
            item = self._by_shape[s][0]
            if best_item is None or item < best_item:
                best, best_item = s, item
        return best

    def fitting_node(self, node: int) -> set[int]:
        """Waiting shapes that fit ``node`` as it is now (none while it is out of service)."""
        if not self._by_shape or not self.cluster.up[node]:
            return set()
        cluster = self.cluster
        waiting = np.fromiter(self._by_shape, dtype=np.int64, count=len(self._by_shape))
        ok = shapes_fitting(
            int(cluster.cpu_left[node]),
            int(cluster.mem_left[node]),
            cluster.gpu_free[node],
            int(cluster.model[node]),
            self.shapes,
            waiting,
        )
        return set(waiting[ok].tolist())
