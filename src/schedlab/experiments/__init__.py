"""Experiments built on the cluster model and the policies."""

from schedlab.experiments.fill import PAPER_POLICIES, FillConfig, FillResult, run_fill, tuned_order

__all__ = ["PAPER_POLICIES", "FillConfig", "FillResult", "run_fill", "tuned_order"]
