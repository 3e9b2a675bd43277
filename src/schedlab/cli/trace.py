"""``schedlab trace inspect``: what a trace file is and what schedlab makes of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import PATH, whole_gpus


@click.group()
def trace() -> None:
    """Trace files: recognise their format and summarise them."""


@trace.command()
@click.argument("file", type=PATH)
@click.option(
    "--nodes", type=PATH, help="Cluster for the offered load. Default: the embedded openb GPU nodes."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def inspect(file: Path, nodes: Path | None, as_json: bool) -> None:
    """Detect FILE's format (openb, job CSV, spot GPU 2026, DLRM 2025, Azure LLM 2023, PAI 2020,
    Philly, Helios) and print how it maps to schedlab's model: rows, time span, shape (GPU
    class), QoS and gang mix, the offered load on a cluster, and what was left out and why."""
    from schedlab.files import dumps
    from schedlab.formats import read_nodes
    from schedlab.formats.inspect import inspect_file
    from schedlab.trace import default_nodes_path

    node_table = whole_gpus(read_nodes(nodes or default_nodes_path()), "trace inspect")
    doc = inspect_file(file, node_table)
    if "offered_loads" in doc:
        from schedlab.cli.replay_report import warn_loads

        warn_loads(doc["offered_loads"], doc["fit_no_node"], doc["tasks"], node_table.source)
    if as_json:
        click.echo(dumps(doc))
        return
    click.echo(f"{doc['file']}: {doc['title']} ({doc['format']}, {doc['kind']})")
    click.echo(f"mapping: {doc['mapping']}")
    for key, value in doc.items():
        if key not in ("file", "title", "format", "kind", "mapping"):
            click.echo(f"{key.replace('_', ' ')}: {_text(key, value)}")


def _text(key: str, value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_number(v)}" for k, v in value.items()) or "none"
    if key == "span_s" and isinstance(value, float):
        return f"{value:,.0f} s ({value / 86400:.2f} days)"
    return _number(value)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return "-" if value is None else str(value)
