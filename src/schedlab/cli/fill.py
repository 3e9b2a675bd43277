"""``schedlab fill``: the FGD paper's fill experiment."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schedlab.cli.common import DIR, PATH, advance, figure_flags, print_table, progress_bar, whole_gpus
from schedlab.cli.types import Finite

if TYPE_CHECKING:
    from schedlab.fill import FillResult

log = logging.getLogger("schedlab")


@click.command()
@click.option("--pods", type=PATH, help="Pod list (openb CSV). Default: the embedded openb default trace.")
@click.option(
    "--nodes",
    type=PATH,
    help="Node list (openb CSV). Default: the embedded openb GPU node list (1213 nodes).",
)
@click.option(
    "--policy",
    "policies",
    help="Placement policy, or a comma list. [default: the paper's six: random, dotprod, clustering,"
    " packing, bestfit, fgd]",
)
@click.option("--seeds", default="42", show_default=True, help="Seeds: 42, 42,43 or 42-51.")
@click.option(
    "--tune-ratio",
    type=Finite(min=0, max=100, min_open=True),
    default=1.3,
    show_default=True,
    help="Tune the workload to this multiple of the cluster's GPU capacity.",
)
@click.option(
    "--out",
    type=DIR,
    help="Write records.parquet (every task), summary.json (config + curves) and curves.png here.",
)
@click.option(
    "--reference",
    is_flag=True,
    help="Run the pure-Python reference path instead of the compiled kernels (same results, slower).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every run to stdout.")
@figure_flags
def fill(
    pods: Path | None,
    nodes: Path | None,
    policies: str | None,
    seeds: str,
    tune_ratio: float,
    out: Path | None,
    reference: bool,
    as_json: bool,
    formats: str,
    dpi: int,
) -> None:
    """Fill experiment of the FGD paper (ATC'23): offer tasks one by one until the arrived
    GPU load reaches TUNE-RATIO x capacity; nothing departs, a task that fits nowhere fails.

    Prints allocation and fragment amount (% of GPU capacity) at arrived 80/90/100/130 %,
    as the mean and 95 % CI over seeds, or with --json the full curves (arrived 0 .. 100 x
    TUNE-RATIO %: 131 points at 1.3) and their statistics over seeds.
    """
    from schedlab.cli.types import writable_dir
    from schedlab.files import dumps
    from schedlab.fill import FillConfig, run_fill
    from schedlab.formats import read_nodes
    from schedlab.options import parse_seeds
    from schedlab.policies import PAPER_POLICIES, parse_policies
    from schedlab.provenance import inputs, stamp
    from schedlab.report import curves_frame, plot_curves, write_fill
    from schedlab.report.figures import figure_options, parse_formats
    from schedlab.report.tables import curve_stats
    from schedlab.trace import check_gpu_specs, default_nodes_path, default_pods_path, load_tasks

    policy_list = parse_policies(",".join(PAPER_POLICIES) if policies is None else policies)
    seed_list = parse_seeds(seeds)
    if out is not None:
        writable_dir(out)
    figure_formats = parse_formats(formats)
    pods_path = pods or default_pods_path()
    nodes_path = nodes or default_nodes_path()
    tasks = load_tasks(pods_path)
    node_table = whole_gpus(read_nodes(nodes_path), "fill")
    check_gpu_specs(tasks, node_table)
    configs = [FillConfig(p, s, tune_ratio) for p in policy_list for s in seed_list]
    results: list[FillResult] = []
    with progress_bar(not as_json) as progress:
        bar = progress.add_task("fill", total=len(configs))
        for i, config in enumerate(configs):
            progress.update(bar, description=f"{config.policy} seed {config.seed}")
            results.append(run_fill(tasks, node_table, config, advance(progress, bar, i), not reference))
    settings = {
        "experiment": "fill",
        "pods": str(pods_path),
        "nodes": str(nodes_path),
        "policies": policy_list,
        "seeds": seed_list,
        "tune_ratio": tune_ratio,
        "compiled": not reference,
    }
    meta = stamp(settings, inputs({"pods": pods_path, "nodes": nodes_path}))
    if as_json:
        stats = curve_stats(results).to_dict("records")  # every point: mean, std, n, 95 % CI
        click.echo(dumps({"runs": [r.summary() for r in results], "aggregate": stats, **meta}))
    else:
        _print_table(results, len(seed_list))
    if out is not None:
        written = write_fill(results, out, meta)
        title = (
            f"fill: {pods_path.name} on {nodes_path.name}, {len(policy_list)} policies,"
            f" {len(seed_list)} seed(s), tune ratio {tune_ratio:g}"
        )
        with figure_options(figure_formats, dpi):
            written.append(plot_curves(curves_frame(results), out / "curves.png", title=title))
        for path in written:
            log.info("wrote %s", path)


def _interval(low: float, high: float) -> str:
    """The interval on a line of its own (nothing for one seed)."""
    return f"\n[{low:.2f}, {high:.2f}]" if low == low else ""


def _print_table(results: list[FillResult], n_seeds: int) -> None:
    from rich.table import Table

    from schedlab.report import mean_table

    frame = mean_table(results)
    means = [c for c in frame.columns if not c.endswith((" low", " high"))]
    spread = " [95 % CI]" if n_seeds > 1 else ""
    table = Table(
        title=f"Fill experiment, mean{spread} over {n_seeds} seed(s); x = arrived GPU load, % of capacity"
    )
    table.add_column("policy", no_wrap=True)
    for column in means:
        what, x = column.split("@")
        table.add_column(f"{'alloc' if what == 'alloc' else 'frag amt'} %\nx={x}", justify="right")
    for policy, row in frame.iterrows():
        cells = [f"{row[c]:.2f}" + _interval(row[c + " low"], row[c + " high"]) for c in means]
        table.add_row(str(policy), *cells)
    print_table(table)
    wall = sum(r.wall_s for r in results)
    tasks = sum(r.tasks for r in results)
    click.echo(f"{len(results)} runs, {tasks} tasks in {wall:.1f} s ({tasks / wall:,.0f} tasks/s)")
