"""The report of a Kueue sweep: per setting (alternative configuration, quota scaling,
placement, trace) the admission wait and what still pends, overall and per ClusterQueue,
with 95 % intervals over seeds (summary.csv has the LocalQueues too).

Writes into the store directory ``summary.csv`` (one row per setting: each metric's mean,
std, n and interval), ``summary.json`` (the same numbers, grouped),
``figures/kueue_<trace>.png`` (one panel per metric: a point and its interval per setting)
and ``report.md`` with the table behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schedlab.files import write_json
from schedlab.metrics.stats import INTERVAL, LEVEL
from schedlab.report.figures import OKABE_ITO, pyplot, save_figure
from schedlab.report.paper import sweep_config_lines
from schedlab.report.replays import seeds_of, summary_document
from schedlab.sweep.kueue_runs import GROUP_KEYS, METRICS, summarize_kueue

#: The panels of the figure and the columns of report.md's table (metric, label).
PANELS = (
    ("wait_mean_s", "admission wait mean (s)"),
    ("wait_p99_s", "admission wait p99 (s)"),
    ("pending", "pending at the end"),
    ("evictions", "evictions"),
)


def write_kueue_report(root: Path, runs: pd.DataFrame) -> list[Path]:
    """Write summary.csv, summary.json, one figure per trace and report.md for a Kueue store."""
    summary = summarize_kueue(runs)
    summary.to_csv(root / "summary.csv", index=False)
    write_json(root / "summary.json", summary_document(summary, "kueue", GROUP_KEYS, METRICS))
    written = [root / "summary.csv", root / "summary.json"]
    seeds = seeds_of(summary)
    md = ["# schedlab Kueue sweep report", "", *sweep_config_lines(root)]
    md += [f"{len(runs)} runs, {seeds} seed(s) per setting. Every number: mean [its {INTERVAL}].", ""]
    overall = summary[summary["level"] == "all"]
    for trace in dict.fromkeys(overall["trace"]):
        part = overall[overall["trace"] == trace]
        path = _figure(part, root / "figures" / f"kueue_{Path(str(trace)).stem}.png", str(trace), seeds)
        written.append(path)
        md += [f"## {trace}", "", f"![{trace}](figures/{path.name})", ""]
        md += ["| configs | scale | placement | seeds | " + " | ".join(label for _, label in PANELS) + " |"]
        md += ["|---|---:|---|---:|" + "---:|" * len(PANELS)]
        for row in part.to_dict("records"):
            cells = [str(row["configs"]), f"{row['scale']:g}", str(row["placement"]), str(row["runs"])]
            md.append("| " + " | ".join(cells + [_cell(row, m) for m, _ in PANELS]) + " |")
        md.append("")
        queues = summary[(summary["trace"] == trace) & (summary["level"] == "ClusterQueue")]
        md += ["Per ClusterQueue:", ""]
        md += [
            "| configs | scale | placement | ClusterQueue | "
            + " | ".join(label for _, label in PANELS)
            + " |"
        ]
        md += ["|---|---:|---|---|" + "---:|" * len(PANELS)]
        for row in queues.to_dict("records"):
            cells = [str(row["configs"]), f"{row['scale']:g}", str(row["placement"]), str(row["queue"])]
            md.append("| " + " | ".join(cells + [_cell(row, m) for m, _ in PANELS]) + " |")
        md.append("")
    (root / "report.md").write_text("\n".join(md) + "\n")
    return [*written, root / "report.md"]


def _cell(row: dict[str, Any], metric: str) -> str:
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if not np.isfinite(mean):
        return "-"
    interval = f" [{low:,.1f}, {high:,.1f}]" if np.isfinite(low) else ""
    return f"{mean:,.1f}{interval}"


def _figure(part: pd.DataFrame, path: Path, trace: str, seeds: str) -> Path:
    labels = [f"{r['configs']} x{r['scale']:g}, {r['placement']}" for r in part.to_dict("records")]
    fig, axes = pyplot().subplots(
        1, len(PANELS), figsize=(4.0 * len(PANELS), 0.45 * len(labels) + 1.8), constrained_layout=True
    )
    y = np.arange(len(labels))
    for k, (ax, (metric, label)) in enumerate(zip(axes, PANELS, strict=True)):
        mean = part[f"{metric}_mean"].to_numpy(dtype=float)
        low = part[f"{metric}_ci_low"].to_numpy(dtype=float)
        high = part[f"{metric}_ci_high"].to_numpy(dtype=float)
        spread = np.nan_to_num(np.vstack([mean - low, high - mean]))
        ax.errorbar(mean, y, xerr=spread, fmt="o", color=OKABE_ITO[k % len(OKABE_ITO)], capsize=3)
        ax.set_yticks(y, labels if k == 0 else [""] * len(labels))
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.grid(True, axis="x", alpha=0.3)
    title = f"{Path(trace).name}: mean and {LEVEL:.0%} CI over {seeds} seed(s) per setting"
    return save_figure(fig, path, title)
