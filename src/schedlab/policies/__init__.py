"""Placement policies, registered by name. Importing this package registers the built-ins."""

from schedlab.policies import bestfit, clustering, dotprod, fgd, packing, random_fit
from schedlab.policies.base import (
    PlacementPolicy,
    PolicyContext,
    make_policy,
    policy_names,
    register,
)

__all__ = [
    "PlacementPolicy",
    "PolicyContext",
    "bestfit",
    "clustering",
    "dotprod",
    "fgd",
    "make_policy",
    "packing",
    "policy_names",
    "random_fit",
    "register",
]
