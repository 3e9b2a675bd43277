"""Workloads with time: openb timelines, generic job CSVs, synthetic workloads."""

from schedlab.workload.jobs import load_jobs, write_jobs
from schedlab.workload.timed import TimedWorkload, from_openb

__all__ = ["TimedWorkload", "from_openb", "load_jobs", "write_jobs"]
