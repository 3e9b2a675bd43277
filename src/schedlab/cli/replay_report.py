"""What ``schedlab replay`` prints: the results table, counts, services, and the warnings
of a replay that barely loads its cluster."""

from __future__ import annotations

import logging
from typing import Any

import click
import numpy as np
import pandas as pd

from schedlab.cli.common import print_table
from schedlab.cluster.mig import mig_model

log = logging.getLogger("schedlab")
LABELS = {"gpu": "GPU", "cpu": "CPU", "memory": "memory"}


def warn_if_idle(summary: dict[str, Any]) -> None:
    """Say so when a replay barely loads its cluster (its numbers then compare nothing), naming
    the cause the summary shows and suggesting only what would help."""
    import math

    from schedlab.workload.load import LOW_LOAD, LOW_PEAK_PCT

    offered, mean = summary["offered_load"], summary["compute_alloc_mean_pct"]  # MIG: by compute
    peak = max(summary["alloc_peak_pct"], mean)
    idle = offered is None or not math.isfinite(offered) or offered < LOW_LOAD or peak < LOW_PEAK_PCT
    ramp = not idle and mean < 50 * min(offered, 1.0)
    if not (idle or ramp) or (offered is None and peak >= LOW_PEAK_PCT):
        return
    allocation = f"mean GPU allocation {mean:.1f} % (peak {peak:.1f} %)"
    cause = _idle_cause(summary)
    if cause:
        log.warning("%s: %s", allocation, cause)
    elif idle and offered is not None and math.isfinite(offered):
        log.warning(
            "the workload offers %.3g x the GPU capacity and allocation peaks at %.1f %%: policies"
            " will hardly differ; compress it with --target-load (e.g. --target-load 0.9)",
            offered,
            peak,
        )
    elif idle:
        log.warning("GPU allocation peaks at %.1f %%: the cluster stays nearly idle", peak)
    elif summary.get("warmup_tasks"):
        log.warning(
            "%s is under half the offered load (%.3g x capacity) although the run began warm: the"
            " tasks that wait cannot be placed (fragmentation or gangs holding the queue: see the wait"
            " by GPU demand)",
            allocation,
            offered,
        )
    else:
        log.warning(
            "%s is under half the offered load (%.3g x capacity): long tasks run on after the arrivals"
            " end, so the run is mostly ramp-up and drain; begin it in its steady state with --warm-start",
            allocation,
            offered,
        )


def _idle_cause(s: dict[str, Any]) -> str | None:
    """What keeps the GPUs idle, when the summary shows it: lost capacity, tasks that never
    fit or never start, or a resource other than GPUs."""
    lowest = s.get("capacity_min_pct")
    if lowest is not None and lowest < 50:
        return (
            f"node failures took the GPU capacity in service down to {lowest:.1f} % ({s['node_events']}"
            " node events): the cluster was lost, not idle; check --mtbf / --mttr or the node events"
        )
    stuck = s["rejected"] + s["unfinished"]
    if stuck and stuck >= 0.1 * s["tasks"]:
        return (
            f"{s['rejected']} of {s['tasks']} tasks fit no node even when it is empty and"
            f" {s['unfinished']} never finished (e.g. a gang larger than the cluster holds): the work"
            " cannot run there; give a node list that fits it"
        )
    loads = s.get("offered_loads") or {}
    bound = [name for name in ("cpu", "memory") if (loads.get(name) or 0.0) > 1.0]
    if bound:
        asked = ", ".join(f"{LABELS[name]} {loads[name]:.3g} x" for name in bound)
        return (
            f"the workload asks more {' and '.join(LABELS[name] for name in bound)} than the cluster has"
            f" ({asked} its capacity): tasks wait for that, not for GPUs; give a node list with more of it"
        )
    return None


def warn_loads(loads: dict[str, float | None], never: int, tasks: int, nodes: str) -> None:
    """Warn when the workload asks more of a resource than the cluster has, or holds tasks
    that fit no node (offered loads: :func:`schedlab.workload.load.resource_loads`)."""
    for name in ("gpu", "cpu", "memory"):
        value = loads.get(name)
        if value is not None and value > 1.0:
            log.warning(
                "the workload asks %.3g x the %s capacity of %s (GPU %s): queues grow while it arrives%s",
                value,
                LABELS[name],
                nodes,
                "-" if loads.get("gpu") is None else f"{loads['gpu']:.3g} x",
                "" if name == "gpu" else f"; {LABELS[name]}, not GPUs, bounds it whatever the GPU policy",
            )
    if never:
        log.warning(
            "%d of %d tasks fit no node of %s even when it is empty (CPU, memory, GPUs or GPU model)",
            never,
            tasks,
            nodes,
        )


