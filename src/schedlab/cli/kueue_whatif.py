"""``schedlab kueue explain`` and ``schedlab kueue compare``: what-if questions on a trace
before changing anything (one more workload; alternative configurations and quotas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

#: The Kueue YAML files a command reads (multi-document, as kubectl apply takes them).
kueue_files = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


@click.command()
@kueue_files
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


@click.command()
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
    table.add_column("alternative")
    for label, _ in FIGURES.values():
        table.add_column(label, justify="right")
    for row in table_rows(results):
        table.add_row(*row)
    print_table(table)
