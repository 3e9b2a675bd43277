"""``schedlab kueue``: an operator's Kueue configuration, read as schedlab replays it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import figure_flags
from schedlab.cli.types import writable_file


@click.group()
def kueue() -> None:
    """Kueue what-if: read Kueue ClusterQueues, cohorts, flavors and LocalQueues (kubectl-style
    YAML). See docs/kueue.md."""


@kueue.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
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
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--jobs",
    "jobs_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Job CSV with `queue` (LocalQueue namespace/name) and `priority` columns.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw each ClusterQueue's quota use over time, per resource (file name; --format: suffixes).",
)
@figure_flags
def replay(
    files: tuple[Path, ...], jobs_file: Path, as_json: bool, figure: Path | None, formats: str, dpi: int
) -> None:
    """Replay the jobs of a trace through the Kueue configuration in FILES, quota only (Kueue's
    own view: an admitted workload runs for its duration; nodes are not modelled yet), with
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
    found = workloads(load_jobs(jobs_file), config)
    outcome = admit_over_time(config, found.items)
    doc = summary(config, found, outcome) | {"wall_s": round(time.perf_counter() - began, 4)}
    if figure is not None:
        from schedlab.kueue.report import usage_series
        from schedlab.report.figures import figure_options, parse_formats
        from schedlab.report.kueue import plot_usage

        writable_file(figure, "--figure")
        with figure_options(parse_formats(formats), dpi):
            title = f"Kueue quota use over time: {jobs_file.name}, {doc['workloads']} workloads (quota only)"
            written = plot_usage(usage_series(config, found, outcome), figure, title)
        click.echo(f"wrote {written}", err=True)
    if as_json:
        settings = {"files": [str(f) for f in files], "jobs": str(jobs_file), "mode": "quota-only"}
        paths = {f"config{i}": f for i, f in enumerate(files)} | {"jobs": jobs_file}
        click.echo(dumps(doc | stamp(settings, inputs(paths)), indent=2))
        return
    _print_replay(doc)


def _print_replay(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from schedlab.cli.common import print_table

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    table = Table(title=f"Kueue replay, quota only: {doc['workloads']} workloads; admission wait in seconds")
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


@kueue.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--jobs",
    "jobs_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The trace already submitted: a job CSV with `queue` and `priority` columns.",
)
@click.option(
    "--workload",
    "workload_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A job CSV of one workload (one row, or one gang) with its `queue` and `priority`.",
)
@click.option(
    "--at",
    type=click.FloatRange(min=0),
    help="Submit it at this time of the trace (seconds). Default: its own submit_time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def explain(
    files: tuple[Path, ...], jobs_file: Path, workload_file: Path, at: float | None, as_json: bool
) -> None:
    """Would one more workload be admitted if submitted at --at beside the trace --jobs
    (quota only, as kueue replay): at once with which flavors, or why it would pend then
    (which quota, which flavor, no preemption allowed, blocked by a StrictFIFO head) and
    behind how many workloads, when it would be admitted as the trace goes on, whom it
    would evict, and how many of the trace's workloads it would delay."""
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.kueue import load
    from schedlab.kueue.explain import explain as what_if
    from schedlab.kueue.workloads import workloads
    from schedlab.workload import load_jobs

    config = load.load_config(list(files))
    trace = workloads(load_jobs(jobs_file), config)
    new = workloads(load_jobs(workload_file), config)
    if len(new.items) != 1:
        raise ConfigError(
            f"--workload {workload_file}: {len(new.items)} workloads with a queue;"
            " give one (one row or one gang)"
        )
    when = new.items[0].arrival if at is None else at
    answer = what_if(config, trace.items, new.items[0], when)
    if as_json:
        click.echo(dumps(answer.as_json() | {"local_queue": new.local_queue[0]}, indent=2))
        return
    w = answer.workload
    click.echo(
        f"{new.local_queue[0]} -> ClusterQueue {w.queue}, priority {w.priority}, submitted at {when:g} s:"
    )
    if answer.pending_at is None:
        click.echo("  admitted at once")
    else:
        click.echo(f"  pends at {when:g} s ({answer.ahead} workloads ahead of it): {answer.pending_at}")
    flavors = ", ".join(f"{r}: {f}" for r, f in answer.flavors)
    if answer.admitted_at is None:
        click.echo(f"  never admitted in the trace: {answer.pending_end}")
    else:
        click.echo(
            f"  admitted at {answer.admitted_at:g} s ({answer.admitted_at - when:g} s later);"
            f" flavors {flavors}"
        )
    if answer.evicts:
        reasons = ", ".join(f"workload {i} ({reason})" for i, reason in answer.evicts)
        click.echo(f"  evicts {len(answer.evicts)}: {reasons}")
    if answer.evicted:
        click.echo(f"  is evicted {answer.evicted} times afterwards (it starts over each time)")
    click.echo(f"  delays {answer.delayed} of the trace's workloads by {answer.delay_s:g} s in total")


