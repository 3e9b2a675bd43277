"""``schedlab sweep``: a matrix of fill, replay or Kueue runs into a resumable results store."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from schedlab.cli.common import DIR, PATH, progress_bar

if TYPE_CHECKING:
    import pandas as pd


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. ``kill``) ends the sweep like Ctrl-C: workers stopped, finished runs kept."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.option(
    "--preset", type=click.Choice(["atc23"]), help="A named matrix: atc23 = the FGD paper's 1020 runs."
)
@click.option(
    "--config",
    "config_file",
    type=PATH,
    help="TOML file: a fill matrix (workloads, policies, seeds, tune_ratios, data_dir, nodes),"
    ' with kind = "replay" a replay matrix (examples/replay_sweep.toml), with kind = "kueue"'
    " alternative Kueue configurations (examples/kueue/sweep.toml).",
)
@click.option(
    "--workloads", help="Comma list of workload names: files openb_pod_list_<name>.csv. [default: default]"
)
@click.option("--policy", "policies", help="Comma list of placement policies. [default: all six]")
@click.option("--seeds", help="Seeds: 42, 42,43 or 42-51. [default: 42]")
@click.option("--tune-ratio", "tune_ratios", help="Comma list of tune ratios. [default: 1.3]")
@click.option(
    "--data-dir",
    type=DIR,
    help="Folder with the trace files. [default: the embedded data, which has only 'default']",
)
@click.option(
    "--nodes", help="Node list file name inside --data-dir. [default: openb_node_list_gpu_node.csv]"
)
@click.option(
    "--out",
    type=DIR,
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
    """Run a matrix of fill experiments (workloads x policies x seeds x tune ratios), of
    replays, or of Kueue configurations, in parallel, into a resumable results store; then
    write OUT/summary.csv.

    The matrix comes from --preset or --config, and the other flags override its entries.
    A replay sweep is a --config TOML with kind = "replay" (jobs, nodes, policies, queues,
    loads or time scales, seeds, ...: see README and examples/replay_sweep.toml); --policy and
    --seeds override it. A Kueue sweep is a --config TOML with kind = "kueue" (alternative
    configurations x quota scalings x placements x seeds: docs/kueue.md and
    examples/kueue/sweep.toml); --seeds overrides it.
    `schedlab report OUT` draws each kind.
    """
    from schedlab import __version__
    from schedlab.cli.types import writable_dir
    from schedlab.errors import ConfigError
    from schedlab.options import parse_ratios, parse_seeds
    from schedlab.policies import parse_policies
    from schedlab.sweep.backends import Backend, LocalBackend, RayBackend
    from schedlab.sweep.driver import run_sweep
    from schedlab.sweep.kueue_matrix import KueueMatrix
    from schedlab.sweep.kueue_runs import KueueSpec, expand_kueue
    from schedlab.sweep.matrix import RunSpec, SweepMatrix, expand
    from schedlab.sweep.replay_specs import ReplaySpec, expand_replays
    from schedlab.sweep.replays import ReplayMatrix
    from schedlab.sweep.store import ResultStore
    from schedlab.sweep.toml import sweep_kind

    if preset and config_file:
        raise ConfigError("give --preset or --config, not both")
    writable_dir(out)
    ResultStore(out).check_folder()
    backend: Backend = (
        RayBackend(None if ray_address == "local" else ray_address, workers)
        if ray_address
        else LocalBackend(workers)
    )
    specs: list[RunSpec] | list[ReplaySpec] | list[KueueSpec]
    kind = sweep_kind(config_file) if config_file else "fill"
    if kind == "kueue":
        assert config_file is not None
        fill_only = {"--workloads": workloads, "--tune-ratio": tune_ratios, "--data-dir": data_dir}
        flags = fill_only | {"--nodes": nodes, "--policy": policies}
        given = [flag for flag, value in flags.items() if value]
        if given:
            raise ConfigError(f"{', '.join(given)}: a Kueue sweep sets these in its TOML (placements, nodes)")
        alternatives = KueueMatrix.from_toml(config_file)
        if seeds:
            alternatives = replace(alternatives, seeds=tuple(parse_seeds(seeds)))
        specs, described = expand_kueue(alternatives), alternatives.describe()
    elif kind == "replay":
        assert config_file is not None
        fill_only = {"--workloads": workloads, "--tune-ratio": tune_ratios, "--data-dir": data_dir}
        given = [flag for flag, value in (fill_only | {"--nodes": nodes}).items() if value]
        if given:
            raise ConfigError(f"{', '.join(given)}: fill sweep flags; a replay sweep sets these in its TOML")
        replays = ReplayMatrix.from_toml(config_file)
        if policies:
            replays = replace(replays, policies=tuple(parse_policies(policies)))
        if seeds:
            replays = replace(replays, seeds=tuple(parse_seeds(seeds)))
        specs, described = expand_replays(replays), replays.describe()
    else:
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
        specs, described = expand(matrix), matrix.describe()
    config = {"schedlab": __version__, "backend": backend.name, "matrix": described}
    with progress_bar(True) as progress:
        bar = progress.add_task("sweep", total=None)

        def start(n: int) -> None:
            progress.update(bar, total=n, description=f"sweep ({backend.name}, {n} runs)")

        def done(frame: pd.DataFrame) -> None:
            progress.advance(bar)

        store = ResultStore(out)
        try:
            with _terminate_as_interrupt():
                outcome = run_sweep(specs, store, backend, config, start, done)
        except KeyboardInterrupt:
            progress.stop()
            kept = len(store.done())
            click.echo(
                f"interrupted: {kept} finished run(s) kept in {out}; rerun the same command to resume",
                err=True,
            )
            sys.exit(130)
    click.echo(
        f"{outcome.total} runs in the matrix: {outcome.skipped} already done, {outcome.ran} run now; "
        f"summary: {outcome.summary}"
    )
