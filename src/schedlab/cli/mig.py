"""``schedlab mig``: MIG profiles and layouts of the GPU models schedlab knows."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import INTERFERENCE, JOBS_HELP, NODES_HELP, PATH, print_table, timed_workload
from schedlab.cli.types import SEED

log = logging.getLogger("schedlab")


@click.group()
def mig() -> None:
    """MIG (Multi-Instance GPU): the profiles of each GPU model, whether a partition layout
    fits one GPU, and one workload replayed time-sliced, with MPS and partitioned. See
    docs/sharing.md."""


def _model(gpu: str):  # type: ignore[no-untyped-def]
    from schedlab.cluster.mig import MODELS, MigError, mig_model

    found = mig_model(gpu)
    if found is None:
        raise MigError(f"--gpu {gpu}: not a MIG-capable GPU model schedlab knows ({', '.join(MODELS)})")
    return found


@mig.command()
@click.option(
    "--gpu",
    required=True,
    help="GPU model (A100-40GB, A100-80GB, H100-80GB, H100-94GB, H200-141GB, A30-24GB, or a node"
    " list's name such as H200).",
)
def profiles(gpu: str) -> None:
    """The GPU model's MIG profiles: compute and memory, memory slices, allowed starts."""
    from rich.table import Table

    model = _model(gpu)
    table = Table(title=f"MIG profiles of {model.name} ({model.slices} memory slices)")
    for column in ("profile", "compute", "memory", "slices", "starts", "Kubernetes resource"):
        table.add_column(column)
    for p in model.profiles:
        starts = "{" + ",".join(map(str, p.starts)) + "}"
        table.add_row(
            p.name,
            f"{p.compute}/{model.compute_slices}",
            f"{p.memory_gb} GB",
            str(p.size),
            starts,
            p.resource,
        )
    print_table(table)


@mig.command()
@click.argument("layout")
@click.option("--gpu", required=True, help="GPU model, as for `schedlab mig profiles`.")
def check(layout: str, gpu: str) -> None:
    """Whether LAYOUT (profiles joined by ',' or '+', each optionally 'Nx': '3g.40gb,2x2g.20gb')
    fits one GPU; prints where each instance goes (memory slices), or one error line."""
    from schedlab.cluster.mig import parse_layout, place_layout

    model = _model(gpu)
    placed = place_layout(model, parse_layout(layout))
    row = ["."] * model.slices
    for k, (profile, start) in enumerate(placed):
        for s in range(start, start + profile.size):
            row[s] = chr(ord("a") + k)
    click.echo(f"{model.name}: {' + '.join(p.name for p, _ in placed)} fits; memory slices {''.join(row)}")
    for k, (profile, start) in enumerate(placed):
        click.echo(f"  {chr(ord('a') + k)} {profile.name} at slices {start}-{start + profile.size - 1}")


