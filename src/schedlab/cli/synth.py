"""``schedlab synth``: a synthetic workload drawn from a trace's mix."""

from __future__ import annotations

from pathlib import Path

import click

from schedlab.cli.common import DIR, NODES_HELP, PATH, timed_workload, whole_gpus
from schedlab.cli.types import SEED, Finite

#: The most tasks (and node copies) one synth run may make: far beyond any experiment here.
MAX_TASKS = 20_000_000
MAX_COPIES = 1_000


@click.command()
@click.option("--pods", type=PATH, help="Trace to draw tasks from (openb pod list). Default: embedded.")
@click.option(
    "--jobs", type=PATH, help="Or a generic job CSV to draw from (its Kueue queue and priority columns kept)."
)
@click.option("--nodes", type=PATH, help=NODES_HELP)
@click.option("--tasks", "count", type=click.IntRange(1, MAX_TASKS), required=True, help="Number of tasks.")
@click.option(
    "--load",
    type=Finite(min=0, max=1000, min_open=True),
    default=0.8,
    show_default=True,
    help="Offered GPU load as a fraction of the cluster's GPU capacity.",
)
@click.option(
    "--durations",
    default="trace",
    show_default=True,
    help="Run times: trace (each task keeps its run time; tasks that never ran are left out),"
    " exp:MEAN or const:SECONDS (every task of the trace's mix, those that never ran too).",
)
@click.option(
    "--copies",
    type=click.IntRange(1, MAX_COPIES),
    default=1,
    show_default=True,
    help="Size the load for this many copies of the node list.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the draws and arrival times.")
@click.option(
    "--services",
    type=Finite(min=0, max=1),
    default=None,
    help="Make this fraction of the tasks inference services and the other GPU-sharing tasks"
    " training jobs, with profiles (see docs/interference.md). Default: no profiles.",
)
@click.option(
    "--profiles", type=DIR, help="Profile directory for --services. Default: the embedded H100 one."
)
@click.option(
    "--warm-start/--cold-start",
    default=True,
    show_default=True,
    help="Begin in the workload's steady state: tasks already running at time 0 (warmup=1 rows,"
    " residual run times), so that the run holds the offered load from the start; a replay"
    " measures only the tasks that arrive after.",
)
@click.option(
    "--gangs",
    metavar="FRACTION:SIZES",
    help="Make this fraction of the jobs of whole GPUs gang jobs of a size drawn from SIZES"
    " (e.g. 0.2:2,4,8): all tasks start together (a gang_size column).",
)
@click.option(
    "--users",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Give each job one of this many users, user-0 the most active (Zipf: user i has weight"
    " 1 / (i + 1)), for fair-share queues (--queue drf). Default: the trace's users.",
)
@click.option(
    "--anti-affinity",
    "spread",
    metavar="FRACTION:CAP[:INSTANCES]",
    help="Make this fraction of the jobs (not gangs) instances of services, INSTANCES (default 8)"
    " consecutive ones a service (user svc-K), at most CAP of a service on one node (a"
    " max_per_node column), e.g. 0.1:1:8.",
)
@click.option("--out", type=PATH, required=True, help="Job CSV to write.")
def synth(
    pods: Path | None,
    jobs: Path | None,
    nodes: Path | None,
    count: int,
    load: float,
    durations: str,
    copies: int,
    seed: int,
    services: float | None,
    profiles: Path | None,
    warm_start: bool,
    gangs: str | None,
    users: int | None,
    spread: str | None,
    out: Path,
) -> None:
    """Generate a synthetic workload: tasks drawn from a trace's mix, Poisson arrivals at an
    offered GPU load, run times from the trace or a distribution. Writes a job CSV for
    `schedlab replay --jobs`."""
    from schedlab.cli.types import writable_file
    from schedlab.formats import read_nodes
    from schedlab.trace import default_nodes_path
    from schedlab.workload import write_jobs
    from schedlab.workload.load import gpu_load
    from schedlab.workload.synth import parse_gangs, parse_spread, synthesize

    writable_file(out)
    trace = timed_workload(pods, jobs, keep_unrun=durations != "trace")  # drawn run times: the whole mix
    node_table = whole_gpus(read_nodes(nodes or default_nodes_path()), "synth")
    if copies > 1:
        node_table = node_table.repeat(copies)
    gang_mix = parse_gangs(gangs) if gangs else None
    caps = parse_spread(spread) if spread else None
    workload = synthesize(
        trace,
        node_table,
        count,
        load,
        seed,
        durations,
        warm=warm_start,
        gangs=gang_mix,
        users=users,
        spread=caps,
    )
    if services is not None:
        from schedlab.interference import load_profiles
        from schedlab.interference.mix import with_profiles

        workload = with_profiles(workload, load_profiles(profiles), services, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jobs(workload, out)
    warm = int(workload.is_warmup.sum())
    extra = f" and {warm} warm-up tasks running at time 0" if warm else ""
    click.echo(
        f"wrote {len(workload) - warm} tasks{extra} to {out}"
        f" (offered GPU load {gpu_load(workload, node_table):.3f})"
    )
