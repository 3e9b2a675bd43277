"""``drf``: fair share between users by dominant resource fairness (DRF) over GPU and CPU.

A user's dominant share is the larger of the shares of the cluster's GPU and CPU that its
running tasks hold, divided by its weight (1 unless ``--quotas`` gives one). Waiting tasks go
in order of their user's dominant share (smallest first), then arrival: the user furthest
below its share is served first. Shares change as tasks start and stop, so the keys of a
user's waiting tasks are taken again each time.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from schedlab.sim.queues.base import FairShares, QueueContext, QueuePolicy, register


@register
class DominantResourceFairness(QueuePolicy):
    """``drf``: the waiting task of the user with the smallest weighted dominant share first."""

    name = "drf"
    by_user = True

    def __init__(self, context: QueueContext) -> None:
        super().__init__(context)
        assert context.gpu_milli is not None and context.cpu_milli is not None, "needs task demands"
        self.gpu, self.cpu = context.gpu_milli, context.cpu_milli
        self.gpu_total, self.cpu_total = (max(c, 1) for c in context.capacity)
        self.weights = context.weights or {}
        self.held: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def share(self, user: str) -> float:
        gpu, cpu = self.held[user]
        return max(gpu / self.gpu_total, cpu / self.cpu_total) / self.weights.get(user, 1.0)

    def key(self, task: int) -> tuple[float, ...]:
        return (self.share(str(self.context.user[task])), float(self.context.arrival[task]))

    def fair_shares(self) -> FairShares:
        codes, users = pd.factorize(self.context.user)
        weights = np.array([self.weights.get(str(u), 1.0) for u in users], dtype=np.float64)
        return codes.astype(np.int64), weights, self.gpu, self.cpu, (self.gpu_total, self.cpu_total)

    def started(self, task: int) -> None:
        held = self.held[str(self.context.user[task])]
        held[0] += int(self.gpu[task])
        held[1] += int(self.cpu[task])

    def stopped(self, task: int) -> None:
        held = self.held[str(self.context.user[task])]
        held[0] -= int(self.gpu[task])
        held[1] -= int(self.cpu[task])
