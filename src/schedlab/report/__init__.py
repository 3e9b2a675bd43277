"""Reports: tables, figures and result files."""

from schedlab.report.figures import plot_curves
from schedlab.report.files import write_fill
from schedlab.report.tables import TABLE_X, curves_frame, mean_table

__all__ = ["TABLE_X", "curves_frame", "mean_table", "plot_curves", "write_fill"]
