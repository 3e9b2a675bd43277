"""Metrics computed from run records."""

from schedlab.metrics.curves import X_MAX, bin_curve

__all__ = ["X_MAX", "bin_curve"]
