"""The openb formats (node lists and pod lists) and schedlab's own job CSV."""

from __future__ import annotations

from schedlab.formats.base import Format, register
from schedlab.trace.openb import load_nodes, load_tasks
from schedlab.workload.jobs import load_jobs
from schedlab.workload.timed import from_openb

register(
    Format(
        "openb-nodes",
        "nodes",
        "Alibaba openb 2023 node list",
        lambda peek: {"sn", "model"} <= peek.columns,  # the loader names any other missing column
        load_nodes,
        "one node per row: sn, cpu_milli, memory_mib, gpu (count), model",
    )
)
register(
    Format(
        "job-csv",
        "jobs",
        "schedlab job CSV",
        lambda peek: "submit_time" in peek.columns and "job_id" not in peek.columns,
        load_jobs,
        "one job per row (a gang of gang_size tasks); arrival submit_time, run time duration",
    )
)
register(
    Format(
        "openb-pods",
        "jobs",
        "Alibaba openb 2023 pod list",
        lambda peek: {"name", "cpu_milli"} <= peek.columns,
        lambda path: from_openb(load_tasks(path)),
        "one task per pod; arrival creation_time, run time deletion_time - scheduled_time;"
        " pods that never ran are left out",
    )
)