@kueue.command()
@click.option(
    "--config",
    "configs",
    required=True,
    multiple=True,
    metavar="FILE[,FILE...]",
    help="One alternative: Kueue YAML files read together (repeat for each alternative).",
)
@click.option(
    "--scale",
    default="1",
    show_default=True,
    metavar="FACTOR[,FACTOR...]",
    help="Replay each alternative with every quota (nominal, borrowing and lending limits) x each factor.",
)
@click.option(
    "--jobs",
    "jobs_files",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A trace (job CSV with `queue` and `priority`); repeat it for replicates (e.g. one per seed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every figure (mean, std, n, interval) as JSON.")
def compare(configs: tuple[str, ...], scale: str, jobs_files: tuple[Path, ...], as_json: bool) -> None:
    """Compare Kueue configurations and quota scalings before applying them: each alternative
    is replayed (quota only, as kueue replay) on every trace of --jobs, and the admission wait
    (mean, p99), the workloads still pending at the end and the evictions are given as the
    mean over the traces with a 95 % confidence interval (Student t), overall and per
    ClusterQueue."""
    from rich.table import Table

    from schedlab.cli.common import print_table
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.kueue import load
    from schedlab.kueue.compare import FIGURES, compare, run, scaled, table_rows
    from schedlab.kueue.workloads import workloads
    from schedlab.provenance import inputs, stamp
    from schedlab.workload import load_jobs

    try:
        factors = [float(f) for f in scale.split(",")]
    except ValueError:
        raise ConfigError(f"--scale {scale!r}: give factors such as 0.5,1,2") from None
    if not all(0 < f < 1e6 for f in factors):
        raise ConfigError(f"--scale {scale!r}: every factor must be positive")
    traces = [load_jobs(path) for path in jobs_files]
    results: dict[str, dict[str, Any]] = {}
    paths: dict[str, Path] = {f"jobs{i}": p for i, p in enumerate(jobs_files)}
    for files in configs:
        names = [Path(f) for f in files.split(",") if f]
        paths |= {str(p): p for p in names}
        base = load.load_config(names)
        found = [workloads(t, base) for t in traces]
        for factor in factors:
            label = "+".join(p.name for p in names) + ("" if factor == 1 else f" x{factor:g}")
            results[label] = compare(run(scaled(base, factor), found))
    if as_json:
        settings = {"configs": list(configs), "scale": factors, "jobs": [str(p) for p in jobs_files]}
        click.echo(dumps({"alternatives": results} | stamp(settings, inputs(paths)), indent=2))
        return
    n = len(jobs_files)
    table = Table(title=f"Kueue alternatives on {n} trace{'s' * (n > 1)}: mean [95 % interval over traces]")
    for column in ("alternative", "wait mean s", "wait p99 s", "pending at end", "evictions"):
        table.add_column(column, justify="left" if column == "alternative" else "right")
    assert len(FIGURES) == 4
    for row in table_rows(results):
        table.add_row(*row)
    print_table(table)
