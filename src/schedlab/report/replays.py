"""The report of a replay sweep: every metric against load, one line per policy (and per
other setting the sweep varied) with its 95 % confidence band over seeds.

Writes into the store directory ``summary.csv`` (one row per setting: each metric's mean,
std, n and 95 % interval), ``summary.json`` (the same numbers, grouped),
``figures/replay_<trace>.png`` and ``report.md`` with the tables behind the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from schedlab.files import write_json
from schedlab.metrics.stats import INTERVAL, LEVEL, STATS
from schedlab.report.figures import policy_colors, save_figure
from schedlab.report.paper import sweep_config_lines
from schedlab.sweep.replay_runs import GROUP_KEYS, load_axis, summarize_replays, varying
from schedlab.sweep.replays import METRICS

#: The panels of a replay sweep's figure (metric, axis label), drawn when measured.
PANELS = (
    ("jct_mean", "JCT mean (s)"),
    ("jct_p99", "JCT p99 (s)"),
    ("wait_mean", "Wait mean (s)"),
    ("wait_p99", "Wait p99 (s)"),
    ("slowdown_mean", "Bounded slowdown mean"),
    ("alloc_mean_pct", "GPU allocation mean (%)"),
    ("preemptions", "Preemptions"),
    ("slo_attainment", "SLO attainment"),
)
#: The metrics of report.md's tables (each where measured; the mean wait of tasks of two GPUs
#: or more, which fragmentation keeps waiting, with defragmentation).
TABLE_METRICS = (
    "jct_mean",
    "jct_p99",
    "wait_mean",
    "wait_mean_multi_gpu",
    "slowdown_mean",
    "alloc_mean_pct",
    "slo_attainment",
    "defrag_moves",
    "defrag_lost_gpu_s",
)


def summary_document(
    summary: pd.DataFrame,
    kind: str = "replay",
    keys: Sequence[str] = GROUP_KEYS,
    measured: Sequence[str] = METRICS,
) -> dict[str, Any]:
    """A sweep's summary as JSON: one group per setting (``keys``), each metric's statistics."""
    groups = []
    for row in summary.to_dict("records"):
        settings = {k: _plain(row[k]) for k in keys}
        metrics = {m: {s: _plain(row[f"{m}_{s}"]) for s in STATS} for m in measured}
        groups.append(settings | {"runs": int(row["runs"]), "metrics": metrics})
    return {"kind": kind, "confidence": LEVEL, "interval": INTERVAL, "groups": groups}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def write_replay_report(root: Path, runs: pd.DataFrame) -> list[Path]:
    """Write summary.csv, summary.json, one figure per trace and report.md for a replay store."""
    summary = summarize_replays(runs)
    summary.to_csv(root / "summary.csv", index=False)
    write_json(root / "summary.json", summary_document(summary))
    written = [root / "summary.csv", root / "summary.json"]
    axis = load_axis(summary)
    lines = _line_keys(summary, axis)
    md = ["# schedlab replay sweep report", "", *sweep_config_lines(root)]
    md += [
        f"{len(runs)} runs, {seeds_of(summary)} seed(s) per setting. Every number: mean [its {INTERVAL}].",
        "",
    ]
    for trace in dict.fromkeys(summary["trace"]):
        part = summary[summary["trace"] == trace]
        path = _figure(part, axis, lines, root / "figures" / f"replay_{Path(trace).stem}.png", trace)
        written.append(path)
        md += [f"## {trace}", "", f"![{trace}](figures/{path.name})", ""]
        shown = [m for m in TABLE_METRICS if part[f"{m}_n"].any()]
        if "defrag_moves" not in shown:
            shown.remove("wait_mean_multi_gpu")
        md += ["| " + " | ".join([*lines, axis, "seeds", *shown]) + " |"]
        md += ["|" + "---|" * (len(lines) + 1) + "---:|" * (len(shown) + 1)]
        for row in part.to_dict("records"):
            cells = [str(row[k]) for k in lines] + [f"{row[axis]:g}", str(row["runs"])]
            cells += [_cell(row, m) for m in shown]
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    (root / "report.md").write_text("\n".join(md) + "\n")
    return [*written, root / "report.md"]


def _line_keys(summary: pd.DataFrame, axis: str) -> list[str]:
    """What tells the lines of a figure apart: the policy and every other setting that varies."""
    keys = [k for k in varying(summary) if k not in (axis, "trace", "policy")]
    return ["policy", *keys]


def _cell(row: dict[str, Any], metric: str) -> str:
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if not np.isfinite(mean):
        return "-"
    digits = 3 if abs(mean) < 10 else 1
    interval = f" [{low:.{digits}f}, {high:.{digits}f}]" if np.isfinite(low) else ""
    return f"{mean:.{digits}f}{interval}"


def _figure(part: pd.DataFrame, axis: str, lines: list[str], path: Path, trace: str) -> Path:
    panels = [(m, label) for m, label in PANELS if (part[f"{m}_mean"].fillna(0) != 0).any()]  # no empty panel
    columns = min(4, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows), constrained_layout=True, squeeze=False
    )
    colors = policy_colors(list(dict.fromkeys(part["policy"])))
    styles, markers = ["-", "--", ":", "-."], ["o", "s", "^", "D", "v", "P", "X"]
    variants = part[lines].astype(str).drop_duplicates().to_dict("records")
    others = list(
        dict.fromkeys(tuple(v for k, v in variant.items() if k != "policy") for variant in variants)
    )
    for ax, (metric, label) in zip(axes.flat, panels, strict=False):
        for variant in variants:
            mask = np.logical_and.reduce([part[k].astype(str) == v for k, v in variant.items()])
            line = part[mask].sort_values(axis)
            x = line[axis].to_numpy(dtype=float)
            name = ", ".join(variant.values())
            color = colors[variant["policy"]]
            j = others.index(tuple(v for k, v in variant.items() if k != "policy"))  # the other settings
            style, marker = styles[j % len(styles)], markers[j % len(markers)]
            ax.plot(x, line[f"{metric}_mean"], style, marker=marker, color=color, label=name, linewidth=1.5)
            ax.fill_between(x, line[f"{metric}_ci_low"], line[f"{metric}_ci_high"], color=color, alpha=0.18)
        ax.set_xlabel("offered load (x GPU capacity)" if axis == "load" else "time scale")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize="small", title=", ".join(lines))
    nodes = ", ".join(Path(str(n)).name for n in dict.fromkeys(part["nodes"])) if "nodes" in part else ""
    varied = ", ".join(lines) + (f", {axis}" if axis else "")
    title = (
        f"{Path(trace).name} on {nodes or 'the default nodes'}: {varied} varied;"
        f" mean and {LEVEL:.0%} CI over {seeds_of(part)} seed(s)"
    )
    return save_figure(fig, path, title)


def seeds_of(summary: pd.DataFrame) -> str:
    """How many seeds the settings have: ``3``, or ``2-3`` when they differ."""
    low, high = int(summary["runs"].min()), int(summary["runs"].max())
    return f"{low}-{high}" if low != high else str(low)
