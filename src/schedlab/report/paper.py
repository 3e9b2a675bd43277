"""``schedlab report``: the paper's figures and tables from a sweep's results store.

Writes into the store directory:
- ``figures/curves_<workload>.png``: allocation, fragment amount and fragment ratio over
  arrived load, mean line and a +/-1 std band across seeds, one colour per policy;
- ``figures/family_<family>.png``: allocation at arrived 100 % per policy across the
  variants of a workload family (with the default workload as baseline when present);
- ``summary.csv`` (recomputed from the store) and ``report.md`` with the tables behind
  every figure, all numbers taken from that summary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from schedlab.metrics.stats import INTERVAL
from schedlab.report.figures import plot_curves, policy_colors, save_figure
from schedlab.sweep.store import ResultStore, fill_order, natural_key, summarize

FAMILIES = {
    "cpu": "CPU-only task share",
    "gpushare": "GPU-sharing task share",
    "multigpu": "multi-GPU task share",
    "gpuspec": "GPU-type-constraint task share",
}
#: Points of the per-workload tables (arrived load, % of capacity).
WORKLOAD_COLUMNS = (
    ("alloc_mean", 80),
    ("alloc_mean", 90),
    ("alloc_mean", 100),
    ("alloc_mean", 130),
    ("frag_amount_mean", 90),
    ("frag_ratio_mean", 80),
)
HEADERS = {"alloc_mean": "alloc %", "frag_amount_mean": "frag amount %", "frag_ratio_mean": "frag ratio %"}


def family_of(workload: str) -> str | None:
    match = re.fullmatch(r"(cpu|gpushare|multigpu|gpuspec)\d+", workload)
    return match.group(1) if match else None


def _label(workload: str, ratio: float | None) -> str:
    return workload if ratio is None else f"{workload}-r{ratio:g}"


def write_report(root: Path) -> list[Path]:
    """Write figures, ``summary.csv`` and ``report.md`` for the store at ``root``."""
    runs = fill_order(ResultStore(root).load())
    summary = summarize(runs)
    summary.to_csv(root / "summary.csv", index=False)
    figures = root / "figures"
    figures.mkdir(exist_ok=True)
    multi_ratio = "tune_ratio" in summary.columns
    groups = (
        [(w, r) for (w, r) in summary[["workload", "tune_ratio"]].drop_duplicates().itertuples(index=False)]
        if multi_ratio
        else [(w, None) for w in summary["workload"].drop_duplicates()]
    )
    policies = list(dict.fromkeys(summary["policy"]))
    written: list[Path] = [root / "summary.csv"]
    md = _header(root, runs, policies)

    at100 = summary[summary["x"] == 100]
    md += ["## Allocation at arrived 100 % (% of GPU capacity)", ""]
    md += _table(
        ["workload", *policies],
        [[_label(w, r), *(_mean_std(at100, w, r, p) for p in policies)] for w, r in groups],
    )

    for family, title in FAMILIES.items():
        members = sorted({w for w, _ in groups if family_of(w) == family}, key=natural_key)
        if not members:
            continue
        workloads = (["default"] if any(w == "default" for w, _ in groups) else []) + members
        for ratio in sorted({r for _, r in groups}, key=lambda r: -1.0 if r is None else r):
            name = family if ratio is None else f"{family}-r{ratio:g}"
            path = _family_chart(at100, workloads, ratio, policies, title, figures / f"family_{name}.png")
            written.append(path)
            md += [f"## {title}: allocation at arrived 100 %", "", f"![{title}](figures/{path.name})", ""]
            md += _table(
                ["workload", *policies],
                [[w, *(_mean_std(at100, w, ratio, p) for p in policies)] for w in workloads],
            )

    for workload, ratio in groups:
        label = _label(workload, ratio)
        subset = runs[(runs["workload"] == workload) & ((runs["tune_ratio"] == ratio) if ratio else True)]
        n_seeds = subset["seed"].nunique()
        path = plot_curves(
            subset,
            figures / f"curves_{label}.png",
            title=f"{label}{_on(subset)}: {len(policies)} policies, {n_seeds} seed(s)"
            + (f", tune ratio {ratio:g}" if ratio else f", tune ratio {subset['tune_ratio'].iloc[0]:g}"),
        )
        written.append(path)
        md += [f"## Workload {label}", "", f"![{label}](figures/{path.name})", ""]
        headers = ["policy", *(f"{HEADERS[c]} @{x}" for c, x in WORKLOAD_COLUMNS)]
        rows = []
        for policy in policies:
            rows.append(
                [policy, *(_value(summary, workload, ratio, policy, c, x) for c, x in WORKLOAD_COLUMNS)]
            )
        md += _table(headers, rows)

    report = root / "report.md"
    report.write_text("\n".join(md) + "\n")
    written.append(report)
    return written


def sweep_config_lines(root: Path) -> list[str]:
    """The report's line on the latest sweep's configuration (none without sweep.json)."""
    sweep_json = root / "sweep.json"
    if not sweep_json.is_file():
        return []
    config = json.loads(sweep_json.read_text())
    return [f"Configuration of the latest sweep: `{json.dumps(config.get('matrix', config))}`", ""]


def _on(runs: pd.DataFrame) -> str:
    """`` on <node list>`` of the runs (their file names), or nothing when unrecorded."""
    if "nodes" not in runs or runs["nodes"].isna().all():
        return ""
    return " on " + ", ".join(Path(str(n)).name for n in dict.fromkeys(runs["nodes"].dropna()))


def _header(root: Path, runs: pd.DataFrame, policies: list[str]) -> list[str]:
    lines = ["# schedlab sweep report", "", *sweep_config_lines(root)]
    lines += [
        f"{runs['run_id'].nunique()} runs: {runs['workload'].nunique()} workload(s) x {len(policies)} "
        f"policies x {runs['seed'].nunique()} seed(s); x = arrived GPU load in % of GPU capacity. "
        f"Every number: mean [its {INTERVAL}], with the sample std and n; all from `summary.csv`.",
        "",
    ]
    return lines


def _select(summary: pd.DataFrame, workload: str, ratio: float | None, policy: str) -> pd.DataFrame:
    mask = (summary["workload"] == workload) & (summary["policy"] == policy)
    if ratio is not None:
        mask &= summary["tune_ratio"] == ratio
    return summary[mask]


def _mean_std(at100: pd.DataFrame, workload: str, ratio: float | None, policy: str) -> str:
    row = _select(at100, workload, ratio, policy)
    return "-" if row.empty else stat_cell(row.iloc[0], "alloc")


def stat_cell(row: pd.Series, metric: str) -> str:
    """``mean [low, high] (sd std, n n)`` with the 95 % interval (:mod:`schedlab.metrics.stats`);
    ``mean (n 1)`` for a single seed; ``-`` when nothing was measured."""
    mean, low, high, std, n = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high", "std", "n"))
    if not np.isfinite(mean):
        return "-"
    if not np.isfinite(high):
        return f"{mean:.2f} (n {int(n)})"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}] (sd {std:.2f}, n {int(n)})"


def _value(
    summary: pd.DataFrame, workload: str, ratio: float | None, policy: str, column: str, x: int
) -> str:
    rows = _select(summary, workload, ratio, policy)
    rows = rows[rows["x"] == x]
    return "-" if rows.empty else stat_cell(rows.iloc[0], column.removesuffix("_mean"))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _family_chart(
    at100: pd.DataFrame,
    workloads: list[str],
    ratio: float | None,
    policies: list[str],
    title: str,
    path: Path,
) -> Path:
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(workloads) + 2.5), 4.2), constrained_layout=True)
    width = 0.8 / len(policies)
    colors = policy_colors(policies)
    for i, policy in enumerate(policies):
        means, below, above = [], [], []
        for workload in workloads:
            row = _select(at100, workload, ratio, policy)
            mean, low, high = (
                float(row[f"alloc_{s}"].iloc[0]) if len(row) else np.nan
                for s in ("mean", "ci_low", "ci_high")
            )
            means.append(mean)
            below.append(mean - low if np.isfinite(low) else 0.0)  # the 95 % interval (asymmetric)
            above.append(high - mean if np.isfinite(high) else 0.0)
        offsets = np.arange(len(workloads)) - 0.4 + width * (i + 0.5)
        ax.bar(offsets, means, width, yerr=[below, above], label=policy, capsize=2, color=colors[policy])
    ax.set_xticks(np.arange(len(workloads)), workloads)
    ax.set_xlabel(f"Workload ({title})")
    ax.set_ylabel("GPU allocation at arrived 100 % (% of capacity)")
    ax.set_ylim(0, 100)  # bars start at zero
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(ncol=min(len(policies), 6), fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0))
    seeds = int(at100["n_seeds"].max()) if len(at100) else 0
    ratio_text = f", tune ratio {ratio:g}" if ratio is not None else ""
    return save_figure(fig, path, f"{title}: mean and 95 % CI over {seeds} seed(s){ratio_text}")
