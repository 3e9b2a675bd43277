"""Victim policies, one file each, registered by name (``schedlab replay --victim NAME``)."""

from schedlab.eviction.victims import least_lost, newest
from schedlab.eviction.victims.base import VICTIM_POLICIES, VictimPolicy, register

__all__ = ["VICTIM_POLICIES", "VictimPolicy", "least_lost", "newest", "register"]
