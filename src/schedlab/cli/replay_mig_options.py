"""The MIG options of ``schedlab replay``: static layouts (``--mig``, ``--mig-fit``) and
re-partitioning at run time (``--mig-alt`` and the options that tune it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from schedlab.cli.types import Finite

MIG_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--mig",
        "mig_layouts",
        multiple=True,
        metavar="MODEL=LAYOUT",
        help="Partition every GPU of the nodes of MODEL into LAYOUT's MIG instances (as `schedlab mig"
        " check` takes it, e.g. A100-80GB=3g.40gb,2g.20gb,2x1g.10gb); repeatable. Tasks ask for an"
        " instance with gpu_spec mig-<profile>; a node list's mig column gives a node its own layout"
        " (docs/sharing.md).",
    ),
    click.option(
        "--mig-fit",
        is_flag=True,
        help="With --mig: every task of one GPU or less asks for the smallest instance whose compute"
        " share covers its GPU milli (time-slicing vs MIG on one workload).",
    ),
    click.option(
        "--mig-alt",
        "mig_alt",
        multiple=True,
        metavar="MODEL=LAYOUT",
        help="Dynamic MIG: another layout a GPU of MODEL (partitioned with --mig, its initial layout)"
        " may be re-partitioned into, drained first, when waiting tasks ask for instances that no GPU"
        " has free (with --defrag, a drained GPU's tasks are moved off it); repeatable"
        " (docs/sharing.md).",
    ),
    click.option(
        "--mig-reconfig",
        type=Finite(min=0, max=1e9),
        default=60.0,
        show_default=True,
        help="With --mig-alt: seconds a GPU being re-partitioned serves nothing.",
    ),
    click.option(
        "--mig-drains",
        type=click.IntRange(min=0, max=1_000_000),
        default=0,
        show_default=True,
        help="With --mig-alt: at most this many GPUs drained at once (idle ones are re-partitioned"
        " whatever); 0: a quarter of the GPUs re-partitioned at run time, at least one.",
    ),
    click.option(
        "--mig-scope",
        type=click.Choice(["gpu", "node"]),
        default="gpu",
        show_default=True,
        help="With --mig-alt: what is re-partitioned at once: one GPU (dynamic-MIG schedulers), or"
        " all the GPUs of a node together (the GPU operator's mig-manager; a task may then take"
        " instances on several GPUs of the node).",
    ),
    click.option(
        "--mig-every",
        type=Finite(min=0, max=1e9, min_open=True),
        default=60.0,
        show_default=True,
        help="With --mig-alt: seconds between re-partitioning steps (while tasks wait).",
    ),
]
