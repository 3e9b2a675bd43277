"""Figures of LLM serving: latency at an SLO's percentile against request rate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.report.figures import OKABE_ITO, pyplot, save_figure


def plot_latency(
    lines: Sequence[tuple[str, FloatArray, FloatArray]], slo: Any, path: Path, title: str
) -> Path:
    """Two panels (TTFT, TBT) of ``(label, rates, [[ttft, tbt], ...])`` lines in ms, each
    with the SLO drawn across; both axes on a log scale (latency explodes past saturation)."""
    fig, axes = pyplot().subplots(1, 2, figsize=(10.4, 4.2), constrained_layout=True)
    for k, (ax, name, target) in enumerate(zip(axes, ("TTFT", "TBT"), (slo.ttft, slo.tbt), strict=True)):
        for i, (label, rates, points) in enumerate(lines):
            values = np.asarray(points)[:, k] * 1000
            ax.plot(rates, values, marker="os^dv<>p"[i % 8], color=OKABE_ITO[i % len(OKABE_ITO)], label=label)
        ax.axhline(
            target * 1000, color="black", linestyle="--", linewidth=1, label=f"SLO {target * 1000:g} ms"
        )
        ax.set_xlabel("request rate (requests/s)")
        ax.set_ylabel(f"p{slo.percentile:g} {name} (ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3, which="both")
    axes[0].legend(fontsize="small")
    return save_figure(fig, path, title)
