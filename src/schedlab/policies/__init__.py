"""Placement policies, registered by name. Importing this package registers the built-ins."""

from schedlab.policies import bestfit, clustering, dotprod, fgd, packing, random_fit, slo_aware
from schedlab.policies.base import (
    PlacementPolicy,
    PolicyContext,
    make_policy,
    parse_policies,
    policy_names,
    register,
)

#: The FGD paper's policies, in the order of its figures (weakest first).
PAPER_POLICIES = ("random", "dotprod", "clustering", "packing", "bestfit", "fgd")

__all__ = [
    "PAPER_POLICIES",
    "PlacementPolicy",
    "PolicyContext",
    "bestfit",
    "clustering",
    "dotprod",
    "fgd",
    "make_policy",
    "packing",
    "parse_policies",
    "policy_names",
    "random_fit",
    "register",
    "slo_aware",
]
