"""``schedlab kueue``: an operator's Kueue configuration, read as schedlab replays it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


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
