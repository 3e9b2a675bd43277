"""The discrete-event engine (domain-free)."""

from schedlab.engine.simulator import Simulator

__all__ = ["Simulator"]
