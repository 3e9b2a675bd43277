"""``schedlab report``: the paper's figures and tables from a sweep's store."""

from __future__ import annotations

import logging
from pathlib import Path

import click

log = logging.getLogger("schedlab")


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(out_dir: Path) -> None:
    """Write the paper's figures (PNG) and report.md with the tables behind them from the
    results store OUT_DIR of a sweep; summary.csv is recomputed from the stored runs."""
    from schedlab.cli.types import writable_dir
    from schedlab.report.paper import write_report

    writable_dir(out_dir, "OUT_DIR")
    for path in write_report(out_dir):
        log.info("wrote %s", path)
