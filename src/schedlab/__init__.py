"""schedlab: a fast, faithful, trace-driven lab for scheduling ML workloads on GPU clusters."""

__version__ = "0.1.0"
