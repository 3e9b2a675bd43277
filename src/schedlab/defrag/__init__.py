"""Defragmentation: descheduling policies that move running tasks so that a waiting one
fits, registered by name (``schedlab replay --defrag NAME``). The replay's step that applies
them is :mod:`schedlab.sim.defrag` (and its compiled mirror); the rules are in
``docs/sharing.md``."""

from schedlab.defrag.policies import DEFRAG_POLICIES, DefragPolicy, DefragSettings, register

__all__ = ["DEFRAG_POLICIES", "DefragPolicy", "DefragSettings", "register"]
