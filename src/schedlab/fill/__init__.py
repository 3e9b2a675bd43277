"""The fill experiment of the FGD paper (ATC'23): tasks offered one by one, nothing departs."""

from schedlab.fill.experiment import run_fill
from schedlab.fill.result import CURVES, FillConfig, FillResult
from schedlab.fill.tuning import tuned_order

__all__ = ["CURVES", "FillConfig", "FillResult", "run_fill", "tuned_order"]
