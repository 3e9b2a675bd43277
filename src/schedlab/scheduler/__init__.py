"""The placement framework that runs a policy against the cluster state."""

from schedlab.scheduler.placer import Placement, Placer, PolicyError

__all__ = ["Placement", "Placer", "PolicyError"]
