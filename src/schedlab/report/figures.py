"""Figures: allocation and fragmentation curves over arrived GPU load."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from schedlab.policies import PAPER_POLICIES


def policy_colors(policies: list[str]) -> dict[str, str]:
    """A fixed colour per policy: the paper's six always get the same ones."""
    palette = [f"C{i}" for i in range(10)]
    colors = {p: palette[i] for i, p in enumerate(PAPER_POLICIES)}
    extra = [p for p in policies if p not in colors]
    for i, policy in enumerate(extra):
        colors[policy] = palette[(len(PAPER_POLICIES) + i) % len(palette)]
    return colors


PANELS = (
    ("alloc_pct", "GPU allocation (% of capacity)"),
    ("frag_amount_pct", "Fragment amount (% of capacity)"),
    ("frag_ratio_pct", "Fragment ratio (% of free GPU)"),
)


def plot_curves(curves: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Plot mean curves per policy with a +/-1 std band across seeds.

    ``curves`` is the long table of :func:`schedlab.report.tables.curves_frame`
    (columns policy, seed, x and one column per curve).
    """
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5.2 * len(PANELS), 4.2), constrained_layout=True)
    grouped = curves.groupby(["policy", "x"], sort=False)
    policies = list(dict.fromkeys(curves["policy"]))
    colors = policy_colors(policies)
    for ax, (column, label) in zip(axes, PANELS, strict=True):
        stats = grouped[column].agg(["mean", "std"]).fillna({"std": 0.0})
        for policy in policies:
            s = stats.loc[policy]
            ax.plot(s.index, s["mean"], label=policy, linewidth=1.6, color=colors[policy])
            ax.fill_between(
                s.index, s["mean"] - s["std"], s["mean"] + s["std"], color=colors[policy], alpha=0.2
            )
        ax.set_xlabel("Arrived GPU workload (% of capacity)")
        ax.set_ylabel(label)
        ax.set_xlim(0, int(curves["x"].max()))
        ax.grid(True, alpha=0.3)
    axes[0].legend(title="policy", loc="upper left", fontsize="small")
    return save_figure(fig, path, title)


def save_figure(fig: Figure, path: Path, title: str = "", dpi: int = 120) -> Path:
    """Give ``fig`` its title, write it as PNG (creating the folder) and close it."""
    if title:
        fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