def warn_rejected(summary: dict[str, Any], tasks: pd.DataFrame, nodes: str, per_gpu: bool) -> None:
    """Warn of the tasks that fit no node even when it is empty; with GPUs re-partitioned
    one by one (``per_gpu``), say how many of them ask for several MIG instances."""
    if not summary["rejected"]:
        return
    hint = ""
    if per_gpu:
        codes, specs = pd.factorize(tasks["gpu_spec"])
        asks = np.array([_on_instances(str(spec)) for spec in specs], dtype=bool)
        several = (tasks["status"] == "rejected").to_numpy() & (tasks["num_gpu"].to_numpy() > 1)
        count = int((several & asks[codes]).sum()) if len(specs) else 0
        if count:
            hint = (
                f" ({count} of them ask for several MIG instances, which --mig-scope gpu gives on one"
                " GPU only: --mig-scope node lets a task take them on several GPUs of a node)"
            )
    log.warning(
        "%d of %d tasks fit no node of %s even when it is empty; they are counted as rejected%s",
        summary["rejected"],
        summary["tasks"],
        nodes,
        hint,
    )


def _on_instances(spec: str) -> bool:
    """Whether a replayed task's GPU constraint names MIG instances (``<MODEL>/<profile>``)."""
    return any(mig_model(token.rpartition("/")[0]) is not None for token in spec.split("|"))


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
    print_table(table)
    print_classes(s.get("by_class", {}).get("gpu", {}))
    excluded = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in s["excluded"].items()) or "none"
    click.echo(
        f"unfinished {s['unfinished']}, rejected {s['rejected']}, left out of the trace: {excluded}; "
        f"preemptions {s['preemptions']} ({s['lost_gpu_s']:,.0f} GPU-s lost); "
        f"makespan {s['makespan']:,.0f} s; "
        f"{s['events']} events in {s['wall_s']:.2f} s"
    )
    loads = s.get("offered_loads") or {}
    if any(v is not None for v in loads.values()):
        shown = ", ".join(f"{LABELS[k]} {v:.3g} x" for k, v in loads.items() if v is not None)
        click.echo(f"offered load: {shown} capacity; GPU allocation mean {s['alloc_mean_pct']:.1f} %")
    if s.get("node_events"):
        click.echo(
            f"node events {s['node_events']}: {s['failure_restarts']} tasks restarted"
            f" ({s['failure_lost_gpu_s']:,.0f} GPU-s lost); GPU capacity in service fell to"
            f" {s['capacity_min_pct']:.1f} % at its lowest"
        )
    if "defrag_moves" in s:
        click.echo(
            f"defragmentation ({s['config']['defrag']}): {s['defrag_moves']} tasks moved"
            f" ({s['defrag_lost_gpu_s']:,.0f} GPU-s lost to checkpoints and restarts)"
        )
    if "mig_reconfigs" in s:
        click.echo(
            f"dynamic MIG: {s['mig_reconfigs']} GPUs re-partitioned ({s['mig_reconfig_gpu_s']:,.0f} GPU-s out"
            f" of service); compute allocation mean {s['compute_alloc_mean_pct']:.1f} %"
        )
    if s.get("warmup_tasks"):
        click.echo(f"warm start: {s['warmup_tasks']} tasks running at time 0, not measured")
    if s.get("services"):
        services = s["services"]
        missed = sum(1 for row in services if (row["slo_attainment"] or 0.0) < 0.99)
        click.echo(
            f"services {len(services)}: SLO attainment {fmt_share(s['slo_attainment'])} of all requests;"
            f" {missed} services under 99 % within SLO"
        )
    if s.get("llm_services"):
        print_llm(s["llm_services"], s["llm_slo_attainment"])
    shared = s.get("shared_gpu_time_frac")  # None: no task ever ran
    extra = [f"shared GPU time {shared:.1%}"] if shared is not None else []
    if s.get("jct_inflation") is not None:
        extra.append(f"batch JCT inflation {s['jct_inflation']:.4f} (against --baseline)")
    if extra:
        click.echo("; ".join(extra))


def fmt_share(value: float | None) -> str:
    """A share to four places, or ``-`` where none was measured."""
    return "-" if value is None else f"{value:.4f}"


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
    print_table(table)


def print_llm(rows: list[dict[str, Any]], attainment: float | None) -> None:
    """One line per LLM replica: requests, TTFT and TBT percentiles, within its SLO."""
    from rich.table import Table

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    share = "-" if attainment is None else f"{attainment:.1%}"
    table = Table(title=f"LLM replicas: {share} of their requests within TTFT and TBT targets (ms)")
    for name in (
        "replica",
        "model",
        "GPUs",
        "req/s",
        "requests",
        "too long",
        "TTFT p50",
        "TTFT p99",
        "TBT p99",
        "targets",
        "within",
        "not running s",
    ):
        table.add_column(name, justify="left" if name in ("replica", "model", "targets") else "right")
    for r in rows:
        within = "-" if r["slo_attainment"] is None else f"{r['slo_attainment']:.1%}"
        table.add_row(
            r["task"], r["model"], str(r["gpus"]), f"{r['rate_rps']:g}", str(r["requests"]),
            str(r["too_long"]), ms(r["ttft_p50_ms"]), ms(r["ttft_p99_ms"]), ms(r["tbt_p99_ms"]),
            f"{r['ttft_ms']:g} / {r['tbt_ms']:g}", within, f"{r['not_running_s']:,.0f}",
        )  # fmt: skip
    print_table(table)
