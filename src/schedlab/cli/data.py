"""``schedlab data``: public trace data."""

from __future__ import annotations

from pathlib import Path

import click

from schedlab.cli.common import DIR, progress_bar

#: The data sets ``fetch`` knows (checked against schedlab.trace.fetch.DATASETS by a test).
DATASET_NAMES = ("openb-2023", "pai-2020")


@click.group()
def data() -> None:
    """Public trace data."""


@data.command("fetch")
@click.argument("dataset", type=click.Choice(DATASET_NAMES))
@click.option("--dest", type=DIR, required=True, help="Folder for the files.")
@click.option("--base-url", help="Download from this URL prefix instead (a mirror, or a local server).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the server before giving up.",
)
def fetch(dataset: str, dest: Path, base_url: str | None, timeout: float) -> None:
    """Download DATASET's files into DEST, each verified against the SHA-256 checksum
    shipped with schedlab; files already present and valid are skipped.

    openb-2023: the openb node and pod lists. pai-2020: the PAI 2020 job, task and machine
    tables (archives unpacked and their CSVs verified too; about 100 MB)."""
    from schedlab.trace.fetch import DATASETS
    from schedlab.trace.fetch import fetch as fetch_dataset

    with progress_bar(True) as progress:
        bar = progress.add_task(f"fetch {dataset}", total=len(DATASETS[dataset].files))
        status = fetch_dataset(dataset, dest, base_url, timeout, lambda file, state: progress.advance(bar))
    counts = {s: list(status.values()).count(s) for s in ("downloaded", "present")}
    click.echo(
        f"{dataset}: {counts['downloaded']} downloaded, {counts['present']} already present, in {dest}"
    )
