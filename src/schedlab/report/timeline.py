"""Figure of a simulation over time: GPU allocation and fragmentation, queue and running tasks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from schedlab.report.figures import save_figure


def plot_timeline(
    series: pd.DataFrame, frag: pd.DataFrame, capacity_milli: int, path: Path, title: str = ""
) -> Path:
    """Two panels over time (hours): allocation and fragment amount (% of GPU capacity);
    waiting and running tasks."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, constrained_layout=True)
    hours = series["time"] / 3600
    cap = max(capacity_milli, 1)
    top.step(hours, series["allocated_milli"] * 100 / cap, where="post", label="GPU allocated", linewidth=1)
    top.plot(frag["time"] / 3600, frag["frag_milli"] * 100 / cap, label="GPU fragment amount", linewidth=1.2)
    top.set_ylabel("% of GPU capacity")
    top.set_ylim(0, 100)
    top.grid(True, alpha=0.3)
    top.legend(loc="upper right", fontsize="small")
    bottom.step(hours, series["queued"], where="post", label="waiting", color="C3", linewidth=1)
    bottom.step(hours, series["running"], where="post", label="running", color="C2", linewidth=1)
    bottom.set_ylabel("tasks")
    bottom.set_xlabel("Simulated time (hours)")
    bottom.grid(True, alpha=0.3)
    bottom.legend(loc="upper right", fontsize="small")
    return save_figure(fig, path, title)
