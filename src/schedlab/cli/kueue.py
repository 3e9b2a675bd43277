"""``schedlab kueue``: an operator's Kueue configuration, read as schedlab replays it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import figure_flags, whole_gpus
from schedlab.cli.kueue_whatif import compare, explain, kueue_files
from schedlab.cli.types import SEED, writable_file

log = logging.getLogger("schedlab")


@click.group()
def kueue() -> None:
    """Kueue what-if: read Kueue ClusterQueues, cohorts, flavors and LocalQueues (kubectl-style
    YAML). See docs/kueue.md."""


@kueue.command()
@kueue_files
@click.option("--json", "as_json", is_flag=True, help="Print the configuration as JSON instead of the tree.")
def check(files: tuple[Path, ...], as_json: bool) -> None:
    """Validate FILES (multi-document YAML as kubectl apply takes it) and print the quota tree:
    cohorts with the nominal quota of their subtree, ClusterQueues with flavors, quotas,
    borrowing and lending limits, queueing and preemption settings, and their LocalQueues.
    Unsupported or unknown fields are warnings; an invalid object is one error line naming
    the file, the document and the field (exit status 2)."""
    from rich.console import Console

    from schedlab.kueue import load, tree

    config = load.load_config(list(files))
    if as_json:
        click.echo(json.dumps(tree.as_json(config), indent=2))
        return
    Console(width=None if sys.stdout.isatty() else 1000).print(tree.quota_tree(config))


@kueue.command()
@kueue_files
@click.option(
    "--jobs",
    "jobs_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Job CSV with `queue` (LocalQueue namespace/name) and `priority` columns.",
)
@click.option(
    "--placement",
    default="none",
    show_default=True,
    help="Quota plus placement: a workload is admitted when its quota fits and this placement policy"
    " (fgd, bestfit, ...) places all its pods on its flavors' nodes; none: quota only (Kueue's view).",
)
@click.option(
    "--nodes",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --placement: the node list. Default: the embedded openb GPU node list.",
)
@click.option(
    "--seed", type=SEED, default=42, show_default=True, help="With --placement: the node tie order."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw each ClusterQueue's quota use over time, per resource (file name; --format: suffixes).",
)
@figure_flags
def replay(
    files: tuple[Path, ...],
    jobs_file: Path,
    placement: str,
    nodes: Path | None,
    seed: int,
    as_json: bool,
    figure: Path | None,
    formats: str,
    dpi: int,
) -> None:
    """Replay the jobs of a trace through the Kueue configuration in FILES, quota only (Kueue's
    own view: an admitted workload runs for its duration) or with --placement quota plus
    placement (its pods placed on its flavors' nodes, or it waits), with
    Kueue's classic preemption: admission wait per ClusterQueue and LocalQueue, quota used
    and borrowed over time, preemptions by reason and the run time they cost, and why the
    workloads still pending at the end pend. Kueue's fair sharing when a Configuration document
    among FILES enables it (docs/kueue.md)."""
    import time

    from schedlab.files import dumps
    from schedlab.kueue import load
    from schedlab.kueue.admission import replay as admit_over_time
    from schedlab.kueue.report import summary
    from schedlab.kueue.workloads import workloads
    from schedlab.provenance import inputs, stamp
    from schedlab.workload import load_jobs

    config = load.load_config(list(files))
    began = time.perf_counter()
    jobs = load_jobs(jobs_file)
    found = workloads(jobs, config)
    placements = None
    if placement != "none":
        from schedlab.formats import read_nodes
        from schedlab.kueue.placement import Placements
        from schedlab.trace import default_nodes_path

        node_list = whole_gpus(read_nodes(nodes or default_nodes_path()), "kueue placement")
        placements = Placements(config, node_list, jobs.tasks, found.first_task, found.tasks, placement, seed)
    elif nodes is not None:
        log.warning("--nodes has no effect without --placement")
    outcome = admit_over_time(config, found.items, placements=placements)
    doc = summary(config, found, outcome) | {"wall_s": round(time.perf_counter() - began, 4)}
    if figure is not None:
        from schedlab.kueue.report import usage_series
        from schedlab.report.figures import figure_options, parse_formats
        from schedlab.report.kueue import plot_usage

        writable_file(figure, "--figure")
        with figure_options(parse_formats(formats), dpi):
            mode = "quota only" if placements is None else f"quota and placement by {placement}"
            title = f"Kueue quota use over time: {jobs_file.name}, {doc['workloads']} workloads ({mode})"
            written = plot_usage(usage_series(config, found, outcome), figure, title)
        click.echo(f"wrote {written}", err=True)
    if as_json:
        mode = "quota-only" if placements is None else "quota-and-placement"
        settings: dict[str, Any] = {"files": [str(f) for f in files], "jobs": str(jobs_file), "mode": mode}
        paths = {f"config{i}": f for i, f in enumerate(files)} | {"jobs": jobs_file}
        if placements is not None:
            node_path = nodes or default_nodes_path()
            settings |= {"placement": placement, "nodes": str(node_path), "seed": seed}
            paths["nodes"] = node_path
        click.echo(dumps(doc | stamp(settings, inputs(paths)), indent=2))
        return
    _print_replay(doc, "quota only" if placements is None else f"quota and placement by {placement}")


def _print_replay(doc: dict[str, Any], mode: str) -> None:
    from rich.table import Table

    from schedlab.cli.common import print_table

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    table = Table(title=f"Kueue replay, {mode}: {doc['workloads']} workloads; admission wait in seconds")
    for column in ("queue", "kind", "workloads", "admitted", "pending", "wait mean", "p50", "p99", "max"):
        table.add_column(column, justify="left" if column in ("queue", "kind") else "right")
    for kind, rows in (("ClusterQueue", doc["cluster_queues"]), ("LocalQueue", doc["local_queues"])):
        for name, row in rows.items():
            w = row["wait_s"]
            table.add_row(name, kind, str(row["workloads"]), str(row["admitted"]), str(row["pending"]),
                          *(cell(w[k]) for k in ("mean", "p50", "p99", "max")))  # fmt: skip
    print_table(table)
    usage = Table(title="quota used over the run (time-weighted; cpu in cores, memory in GiB, GPUs whole)")
    for column in (
        "ClusterQueue",
        "flavor/resource",
        "nominal",
        "mean used",
        "of nominal",
        "peak",
        "mean borrowed",
    ):
        usage.add_column(column, justify="left" if column in ("ClusterQueue", "flavor/resource") else "right")
    for name, row in doc["cluster_queues"].items():
        for key, u in row["usage"].items():
            scale = {"cpu": 1000, "memory": 2**30}.get(key.rsplit("/", 1)[-1], 1)
            share = "-" if u["mean_frac_of_nominal"] is None else f"{u['mean_frac_of_nominal']:.1%}"
            usage.add_row(name, key, f"{u['nominal'] / scale:,.0f}", f"{u['mean'] / scale:,.1f}", share,
                          f"{u['peak'] / scale:,.0f}", f"{u['borrowed_mean'] / scale:,.1f}")  # fmt: skip
    print_table(usage)
    evicted = {name: row for name, row in doc["cluster_queues"].items() if row["evicted"]}
    if evicted:
        table = Table(title="workloads evicted by preemption (they start over when admitted again)")
        for column in ("ClusterQueue", "reason", "evicted", "run time lost s"):
            table.add_column(column, justify="left" if column in ("ClusterQueue", "reason") else "right")
        for name, row in evicted.items():
            for j, (reason, n) in enumerate(row["evicted"].items()):  # the time lost: per queue
                table.add_row(name if j == 0 else "", reason, str(n), "" if j else f"{row['lost_s']:,.1f}")
        print_table(table)
    waiting = doc["waiting_over_time"]
    rows = [(q, k, v) for q, kinds in waiting["mean"].items() for k, v in kinds.items() if v > 0]
    if rows:
        moments = len(waiting["times"])
        table = Table(title=f"workloads waiting, by reason (time-weighted over {moments} moments of the run)")
        for column in ("ClusterQueue", "reason", "mean", "most"):
            table.add_column(column, justify="left" if column in ("ClusterQueue", "reason") else "right")
        for q, kind, mean in rows:
            table.add_row(q, kind, f"{mean:,.1f}", str(max(waiting["cluster_queues"][q][kind])))
        print_table(table)
    reasons = "; ".join(f"{n} {k}" for k, n in doc["pending_reasons"].items()) or "none"
    click.echo(
        f"admitted {doc['admitted']} of {doc['workloads']} workloads; pending at the end: {reasons};"
        f" {doc['unmanaged_tasks']} tasks without a queue (not managed by Kueue); {doc['wall_s']:.2f} s"
    )


kueue.add_command(explain)
kueue.add_command(compare)
