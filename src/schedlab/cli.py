"""The ``schedlab`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from schedlab import __version__
from schedlab.cluster.speeds import SpeedTable
from schedlab.config import parse_policies, parse_ratios, parse_seeds
from schedlab.errors import ConfigError, SchedlabError
from schedlab.experiments.backends import Backend, LocalBackend, RayBackend
from schedlab.experiments.driver import run_sweep
from schedlab.experiments.fill import PAPER_POLICIES, FillConfig, FillResult, run_fill
from schedlab.experiments.replay import ReplayConfig
from schedlab.experiments.replay import replay as run_replay
from schedlab.experiments.store import ResultStore
from schedlab.experiments.sweep import SweepMatrix, expand
from schedlab.plugins import load_plugin
from schedlab.queueing import QUEUE_POLICIES, VICTIM_POLICIES
from schedlab.report import curves_frame, mean_table, plot_curves, write_fill
from schedlab.report.files import write_json
from schedlab.report.paper import write_report
from schedlab.report.timeline import plot_timeline
from schedlab.trace import check_gpu_specs, default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.trace.fetch import DATASETS, fetch
from schedlab.workload import TimedWorkload, from_openb, load_jobs, write_jobs
from schedlab.workload.synth import DURATIONS_HELP, gpu_load, synthesize

log = logging.getLogger("schedlab")
stderr = Console(stderr=True)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=not enabled,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="schedlab")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="FILE.py|MODULE",
    help="Import user code first (e.g. a file defining a @register-ed policy). Repeatable.",
)
def cli(verbose: bool, plugins: tuple[str, ...]) -> None:
    """schedlab: trace-driven scheduling experiments on shared, heterogeneous GPU clusters."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for plugin in plugins:
        load_plugin(plugin)


@cli.command()
@click.option(
    "--pods",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pod list (openb CSV). Default: the embedded openb default trace.",
)
@click.option(
    "--nodes",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Node list (openb CSV). Default: the embedded openb GPU node list (1213 nodes).",
)
@click.option(
    "--policy",
    "policies",
    default=",".join(PAPER_POLICIES),
    show_default=True,
    help="Placement policy, or a comma list.",
)
@click.option("--seeds", default="42", show_default=True, help="Seeds: 42, 42,43 or 42-51.")
@click.option(
    "--tune-ratio",
    type=click.FloatRange(min=0, min_open=True),
    default=1.3,
    show_default=True,
    help="Tune the workload to this multiple of the cluster's GPU capacity.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write records.parquet (every task), summary.json (config + curves) and curves.png here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every run to stdout.")
def fill(
    pods: Path | None,
    nodes: Path | None,
    policies: str,
    seeds: str,
    tune_ratio: float,
    out: Path | None,
    as_json: bool,
) -> None:
    """Fill experiment of the FGD paper (ATC'23): offer tasks one by one until the arrived
    GPU load reaches TUNE-RATIO x capacity; nothing departs, a task that fits nowhere fails.

    Prints allocation and fragment amount (% of GPU capacity) at arrived 80/90/100/130 %,
    averaged over seeds, or with --json the full curves (131 points, arrived 0..130 %).
    """
    policy_list = parse_policies(policies)
    seed_list = parse_seeds(seeds)
    pods_path = pods or default_pods_path()
    nodes_path = nodes or default_nodes_path()
    tasks = load_tasks(pods_path)
    node_table = load_nodes(nodes_path)
    check_gpu_specs(tasks, node_table)
    configs = [FillConfig(p, s, tune_ratio) for p in policy_list for s in seed_list]
    results: list[FillResult] = []
    with _progress(not as_json) as progress:
        bar = progress.add_task("fill", total=len(configs))
        for i, config in enumerate(configs):
            progress.update(bar, description=f"{config.policy} seed {config.seed}")
            results.append(run_fill(tasks, node_table, config, _advance(progress, bar, i)))
    if as_json:
        click.echo(json.dumps({"runs": [r.summary() for r in results]}))
    else:
        _print_table(results, len(seed_list))
    if out is not None:
        meta: dict[str, Any] = {
            "schedlab": __version__,
            "experiment": "fill",
            "pods": str(pods_path),
            "nodes": str(nodes_path),
            "policies": policy_list,
            "seeds": seed_list,
            "tune_ratio": tune_ratio,
        }
        written = write_fill(results, out, meta)
        written.append(plot_curves(curves_frame(results), out / "curves.png", title=pods_path.name))
        for path in written:
            log.info("wrote %s", path)


