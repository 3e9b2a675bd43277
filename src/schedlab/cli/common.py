"""Helpers shared by the commands: progress bars, tables, option texts. Heavy libraries
(rich, numpy, pandas) are imported only when a command runs, so ``--help`` stays fast."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from schedlab.trace import Nodes
    from schedlab.workload import TimedWorkload

log = logging.getLogger(__name__)

#: The interference model used when none is named (``schedlab.interference.DEFAULT_MODEL``).
INTERFERENCE = "groups"
PATH = click.Path(dir_okay=False, path_type=Path)
DIR = click.Path(file_okay=False, path_type=Path)
PODS_HELP = "openb pod list, replayed on its own timeline. Default: the embedded openb default trace."
JOBS_HELP = (
    "Job table: a job CSV (id, submit_time, duration, cpu_milli, memory_mib, num_gpu, gpu_milli"
    " [, gpu_spec, qos, user, gang_size]) or any job table `schedlab trace inspect` knows"
    " (Helios, PAI 2020 tasks, Philly job log, DLRM 2025, openb pods)."
)
NODES_HELP = (
    "Node list: openb CSV, spot GPU 2026, PAI 2020 machine spec, Philly machine list or Helios GPU"
    " counts (see `schedlab trace inspect`). Default: the embedded openb GPU node list (1213 nodes)."
)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def print_table(table: Table) -> None:
    """Print a rich table on stdout whole: as wide as it needs (a terminal narrower than
    that wraps its lines; a pipe or a file gets them unbroken), never a number cut short."""
    from rich.console import Console

    terminal = Console()
    width = Console(width=1_000_000).measure(table).maximum
    Console(width=max(width, terminal.width if sys.stdout.isatty() else 0)).print(table)


def progress_bar(enabled: bool) -> Progress:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr(),
        disable=not enabled,
    )


def advance(progress: Progress, bar: TaskID, runs_done: int) -> Callable[[int, int], None]:
    """A run's progress callback: moves the bar within the run's slot."""

    def update(done: int, total: int) -> None:
        progress.update(bar, completed=runs_done + done / max(total, 1))

    return update


@contextmanager
def replay_progress(tasks: int, enabled: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A replay's progress bar on stderr (tasks arrived, simulated time, rate) when
    ``enabled`` and stderr is a terminal; yields the replay's progress callback (or None)."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("replay"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} tasks arrived"),
        TextColumn("sim {task.fields[sim]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    start = time.perf_counter()
    with Progress(*columns, console=stderr(), transient=True) as progress:
        bar = progress.add_task("replay", total=tasks, sim="0 h", rate="")

        def update(arrived: int, total: int, now: float) -> None:
            rate = arrived / max(time.perf_counter() - start, 1e-9)
            progress.update(bar, completed=arrived, sim=f"{now / 3600:,.1f} h", rate=f"{rate:,.0f} tasks/s")

        yield update


def timed_workload(pods: Path | None, jobs: Path | None, keep_unrun: bool = False) -> TimedWorkload:
    """The workload of ``--pods`` (an openb timeline; with ``keep_unrun``, also the pods that
    never ran, run time 0) or ``--jobs`` (a job table)."""
    from schedlab.errors import ConfigError
    from schedlab.formats import read_workload
    from schedlab.trace import default_pods_path, load_tasks
    from schedlab.workload import from_openb

    if pods and jobs:
        raise ConfigError("give --pods or --jobs, not both")
    if jobs:
        return read_workload(jobs)
    return from_openb(load_tasks(pods or default_pods_path()), keep_unrun)


def sharing_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--sharing`` and ``--mps-pct``: how co-located tasks share a GPU."""
    command = click.option(
        "--mps-pct",
        type=click.IntRange(1, 100),
        default=100,
        show_default=True,
        help="SM share per process under MPS.",
    )(command)
    return click.option(
        "--sharing",
        type=click.Choice(["time-slicing", "mps"]),
        default="time-slicing",
        show_default=True,
        help="How tasks share a GPU: time-slicing, or MPS with an SM share.",
    )(command)


def figure_flags(command: Callable[..., None]) -> Callable[..., None]:
    """``--format`` and ``--dpi``: how the command's figures are written."""
    command = click.option(
        "--dpi",
        type=click.IntRange(30, 1200),
        default=120,
        show_default=True,
        help="Resolution of raster figures.",
    )(command)
    return click.option(
        "--format",
        "formats",
        default="png",
        show_default=True,
        help="Figure formats, a comma list of png, pdf, svg (each figure is written in each).",
    )(command)


def whole_gpus(nodes: Nodes, command: str) -> Nodes:
    """``nodes`` for a command that does not model MIG: a ``mig`` column in the node list is
    left aside with one warning (its GPUs count whole)."""
    from schedlab.cluster.node_layouts import column_layouts

    if column_layouts(nodes):
        log.warning(
            "%s: %s does not model MIG: the node list's mig column is ignored, every GPU counts"
            " whole (`schedlab replay` and `schedlab mig compare` partition them)",
            nodes.source,
            command,
        )
    return nodes
