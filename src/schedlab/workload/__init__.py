"""Workloads with time: openb timelines, generic job CSVs, synthetic workloads."""

from schedlab.workload.timed import TimedWorkload, from_openb, load_jobs, write_jobs

__all__ = ["TimedWorkload", "from_openb", "load_jobs", "write_jobs"]