@mig.command()
@click.option("--jobs", type=PATH, required=True, help=JOBS_HELP)
@click.option("--nodes", type=PATH, help=NODES_HELP)
@click.option(
    "--mig",
    "layouts",
    multiple=True,
    metavar="MODEL=LAYOUT",
    help="The partition of the MIG run, as `schedlab replay --mig` (repeatable; besides or"
    " instead of the node list's mig column).",
)
@click.option(
    "--mig-alt",
    "alternatives",
    multiple=True,
    metavar="MODEL=LAYOUT",
    help="Also replay the MIG run with GPUs re-partitioned at run time into these layouts, as"
    " `schedlab replay --mig-alt` (repeatable): a fourth mode, mig-dynamic.",
)
@click.option(
    "--mig-scope",
    "scope",
    type=click.Choice(["gpu", "node"]),
    default="gpu",
    show_default=True,
    help="With --mig-alt: what is re-partitioned at once, as `schedlab replay --mig-scope`.",
)
@click.option(
    "--policy", default="fgd", show_default=True, help="Placement policy of every run (as in replay)."
)
@click.option(
    "--interference",
    default=INTERFERENCE,
    show_default=True,
    help="Interference model of every run (tasks with a `profile` slow each other when they share).",
)
@click.option("--mps-pct", type=click.IntRange(1, 100), default=100, show_default=True, help="MPS SM share.")
@click.option("--seed", type=SEED, default=42, show_default=True, help="Seed of the node tie order.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def compare(
    jobs: Path,
    nodes: Path | None,
    layouts: tuple[str, ...],
    alternatives: tuple[str, ...],
    scope: str,
    policy: str,
    interference: str,
    mps_pct: int,
    seed: int,
    as_json: bool,
) -> None:
    """Replay one workload in the three sharing modes: GPUs time-sliced and shared with MPS
    (tasks asking for MIG instances ask for their compute share of a whole GPU), and
    partitioned with --mig or the node list's mig column (tasks of one GPU or less on
    the smallest instance covering them: --mig-fit); with --mig-alt also re-partitioned
    at run time. Per mode: completed and rejected tasks, mean wait (all, tasks of 2+
    GPUs), the GPU compute allocated (an instance counts its compute share), services'
    SLO attainment, the share of the free GPU compute in service that FGD's measure
    counts unusable (slice-aware: an instance weighs its compute share), and GPUs
    re-partitioned."""
    from schedlab.cluster.node_layouts import partitioned
    from schedlab.cluster.unpartitioned import shared_asks
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.formats import read_nodes
    from schedlab.sim import ReplayConfig, replay
    from schedlab.trace import default_nodes_path

    workload = timed_workload(None, jobs)
    node_table = read_nodes(nodes or default_nodes_path())
    by_column = partitioned(node_table)
    if not layouts and not by_column:
        raise ConfigError("mig compare needs --mig MODEL=LAYOUT or a node list with a mig column")
    base = ReplayConfig(policy=policy, seed=seed, interference=interference, mps_pct=mps_pct)
    runs = {
        "time-slicing": base,
        "mps": replace(base, sharing="mps"),
        "mig": replace(base, mig=layouts, mig_fit=True),
    }
    whole = replace(node_table, mig=None)  # time-sliced and MPS runs: every GPU whole,
    shared = shared_asks(workload, whole)  # tasks asking for instances ask for their compute
    if scope != "gpu" and not alternatives:
        log.warning("--mig-scope has no effect without --mig-alt")
    if alternatives:
        runs["mig-dynamic"] = replace(runs["mig"], mig_alt=alternatives, mig_scope=scope)
    rows = []
    for mode, config in runs.items():
        mig = mode.startswith("mig")
        result = replay(workload if mig else shared, node_table if mig else whole, config)
        s, samples = result.summary, result.frag_series
        free = samples["free_compute_milli"].to_numpy()  # slice-aware: instances by compute
        unusable = samples["frag_compute_milli"].to_numpy()[free > 0] / free[free > 0]
        frag = 100.0 * float(unusable.mean()) if len(unusable) else None
        rows.append(
            {
                "mode": mode,
                "completed": s["completed"],
                "rejected": s["rejected"],
                "wait_mean": s["wait_mean"],
                "wait_mean_multi_gpu": s["wait_mean_multi_gpu"],
                "compute_alloc_mean_pct": s["mig"]["compute_alloc_mean_pct"]
                if "mig" in s
                else s["alloc_mean_pct"],
                "slo_attainment": s.get("slo_attainment"),
                "unusable_free_pct": frag,
                "mig_reconfigs": s.get("mig_reconfigs"),
            }
        )
    if as_json:
        click.echo(dumps({"layouts": list(layouts), "alternatives": list(alternatives), "rows": rows}))
        return
    from rich.table import Table

    dynamic = f"; re-partitioned into {'; '.join(alternatives)}" if alternatives else ""
    given = "; ".join([*layouts, *(["the node list's mig column"] if by_column else [])])
    table = Table(title=f"{jobs.name}: time-slicing, MPS ({mps_pct} %) and MIG ({given}{dynamic})")
    for column in rows[0]:
        table.add_column(column.replace("_", " "), justify="left" if column == "mode" else "right")
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    print_table(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 1 else f"{value:,.1f}"
    return str(value)
