"""What ``schedlab replay`` prints: the results table, counts, services, and the warnings
of a replay that barely loads its cluster."""

from __future__ import annotations

import logging
from typing import Any

import click

from schedlab.cli.common import stdout_console

log = logging.getLogger("schedlab")


def warn_if_idle(summary: dict[str, Any]) -> None:
    """Say so when a replay barely loads its cluster: its numbers then compare nothing."""
    import math

    from schedlab.workload.load import LOW_LOAD, LOW_PEAK_PCT

    offered, mean, peak = summary["offered_load"], summary["alloc_mean_pct"], summary["alloc_peak_pct"]
    if offered is None or not math.isfinite(offered):  # no arrival span: no load to speak of
        if peak < LOW_PEAK_PCT:
            log.warning("GPU allocation peaks at %.1f %%: the cluster stays nearly idle", peak)
    elif offered < LOW_LOAD or peak < LOW_PEAK_PCT:
        log.warning(
            "the workload offers %.3g x the GPU capacity and allocation peaks at %.1f %%: policies"
            " will hardly differ; compress it with --target-load (e.g. --target-load 0.9)",
            offered,
            peak,
        )
    elif mean < 50 * min(offered, 1.0):
        log.warning(
            "mean GPU allocation %.1f %% is under half the offered load (%.3g x capacity): long tasks"
            " run on after the arrivals end, so the run is mostly ramp-up and drain; begin it in its steady"
            " state with --warm-start",
            mean,
            offered,
        )


def warn_if_starving(summary: dict[str, Any]) -> None:
    """Say so when a class of tasks waits far longer than the rest (by_class)."""
    from schedlab.metrics.breakdown import starving

    for line in starving(summary.get("by_class", {}), summary.get("wait_p99")):
        log.warning(line)


def print_replay(s: dict[str, Any]) -> None:
    from rich.table import Table

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:,.1f}"

    table = Table(title=f"replay: {s['completed']} of {s['tasks']} tasks completed; times in seconds")
    table.add_column("class", no_wrap=True)
    table.add_column("tasks", justify="right")
    for metric in ("JCT", "wait"):
        for stat in ("mean", "p50", "p95", "p99"):
            table.add_column(f"{metric} {stat}", justify="right")
    for label, part in (("all", s), ("LS", s["ls"]), ("BE", s["be"])):
        stats = [part[f"{m}_{p}"] for m in ("jct", "wait") for p in ("mean", "p50", "p95", "p99")]
        table.add_row(label, str(part["completed"]), *(fmt(v) for v in stats))
    stdout_console().print(table)
    print_classes(s.get("by_class", {}).get("gpu", {}))
    excluded = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in s["excluded"].items()) or "none"
    click.echo(
        f"unfinished {s['unfinished']}, rejected {s['rejected']}, left out of the trace: {excluded}; "
        f"preemptions {s['preemptions']} ({s['lost_gpu_s']:,.0f} GPU-s lost); "
        f"makespan {s['makespan']:,.0f} s; "
        f"{s['events']} events in {s['wall_s']:.2f} s"
    )
    if s.get("warmup_tasks"):
        click.echo(f"warm start: {s['warmup_tasks']} tasks running at time 0, not measured")
    if s.get("services"):
        services = s["services"]
        missed = sum(1 for row in services if (row["slo_attainment"] or 0.0) < 0.99)
        click.echo(
            f"services {len(services)}: SLO attainment {s['slo_attainment']:.4f} of all requests;"
            f" {missed} services under 99 % within SLO"
        )
    extra = [f"shared GPU time {s['shared_gpu_time_frac']:.1%}"] if "shared_gpu_time_frac" in s else []
    if s.get("jct_inflation") is not None:
        extra.append(f"batch JCT inflation {s['jct_inflation']:.4f} (against --baseline)")
    if extra:
        click.echo("; ".join(extra))


def print_classes(classes: dict[str, Any]) -> None:
    """Wait per GPU-demand class: who waits, and how long."""
    from rich.table import Table

    if len(classes) < 2:
        return
    table = Table(title="wait by GPU demand (completed tasks; seconds)")
    for name in ("class", "tasks", "mean", "p50", "p99", "max"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for name, row in classes.items():
        wait = row["wait"]
        cells = ["-" if wait[k] is None else f"{wait[k]:,.1f}" for k in ("mean", "p50", "p99", "max")]
        table.add_row(name, str(row["tasks"]), *cells)
    stdout_console().print(table)
