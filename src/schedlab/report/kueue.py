"""Figures of a Kueue replay: quota used per ClusterQueue over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schedlab.report.figures import OKABE_ITO, pyplot, save_figure

#: How a resource is drawn: its label and the divisor from Kueue's units.
UNITS = {"cpu": ("CPU cores", 1000), "memory": ("memory (GiB)", 2**30)}


def plot_usage(
    series: dict[str, dict[str, tuple[np.ndarray, np.ndarray, int]]], path: Path, title: str
) -> Path:
    """One panel per resource: each ClusterQueue's usage over time (a step line) and its
    nominal quota (dashed, same colour); usage above the dashed line is borrowed."""
    resources = list(series)
    fig, axes = pyplot().subplots(
        1, len(resources), figsize=(6.0 * len(resources), 4.2), constrained_layout=True
    )
    axes = np.atleast_1d(axes)
    for ax, resource in zip(axes, resources, strict=True):
        label, scale = UNITS.get(resource, (resource, 1))
        for i, (queue, (times, levels, nominal)) in enumerate(series[resource].items()):
            color = OKABE_ITO[i % len(OKABE_ITO)]
            hours = times / 3600
            ax.step(hours, levels / scale, where="post", color=color, linewidth=1.2, label=queue)
            if nominal:
                ax.axhline(nominal / scale, color=color, linestyle="--", linewidth=0.8)
        ax.set_xlabel("time (hours)")
        ax.set_ylabel(f"{label} in use")
        ax.grid(True, alpha=0.3)
    axes[0].legend(title="ClusterQueue (dashed: nominal quota)", fontsize="small")
    return save_figure(fig, path, title)
