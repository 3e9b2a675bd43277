"""Anti-affinity: at most ``max_per_node`` running tasks of one user (service) on a node
(the DLRM trace's ``max_instance_per_node``). The replay asks :meth:`Spread.full` for the
nodes to leave out when it places a task, and counts tasks as they start and stop."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from schedlab.trace.tables import IntArray, StrArray


class Spread:
    """Running tasks per user and node, for the users whose tasks have a limit."""

    def __init__(self, users: StrArray, limits: IntArray | None) -> None:
        self.users = users
        self.limits = limits
        self.count: dict[str, dict[int, int]] = defaultdict(dict)

    def full(self, t: int) -> IntArray | None:
        """Nodes holding as many tasks of ``t``'s user as its limit allows (None: no limit)."""
        if self.limits is None or self.limits[t] < 0:
            return None
        on = self.count[str(self.users[t])]
        return np.array([n for n, count in on.items() if count >= self.limits[t]], dtype=np.int64)

    def add(self, t: int, node: int, step: int) -> None:
        """``t`` started (``step`` 1) or stopped (-1) on ``node``."""
        if self.limits is not None and self.limits[t] >= 0:
            on = self.count[str(self.users[t])]
            on[node] = on.get(node, 0) + step
