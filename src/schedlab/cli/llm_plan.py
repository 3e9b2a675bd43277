"""``schedlab llm plan``: the fewest replicas per GPU model that meet an SLO."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import figure_flags, print_table
from schedlab.cli.llm_options import config_of, efficiency_for, serving_options, setup, shaped, warn_rejected
from schedlab.cli.types import writable_file

log = logging.getLogger(__name__)


@click.command()
@serving_options
@click.option(
    "--gpus",
    default="H100-80GB,A100-80GB",
    show_default=True,
    help="Comma list of GPU models to plan for; MODEL/PROFILE plans on MIG instances (A100-80GB/3g.40gb),"
    " GPUs then counting the whole GPUs that hold them.",
)
@click.option(
    "--tp",
    type=click.IntRange(1, 64),
    help="GPUs per replica. [default: each of 1, 2, 4, 8 that fits; the fewest GPUs win]",
)
@click.option(
    "--rates",
    help="Comma list of request rates (requests/s): one plan per rate and GPU model (instead of --rate).",
)
@click.option(
    "--max-replicas",
    type=click.IntRange(1, 100_000),
    default=4096,
    show_default=True,
    help="Give up beyond this many replicas.",
)
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the percentile latencies against request rate at each plan's replica count (file"
    " name; --format sets the suffixes).",
)
@figure_flags
def plan(**kw: Any) -> None:
    """The fewest replicas (and GPUs) of the model on each GPU model that serve the trace
    within the SLO; each answer is checked from below (one replica fewer misses it)."""
    from schedlab.files import dumps
    from schedlab.llm.cards import LlmError, gpu_card
    from schedlab.llm.plan import plan as plan_for
    from schedlab.provenance import inputs, stamp
    from schedlab.report.figures import figure_options, parse_formats

    if kw["rates"] and kw["rate"]:
        raise click.UsageError("give --rate or --rates, not both")
    formats = parse_formats(kw["formats"])
    if kw["figure"]:
        writable_file(kw["figure"], "--figure")
    gpus = [gpu_card(name) for name in kw["gpus"].split(",") if name.strip()]
    if not gpus:
        raise click.BadParameter("give at least one GPU model", param_hint="--gpus")
    rates = _rates(kw["rates"])
    raw, model, batching, slo = setup(kw)
    said: set[str] = set()
    efficiencies = {gpu.name: efficiency_for(kw, model, gpu) for gpu in gpus}
    results: list[tuple[float, Any, Any]] = []  # (rate, GPU card, plan or why there is none)
    for rate in rates or [kw["rate"] or raw.rate]:
        trace = shaped(raw, rate, kw["duration"])
        for gpu in gpus:
            try:
                answer = plan_for(
                    trace, model, gpu, slo, batching, efficiencies[gpu.name], kw["tp"], kw["max_replicas"]
                )
            except LlmError as err:
                log.warning("%s", err)
                results.append((rate, gpu, str(err)))
                continue
            warn_rejected(answer.served, model, said)
            results.append((rate, gpu, answer))
    docs = [_doc(rate, gpu, answer, slo) for rate, gpu, answer in results]
    found = [(rate, a) for rate, _, a in results if not isinstance(a, str)]
    if kw["figure"]:
        with figure_options(formats, kw["dpi"]):
            path = _figure(raw, found, slo, batching, kw["figure"], model.name, kw["duration"])
        log.info("wrote %s", path)
    if kw["as_json"]:
        config = config_of(kw, gpus=[g.name for g in gpus])
        click.echo(dumps({"plans": docs} | stamp(config, inputs({"trace": kw["trace_file"]})), indent=2))
        return
    _print(docs, model.name, slo.text())
    if not found:
        return
    rate, first = found[0]
    check = ["schedlab", "llm", "simulate", "--trace", str(kw["trace_file"]), "--model", model.name]
    check += ["--gpu", first.gpu.name, "--tp", str(first.tp), "--replicas", str(first.replicas)]
    check += ["--slo", kw["slo_text"], "--percentile", f"{slo.percentile:g}"]
    if kw["rate"] or rates:
        check += ["--rate", repr(float(rate))]
    if kw["duration"]:
        check += ["--duration", repr(kw["duration"])]
    check += ["--max-seqs", str(batching.max_seqs), "--max-batch-tokens", str(batching.max_tokens)]
    check += [
        "--block-size",
        str(batching.block_size),
        "--memory-fraction",
        repr(batching.memory_fraction),
    ]
    check += ["--chunked-prefill"] if batching.chunked else []
    check += ["--profile", str(kw["profile_dir"])] if kw["profile_dir"] else []
    click.echo("check one: " + shlex.join(check))


def _rates(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: a comma list of positive numbers", param_hint="--rates"
        ) from None
    if not rates or any(not r > 0 or r == float("inf") for r in rates):
        raise click.BadParameter(f"{text!r}: a comma list of positive numbers", param_hint="--rates")
    return rates


def _doc(rate: float, gpu: Any, answer: Any, slo: Any) -> dict[str, Any]:
    if isinstance(answer, str):
        return {"rate": rate, "gpu": gpu.name, "error": answer}
    summary = answer.served.summary(slo)
    fewer = answer.fewer.summary(slo)["slo"] if answer.fewer is not None else None
    return {
        "rate": rate,
        "gpu": gpu.name,
        "tp": answer.tp,
        "replicas": answer.replicas,
        "gpus": answer.gpus,
        "summary": summary,
        "one_fewer": fewer,
    }


def _print(docs: list[dict[str, Any]], model: str, slo: str) -> None:
    from rich.table import Table

    table = Table(title=f"{model}: fewest replicas for {slo} (latencies in ms at that percentile)")
    for column in (
        "rate /s",
        "GPU",
        "TP",
        "replicas",
        "GPUs",
        "TTFT",
        "TBT",
        "within SLO",
        "one fewer: TTFT",
        "TBT",
    ):
        table.add_column(column, justify="left" if column == "GPU" else "right")
    for d in docs:
        if "error" in d:
            table.add_row(f"{d['rate']:.3g}", d["gpu"], "-", "cannot", *["-"] * 6)
            continue
        s, f = d["summary"]["slo"], d["one_fewer"]
        table.add_row(
            f"{d['rate']:.3g}",
            d["gpu"],
            str(d["tp"]),
            str(d["replicas"]),
            str(d["gpus"]),
            f"{s['ttft_at_percentile_s'] * 1000:,.1f}",
            f"{s['tbt_at_percentile_s'] * 1000:,.1f}",
            f"{s['attainment']:.1%}",
            f"{f['ttft_at_percentile_s'] * 1000:,.1f}" if f else "-",
            f"{f['tbt_at_percentile_s'] * 1000:,.1f}" if f else "-",
        )
    print_table(table)


def _figure(
    raw: Any,
    found: list[tuple[float, Any]],
    slo: Any,
    batching: Any,
    path: Path,
    model: str,
    duration: float | None,
) -> Path:
    """Latency at the SLO's percentile against request rate, from a quarter to twice each
    plan's rate, at the plan's replica count: one line per plan."""
    import numpy as np

    from schedlab.llm.serving import serve
    from schedlab.report.llm import plot_latency

    lines = []
    for planned, answer in found:
        rates = planned * np.geomspace(0.25, 2.0, 13)
        points = []
        for rate in rates:
            served = serve(shaped(raw, float(rate), duration), answer.deployment, answer.replicas, batching)
            p = served.percentiles(slo.percentile)
            points.append((p["ttft"], p["tbt"]))
        label = f"{answer.replicas} x {answer.tp} {answer.gpu.name} (plan for {planned:.3g}/s)"
        lines.append((label, rates, np.array(points)))
    return plot_latency(lines, slo, path, f"{model}: p{slo.percentile:g} latency against load")
