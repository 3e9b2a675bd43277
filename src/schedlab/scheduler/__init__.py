"""The placement framework that runs a policy against the cluster state."""

from schedlab.scheduler.placer import Placement, Placer

__all__ = ["Placement", "Placer"]