@cli.command()
@click.option(
    "--preset", type=click.Choice(["atc23"]), help="A named matrix: atc23 = the FGD paper's 1020 runs."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with keys workloads, policies, seeds, tune_ratios, data_dir, nodes.",
)
@click.option(
    "--workloads", help="Comma list of workload names: files openb_pod_list_<name>.csv. [default: default]"
)
@click.option("--policy", "policies", help="Comma list of placement policies. [default: all six]")
@click.option("--seeds", help="Seeds: 42, 42,43 or 42-51. [default: 42]")
@click.option("--tune-ratio", "tune_ratios", help="Comma list of tune ratios. [default: 1.3]")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with the trace files. [default: the embedded data, which has only 'default']",
)
@click.option(
    "--nodes", help="Node list file name inside --data-dir. [default: openb_node_list_gpu_node.csv]"
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Results store: runs/*.parquet, sweep.json, summary.csv. Rerunning skips finished runs.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of cores",
    help="Parallel runs (processes locally; CPUs of a local Ray).",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Run on Ray: the cluster at ADDRESS, or a local Ray when given alone (needs schedlab[ray]).",
)
def sweep(
    preset: str | None,
    config_file: Path | None,
    workloads: str | None,
    policies: str | None,
    seeds: str | None,
    tune_ratios: str | None,
    data_dir: Path | None,
    nodes: str | None,
    out: Path,
    workers: int,
    ray_address: str | None,
) -> None:
    """Run a matrix of fill experiments (workloads x policies x seeds x tune ratios), in
    parallel, into a resumable results store; then write OUT/summary.csv.

    The matrix comes from --preset or --config, and the other flags override its entries.
    """
    if preset and config_file:
        raise ConfigError("give --preset or --config, not both")
    matrix = SweepMatrix.preset(preset) if preset else SweepMatrix()
    if config_file:
        matrix = SweepMatrix.from_toml(config_file)
    if workloads:
        matrix = replace(matrix, workloads=tuple(w.strip() for w in workloads.split(",") if w.strip()))
    if policies:
        matrix = replace(matrix, policies=tuple(parse_policies(policies)))
    if seeds:
        matrix = replace(matrix, seeds=tuple(parse_seeds(seeds)))
    if tune_ratios:
        matrix = replace(matrix, tune_ratios=parse_ratios(tune_ratios))
    if data_dir:
        matrix = replace(matrix, data_dir=data_dir)
    if nodes:
        matrix = replace(matrix, nodes=nodes)
    specs = expand(matrix)
    backend: Backend = (
        RayBackend(None if ray_address == "local" else ray_address, workers)
        if ray_address
        else LocalBackend(workers)
    )
    config = {"schedlab": __version__, "backend": backend.name, "matrix": matrix.describe()}
    with _progress(True) as progress:
        bar = progress.add_task("sweep", total=None)

        def start(n: int) -> None:
            progress.update(bar, total=n, description=f"sweep ({backend.name}, {n} runs)")

        def done(frame: pd.DataFrame) -> None:
            progress.advance(bar)

        outcome = run_sweep(specs, ResultStore(out), backend, config, start, done)
    click.echo(
        f"{outcome.total} runs in the matrix: {outcome.skipped} already done, {outcome.ran} run now; "
        f"summary: {outcome.summary}"
    )


@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(out_dir: Path) -> None:
    """Write the paper's figures (PNG) and report.md with the tables behind them from the
    results store OUT_DIR of a sweep; summary.csv is recomputed from the stored runs."""
    for path in write_report(out_dir):
        log.info("wrote %s", path)


@cli.group()
def data() -> None:
    """Public trace data."""


@data.command("fetch")
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.option(
    "--dest", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the files."
)
@click.option("--base-url", help="Download from this URL prefix instead (a mirror, or a local server).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the server before giving up.",
)
def data_fetch(dataset: str, dest: Path, base_url: str | None, timeout: float) -> None:
    """Download DATASET's files into DEST, each verified against the SHA-256 checksum
    shipped with schedlab; files already present and valid are skipped."""
    with _progress(True) as progress:
        bar = progress.add_task(f"fetch {dataset}", total=len(DATASETS[dataset].files))
        status = fetch(dataset, dest, base_url, timeout, lambda file, state: progress.advance(bar))
    counts = {s: list(status.values()).count(s) for s in ("downloaded", "present")}
    click.echo(
        f"{dataset}: {counts['downloaded']} downloaded, {counts['present']} already present, in {dest}"
    )


def _timed_workload(pods: Path | None, jobs: Path | None) -> TimedWorkload:
    if pods and jobs:
        raise ConfigError("give --pods or --jobs, not both")
    if jobs:
        return load_jobs(jobs)
    return from_openb(load_tasks(pods or default_pods_path()))


PODS_HELP = "openb pod list, replayed on its own timeline. Default: the embedded openb default trace."
JOBS_HELP = (
    "Generic job CSV: id, submit_time, duration, cpu_milli, memory_mib, num_gpu, gpu_milli"
    " [, gpu_spec, qos, user]."
)
NODES_HELP = "Node list (openb CSV). Default: the embedded openb GPU node list."


@cli.command()
@click.option("--pods", type=click.Path(dir_okay=False, path_type=Path), help=PODS_HELP)
@click.option("--jobs", type=click.Path(dir_okay=False, path_type=Path), help=JOBS_HELP)
@click.option("--nodes", type=click.Path(dir_okay=False, path_type=Path), help=NODES_HELP)
@click.option("--policy", default="fgd", show_default=True, help="Placement policy.")
@click.option("--queue", default="fifo", show_default=True, help="Queue policy: fifo, sjf, sjf-est, qos.")
@click.option(
    "--strict",
    is_flag=True,
    help="Head-of-line blocking: the first waiting task blocks the others (default: start any that fits).",
)
@click.option("--preempt", is_flag=True, help="Latency-sensitive tasks may evict best-effort tasks.")
@click.option("--victim", default="least-lost", show_default=True, help="Victim policy for --preempt.")
@click.option(
    "--speeds",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of speed factors: model,speed[,task_class]. Default: every GPU at speed 1.",
)
@click.option(
    "--seed", type=int, default=42, show_default=True, help="Seed of the node tie order (and of random-fit)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write tasks.parquet, attempts.parquet, series.parquet, summary.json and timeline.png here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON document.")
def replay(
    pods: Path | None,
    jobs: Path | None,
    nodes: Path | None,
    policy: str,
    queue: str,
    strict: bool,
    preempt: bool,
    victim: str,
    speeds: Path | None,
    seed: int,
    out: Path | None,
    as_json: bool,
) -> None:
    """Event-driven simulation with a clock: tasks arrive, wait in a queue when they do not
    fit, run for their duration (scaled by the GPU's speed) and leave.

    Reports job completion time (JCT) and queueing delay (mean, p50, p95, p99) overall and
    per QoS class (LS = LS or Guaranteed, BE = the rest), preemptions and lost GPU-seconds.
    """
    parse_policies(policy)
    workload = _timed_workload(pods, jobs)
    node_table = load_nodes(nodes or default_nodes_path())
    check_gpu_specs(workload.tasks, node_table)
    speed_table = SpeedTable.load(speeds) if speeds else None
    config = ReplayConfig(
        policy=policy, queue=queue, backfill=not strict, preempt=preempt, victim=victim, seed=seed
    )
    QUEUE_POLICIES.get(queue)
    VICTIM_POLICIES.get(victim)
    with stderr.status(f"replaying {len(workload)} tasks", spinner="dots") if not as_json else _nothing():
        result = run_replay(workload, node_table, config, speed_table)
    summary = result.summary
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.tasks.to_parquet(out / "tasks.parquet", index=False)
        result.attempts.to_parquet(out / "attempts.parquet", index=False)
        result.series.to_parquet(out / "series.parquet", index=False)
        doc = summary | {
            "inputs": {
                "pods": str(pods) if pods else None,
                "jobs": str(jobs) if jobs else None,
                "nodes": str(nodes or default_nodes_path()),
                "speeds": str(speeds) if speeds else None,
            }
        }
        write_json(out / "summary.json", doc)
        plot_timeline(
            result.series,
            result.frag_series,
            node_table.gpu_capacity_milli,
            out / "timeline.png",
            title=f"{workload.source}: {policy}, {queue}{', preempt' if preempt else ''}",
        )
        log.info("wrote %s", out)
    if as_json:
        click.echo(json.dumps(summary))
        return
    _print_replay(summary)


def _print_replay(s: dict[str, Any]) -> None:
    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:,.1f}"

    table = Table(title=f"replay: {s['completed']} of {s['tasks']} tasks completed; times in seconds")
    table.add_column("class", no_wrap=True)
    for col in (
        "tasks",
        "JCT mean",
        "JCT p50",
        "JCT p95",
        "JCT p99",
        "wait mean",
        "wait p50",
        "wait p95",
        "wait p99",
    ):
        table.add_column(col, justify="right")
    for label, part in (("all", s), ("LS", s["ls"]), ("BE", s["be"])):
        stats = [part[f"{m}_{p}"] for m in ("jct", "wait") for p in ("mean", "p50", "p95", "p99")]
        table.add_row(label, str(part["completed"]), *(fmt(v) for v in stats))
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    excluded = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in s["excluded"].items()) or "none"
    click.echo(
        f"unfinished {s['unfinished']}, rejected {s['rejected']}, left out of the trace: {excluded}; "
        f"preemptions {s['preemptions']} ({s['lost_gpu_s']:,.0f} GPU-s lost); "
        f"makespan {s['makespan']:,.0f} s; "
        f"{s['events']} events in {s['wall_s']:.2f} s"
    )


@cli.command()
@click.option(
    "--pods",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trace to draw tasks from (openb pod list). Default: embedded.",
)
@click.option(
    "--jobs", type=click.Path(dir_okay=False, path_type=Path), help="Or a generic job CSV to draw from."
)
@click.option("--nodes", type=click.Path(dir_okay=False, path_type=Path), help=NODES_HELP)
@click.option("--tasks", "count", type=click.IntRange(min=1), required=True, help="Number of tasks.")
@click.option(
    "--load",
    type=click.FloatRange(min=0, min_open=True),
    default=0.8,
    show_default=True,
    help="Offered GPU load as a fraction of the cluster's GPU capacity.",
)
@click.option("--durations", default="trace", show_default=True, help=f"Run times: {DURATIONS_HELP}.")
@click.option(
    "--copies",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Size the load for this many copies of the node list.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Job CSV to write."
)
def synth(
    pods: Path | None,
    jobs: Path | None,
    nodes: Path | None,
    count: int,
    load: float,
    durations: str,
    copies: int,
    seed: int,
    out: Path,
) -> None:
    """Generate a synthetic workload: tasks drawn from a trace's mix, Poisson arrivals at an
    offered GPU load, run times from the trace or a distribution. Writes a job CSV for
    `schedlab replay --jobs`."""
    trace = _timed_workload(pods, jobs)
    node_table = load_nodes(nodes or default_nodes_path())
    if copies > 1:
        node_table = node_table.repeat(copies)
    workload = synthesize(trace, node_table, count, load, seed, durations)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jobs(workload, out)
    click.echo(
        f"wrote {len(workload)} tasks to {out} (offered GPU load {gpu_load(workload, node_table):.3f})"
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _advance(progress: Progress, bar: TaskID, runs_done: int) -> Callable[[int, int], None]:
    """A run's progress callback: moves the bar within the run's slot."""

    def update(done: int, total: int) -> None:
        progress.update(bar, completed=runs_done + done / max(total, 1))

    return update


def _print_table(results: list[FillResult], n_seeds: int) -> None:
    frame = mean_table(results)
    table = Table(title=f"Fill experiment, mean over {n_seeds} seed(s); x = arrived GPU load, % of capacity")
    table.add_column("policy", no_wrap=True)
    for column in frame.columns:
        what, x = column.split("@")
        table.add_column(f"{'alloc' if what == 'alloc' else 'frag amt'} %\nx={x}", justify="right")
    for policy, row in frame.iterrows():
        table.add_row(str(policy), *(f"{v:.2f}" for v in row))
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    wall = sum(r.wall_s for r in results)
    tasks = sum(r.tasks for r in results)
    click.echo(f"{len(results)} runs, {tasks} tasks in {wall:.1f} s ({tasks / wall:,.0f} tasks/s)")


def main() -> None:
    """Entry point: run the CLI; a :class:`SchedlabError` is printed without a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except SchedlabError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
