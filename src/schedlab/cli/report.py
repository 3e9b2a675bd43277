"""``schedlab report``: figures and tables from a sweep's store (fill or replay)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from schedlab.cli.common import figure_flags

log = logging.getLogger("schedlab")


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Also print the summary as one JSON document.")
@figure_flags
def report(out_dir: Path, as_json: bool, formats: str, dpi: int) -> None:
    """Write figures (--format, default PNG), summary.csv and report.md from the results store OUT_DIR of a
    sweep, recomputed from its stored runs.

    Fill sweeps: the FGD paper's figures and tables (means and std over seeds). Replay sweeps:
    each metric against load, one line per policy with its 95 % confidence band over seeds
    (Student t), summary.csv and summary.json with mean, std, n and interval of every metric.
    Kueue sweeps: per setting the admission wait and what pends, with their intervals.
    """
    import pandas as pd

    from schedlab.cli.types import writable_dir
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.report.figures import figure_options, parse_formats
    from schedlab.report.paper import write_report
    from schedlab.report.replays import write_replay_report
    from schedlab.sweep.store import ResultStore

    writable_dir(out_dir, "OUT_DIR")
    store = ResultStore(out_dir)
    kinds = store.kinds()
    if len(kinds) > 1:
        raise ConfigError(f"{out_dir} mixes {' and '.join(sorted(kinds))} runs")
    replays = kinds & {"replay", "kueue"}
    with figure_options(parse_formats(formats), dpi):
        if kinds == {"kueue"}:
            from schedlab.report.kueue_sweep import write_kueue_report

            paths = write_kueue_report(out_dir, store.load())
        else:
            paths = write_replay_report(out_dir, store.load()) if replays else write_report(out_dir)
    for path in paths:
        log.info("wrote %s", path)
    if as_json:
        if replays:
            click.echo((out_dir / "summary.json").read_text().strip())
        else:
            rows = pd.read_csv(out_dir / "summary.csv").to_dict("records")
            click.echo(dumps({"kind": "fill", "rows": rows}))
