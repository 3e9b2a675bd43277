"""Queue policies, one file each, registered by name (``schedlab replay --queue NAME``)."""

from schedlab.sim.queues import fifo, qos, sjf, sjf_est
from schedlab.sim.queues.base import QUEUE_POLICIES, QueueContext, QueuePolicy, make_queue_policy, register

__all__ = [
    "QUEUE_POLICIES",
    "QueueContext",
    "QueuePolicy",
    "fifo",
    "make_queue_policy",
    "qos",
    "register",
    "sjf",
    "sjf_est",
]
