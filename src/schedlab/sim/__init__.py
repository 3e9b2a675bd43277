"""The event-driven replay: time, queues, admission, preemption and speeds.

Parts: :mod:`~schedlab.sim.model` (what is fixed before the first event),
:mod:`~schedlab.sim.reference` (the events, pure Python: arrivals, departures, samples),
:mod:`~schedlab.sim.waiting` (the queue), :mod:`~schedlab.sim.preemption` (who may
preempt; where, and whom: :mod:`schedlab.eviction`), :mod:`~schedlab.sim.recorder` and
:mod:`~schedlab.sim.result` (what comes out). Policies: ``queues``, ``admission``,
``preemption``, one file each, registered by name.
"""

from schedlab.sim.config import ReplayConfig
from schedlab.sim.result import ReplayResult, time_average
from schedlab.sim.run import replay

__all__ = ["ReplayConfig", "ReplayResult", "replay", "time_average"]
