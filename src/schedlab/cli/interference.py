"""``schedlab interference``: fit co-location models and predict slowdowns on one GPU."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import DIR, INTERFERENCE, PATH, print_table, sharing_options

log = logging.getLogger("schedlab")

DATA_HELP = (
    "Profile directory (configs.csv + measurements.csv); repeat it to fit on several together"
    " (e.g. pairs and groups measured apart). Default: the embedded H100 profiles."
)
MODEL_HELP = (
    "Interference model: groups (pairs as measured; in groups of three or more low-rank pairs added in"
    " quadrature, with a fitted group exponent), measured (pairs as measured, fitted features"
    " elsewhere, groups additive), features, none."
)


@click.group()
def interference() -> None:
    """Co-location interference: how much slower each task runs when tasks share one GPU."""


@interference.command("fit")
@click.option("--data", "data_dirs", type=DIR, multiple=True, help=DATA_HELP)
@click.option("--model", "model_name", default=INTERFERENCE, show_default=True, help=MODEL_HELP)
@click.option("--out", type=PATH, help="Write the fitted model and its cross-validated errors here (JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print the same document to stdout.")
def fit(data_dirs: tuple[Path, ...], model_name: str, out: Path | None, as_json: bool) -> None:
    """Fit a model to profile directories and print its cross-validated errors on the
    time-sliced measurements: leave one pair out, leave one configuration out (every pair
    of the configuration held out) and, where groups of three or more were measured, leave
    one group out, as the median and 90th percentile of |predicted p50 / measured p50 - 1|."""
    from schedlab.cli.types import writable_file
    from schedlab.files import dumps, write_json
    from schedlab.interference import (
        leave_one_config_out,
        leave_one_group_out,
        leave_one_pair_out,
        load_all,
        make_model,
    )
    from schedlab.provenance import inputs, stamp

    if out is not None:
        writable_file(out)
    profiles = load_all(data_dirs)
    model = make_model(model_name, profiles)
    doc: dict[str, Any] = {
        "model": model_name,
        "data": profiles.source,
        "configs": len(profiles.configs),
        "pair_measurements": len(profiles.pairs),
        "cross_validation": {
            "leave_one_pair_out": leave_one_pair_out(model_name, profiles).summary(),
            "leave_one_config_out": leave_one_config_out(model_name, profiles).summary(),
        },
    }
    for size, errors in leave_one_group_out(model_name, profiles).items():
        doc["cross_validation"][f"leave_one_group_out_{size}"] = errors.summary()
    weights = getattr(model, "weights", None)
    if weights is not None:
        doc["weights"] = weights.tolist()
    gamma = getattr(model, "gamma", None)
    if gamma is not None:
        doc["gamma"] = gamma
    from schedlab.interference import default_profiles_path

    roots = [Path(d) for d in data_dirs] or [default_profiles_path()]
    files = {f"{r}/{f}": r / f for r in roots for f in ("configs.csv", "measurements.csv")}
    doc |= stamp({"model": model_name, "data": profiles.source}, inputs(files))
    if out is not None:
        write_json(out, doc)
        log.info("wrote %s", out)
    if as_json:
        click.echo(dumps(doc))
        return
    from rich.table import Table

    table = Table(title=f"{model_name} on {profiles.source}: relative error of predicted p50")
    for column in ("cross-validation", "predictions", "median", "p90"):
        table.add_column(column, justify="left" if column == "cross-validation" else "right")
    for key, part in doc["cross_validation"].items():
        label = key.replace("_", " ")
        if key.startswith("leave_one_group_out_"):
            label = f"leave one group of {key.rsplit('_', 1)[1]} out"
        table.add_row(
            label, str(part["predictions"]), f"{part['median_rel_error']:.1%}", f"{part['p90_rel_error']:.1%}"
        )
    print_table(table)


@interference.command("predict")
@click.option("--data", "data_dirs", type=DIR, multiple=True, help=DATA_HELP)
@click.option("--model", "model_name", default=INTERFERENCE, show_default=True, help=MODEL_HELP)
@sharing_options
@click.option(
    "--colocate",
    required=True,
    metavar="CONFIG,CONFIG,...",
    help="The configurations sharing one GPU, e.g. resnet50/1,bert/1,gpt2/8 (bert_train/16 for training).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"members": [...]} as JSON.')
def predict(
    data_dirs: tuple[Path, ...], model_name: str, sharing: str, mps_pct: int, colocate: str, as_json: bool
) -> None:
    """Predict each member's p50 latency and slowdown (co-located / solo p50) when the
    configurations of --colocate share one GPU, in the order given."""
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.interference import Sharing, load_all, make_model

    group = [c.strip() for c in colocate.split(",")]
    if not all(group):
        raise ConfigError(f"--colocate {colocate!r}: empty configuration name")
    if sharing != "mps" and mps_pct != 100:
        log.warning("--mps-pct %d has no effect without --sharing mps", mps_pct)
    profiles = load_all(data_dirs)
    model = make_model(model_name, profiles)
    slowdowns = model.slowdowns(group, Sharing(sharing, mps_pct))
    members: list[dict[str, Any]] = []
    for name, slowdown in zip(group, slowdowns, strict=True):
        solo = profiles.config(name).solo["p50_ms"]
        members.append(
            {
                "config": name,
                "solo_p50_ms": solo,
                "p50_ms": solo * float(slowdown),
                "slowdown": float(slowdown),
            }
        )
    if as_json:
        click.echo(dumps({"members": members}))
        return
    from rich.table import Table

    table = Table(
        title=f"{len(group)} on one GPU, {sharing}" + (f" at {mps_pct} % SMs" if sharing == "mps" else "")
    )
    for column in ("config", "solo p50 ms", "p50 ms", "slowdown"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for m in members:
        table.add_row(
            str(m["config"]), f"{m['solo_p50_ms']:.3f}", f"{m['p50_ms']:.3f}", f"{m['slowdown']:.2f}x"
        )
    print_table(table)


@interference.command("check")
@click.option(
    "--against",
    "held_dir",
    type=DIR,
    required=True,
    help="Profile directory of held-out measurements (e.g. from schedlab profile --size 3).",
)
@click.option("--data", "data_dirs", type=DIR, multiple=True, help=DATA_HELP)
@click.option(
    "--model",
    "model_names",
    multiple=True,
    default=("measured", INTERFERENCE),
    show_default=True,
    help="Interference model (repeat it to compare several side by side). " + MODEL_HELP.split(": ", 1)[1],
)
@click.option("--json", "as_json", is_flag=True, help="Print the errors as JSON.")
def check(held_dir: Path, data_dirs: tuple[Path, ...], model_names: tuple[str, ...], as_json: bool) -> None:
    """Score models fitted to --data on the co-located measurements of another profile
    directory: the median and 90th percentile of |predicted p50 / measured p50 - 1| per
    sharing mode and group size, the measured slowdown taken against the held-out
    directory's own solo p50 (so that two machines' solo latencies need not agree)."""
    from schedlab.files import dumps
    from schedlab.interference import held_out, load_all

    profiles = load_all(data_dirs)
    models = {
        name: {key: e.summary() for key, e in held_out(name, profiles, held_dir).items()}
        for name in dict.fromkeys(model_names)
    }
    if not any(models.values()):
        log.warning("%s has no co-located measurements (only solo ones): nothing to check", held_dir)
    if as_json:
        click.echo(dumps({"data": profiles.source, "against": str(held_dir), "models": models}))
        return
    from rich.table import Table

    table = Table(title=f"Fitted on {profiles.source}, checked on {held_dir}: |predicted p50 / measured - 1|")
    table.add_column("sharing, members")
    table.add_column("predictions", justify="right")
    for name in models:
        table.add_column(f"{name}: median / p90", justify="right")
    for key, part in next(iter(models.values())).items():
        cells = [f"{m[key]['median_rel_error']:.1%} / {m[key]['p90_rel_error']:.1%}" for m in models.values()]
        table.add_row(key, str(part["predictions"]), *cells)
    print_table(table)
