"""``schedlab mig``: MIG profiles and layouts of the GPU models schedlab knows."""

from __future__ import annotations

import click

from schedlab.cli.common import print_table


@click.group()
def mig() -> None:
    """MIG (Multi-Instance GPU): the profiles of each GPU model and whether a partition layout
    fits one GPU. See docs/sharing.md."""


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
            f"{p.compute}/7" if model.slices == 8 else f"{p.compute}/4",
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
