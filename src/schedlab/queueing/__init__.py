"""Queueing: the order of waiting tasks, and the choice of preemption victims."""

from schedlab.queueing.base import QUEUE_POLICIES, QueueContext, QueuePolicy, make_queue_policy
from schedlab.queueing.victims import VICTIM_POLICIES, VictimPolicy

__all__ = [
    "QUEUE_POLICIES",
    "VICTIM_POLICIES",
    "QueueContext",
    "QueuePolicy",
    "VictimPolicy",
    "make_queue_policy",
]
