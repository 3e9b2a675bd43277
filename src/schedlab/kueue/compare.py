"""Kueue what-if over alternatives: configurations (sets of files) x quota scalings, each
replayed on every trace given (replicates: say, one per seed), with the mean and the 95 %
confidence interval over the traces of what operators read (:mod:`schedlab.kueue.report`).

Scaling multiplies every quota of every ClusterQueue and Cohort by the factor: nominal
quota, borrowing and lending limits (Kueue rounds the result up to its units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np

from schedlab.kueue.admission import replay
from schedlab.kueue.objects import FlavorQuotas, KueueConfig, Quota, ResourceGroup
from schedlab.kueue.report import summary
from schedlab.kueue.workloads import Workloads
from schedlab.metrics.stats import describe

#: Per trace: the figures compared, their column labels and paths into a replay summary.
FIGURES = {
    "wait_mean_s": ("wait mean s", ("wait_s", "mean")),
    "wait_p99_s": ("wait p99 s", ("wait_s", "p99")),
    "pending": ("pending at end", ("pending",)),
    "evictions": ("evictions", ("evictions",)),
}
PER_QUEUE = {"wait_mean_s": ("wait_s", "mean"), "wait_p99_s": ("wait_s", "p99"), "lost_s": ("lost_s",)}


def scaled(config: KueueConfig, factor: float) -> KueueConfig:
    """``config`` with every quota x ``factor``."""
    if factor == 1:
        return config
    f = Decimal(str(factor))

    def quota(q: Quota) -> Quota:
        def times(v: Decimal | None) -> Decimal | None:
            return None if v is None else v * f

        return Quota(q.nominal * f, times(q.borrowing_limit), times(q.lending_limit))

    def groups(gs: tuple[ResourceGroup, ...]) -> tuple[ResourceGroup, ...]:
        return tuple(
            replace(
                g,
                flavors=tuple(
                    FlavorQuotas(fq.flavor, tuple((r, quota(q)) for r, q in fq.quotas)) for fq in g.flavors
                ),
            )
            for g in gs
        )

    return replace(
        config,
        cluster_queues={n: replace(q, groups=groups(q.groups)) for n, q in config.cluster_queues.items()},
        cohorts={n: replace(c, groups=groups(c.groups)) for n, c in config.cohorts.items()},
    )


def run(config: KueueConfig, traces: Sequence[Workloads]) -> list[dict[str, Any]]:
    """The replay summary of ``config`` on each trace (with ``evictions``)."""
    out = []
    for found in traces:
        outcome = replay(config, found.items)
        out.append(summary(config, found, outcome) | {"evictions": len(outcome.evictions)})
    return out


def compare(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and interval over traces of the figures, overall and per ClusterQueue."""

    def value(doc: dict[str, Any], path: tuple[str, ...]) -> float:
        for key in path:
            doc = doc[key]
        return float("nan") if doc is None else float(doc)  # type: ignore[arg-type]

    overall = {name: describe([value(r, path) for r in runs]) for name, (_, path) in FIGURES.items()}
    queues = {
        q: {
            name: describe([value(r["cluster_queues"][q], path) for r in runs])
            for name, path in PER_QUEUE.items()
        }
        for q in runs[0]["cluster_queues"]
    }
    return {"traces": len(runs), **overall, "cluster_queues": queues}


def table_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per alternative: the overall figures as ``mean [low, high]``."""

    def cell(stats: dict[str, float | int]) -> str:
        mean, low, high = (float(stats[k]) for k in ("mean", "ci_low", "ci_high"))
        if np.isnan(mean):
            return "-"
        return f"{mean:,.1f}" if np.isnan(low) else f"{mean:,.1f} [{low:,.1f}, {high:,.1f}]"

    return [(name, *(cell(doc[f]) for f in FIGURES)) for name, doc in results.items()]
