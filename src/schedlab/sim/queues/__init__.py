"""Queue policies, one file each, registered by name (``schedlab replay --queue NAME``)."""

from schedlab.sim.queues import drf, fifo, qos, sjf, sjf_est
from schedlab.sim.queues.base import QUEUE_POLICIES, QueueContext, QueuePolicy, make_queue_policy, register

__all__ = [
    "QUEUE_POLICIES",
    "QueueContext",
    "QueuePolicy",
    "drf",
    "fifo",
    "make_queue_policy",
    "qos",
    "register",
    "sjf",
    "sjf_est",
]
