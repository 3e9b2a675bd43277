"""Figures: allocation and fragmentation curves over arrived GPU load; how every figure is
saved (formats, resolution) and coloured (one colour-blind-safe colour per policy)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schedlab.errors import ConfigError
from schedlab.metrics.stats import LEVEL, aggregate
from schedlab.policies import PAPER_POLICIES

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (imported when a figure is drawn: it costs a
    second, which a run that draws nothing does not pay)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Okabe & Ito's colour-blind-safe palette (Color Universal Design).
OKABE_ITO = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
FORMATS = ("png", "pdf", "svg")


def policy_colors(policies: Sequence[str]) -> dict[str, str]:
    """A fixed colour per policy in every figure: the paper's six always get the same ones
    (fgd, bestfit, dotprod, packing, clustering, random in that order), others the rest."""
    order = ["fgd", "bestfit", "dotprod", "packing", "clustering", "random"]
    colors = {p: OKABE_ITO[order.index(p)] for p in PAPER_POLICIES}
    extra = [p for p in policies if p not in colors]
    for i, policy in enumerate(extra):
        colors[policy] = OKABE_ITO[(len(order) + i) % len(OKABE_ITO)]
    return colors


@dataclass(frozen=True)
class FigureOptions:
    """How figures are written: file formats (the first one's path is returned) and dpi."""

    formats: tuple[str, ...] = ("png",)
    dpi: int = 120


_OPTIONS: ContextVar[FigureOptions | None] = ContextVar("figure_options", default=None)


def parse_formats(text: str) -> tuple[str, ...]:
    """``png,pdf,svg`` as a tuple, each checked."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if not formats or unknown:
        raise ConfigError(f"--format {text!r}: expected a comma list of {', '.join(FORMATS)}")
    return formats


@contextmanager
def figure_options(formats: Sequence[str] = ("png",), dpi: int = 120) -> Iterator[None]:
    """Write every figure saved inside the block in ``formats`` at ``dpi``."""
    token = _OPTIONS.set(FigureOptions(tuple(formats), dpi))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


PANELS = (
    ("alloc_pct", "GPU allocation (% of capacity)"),
    ("frag_amount_pct", "Fragment amount (% of capacity)"),
    ("frag_ratio_pct", "Fragment ratio (% of free GPU)"),
)


def plot_curves(curves: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Plot mean curves per policy with a band of the 95 % confidence interval over seeds
    (Student t on the logit scale, so the band stays within 0-100 %; no band for one seed).

    ``curves`` is the long table of :func:`schedlab.report.tables.curves_frame`
    (columns policy, seed, x and one column per curve).
    """
    fig, axes = pyplot().subplots(1, len(PANELS), figsize=(5.2 * len(PANELS), 4.2), constrained_layout=True)
    policies = list(dict.fromkeys(curves["policy"]))
    colors = policy_colors(policies)
    stats = aggregate(curves, ["policy", "x"], [column for column, _ in PANELS])
    for ax, (column, label) in zip(axes, PANELS, strict=True):
        for policy in policies:
            s = stats[stats["policy"] == policy]
            x = s["x"].to_numpy()
            ax.plot(x, s[f"{column}_mean"], label=policy, linewidth=1.6, color=colors[policy])
            low, high = s[f"{column}_ci_low"].to_numpy(), s[f"{column}_ci_high"].to_numpy()
            if np.isfinite(low).any():
                ax.fill_between(x, low, high, color=colors[policy], alpha=0.2)
        ax.set_xlabel("Arrived GPU workload (% of capacity)")
        ax.set_ylabel(label)
        ax.set_xlim(0, int(curves["x"].max()))
        ax.grid(True, alpha=0.3)
    axes[0].legend(title="policy", loc="upper left", fontsize="small")
    seeds = int(curves["seed"].nunique())
    band = f"; band: {LEVEL:.0%} CI (Student t, logit scale)" if seeds > 1 else ""
    return save_figure(fig, path, f"{title}{band}" if title else "")


def save_figure(fig: Figure, path: Path, title: str = "", dpi: int | None = None) -> Path:
    """Give ``fig`` its title, write it in the formats of :func:`figure_options` (``path``
    with each format's suffix; creating the folder) and close it; return the first file."""
    options = _OPTIONS.get() or FigureOptions()
    if title:
        fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(f".{fmt}") for fmt in options.formats]
    for target in written:
        fig.savefig(target, dpi=dpi or options.dpi)
    pyplot().close(fig)
    return written[0]
