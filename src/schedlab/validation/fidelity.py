"""schedlab vs the published ATC'23 numbers on the default openb trace."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from schedlab.fill import FillConfig, FillResult, run_fill
from schedlab.policies import PAPER_POLICIES
from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.validation import atc23


def fidelity_table(
    seeds: tuple[int, ...] = atc23.SEEDS,
    on_run: Callable[[FillResult], None] | None = None,
) -> pd.DataFrame:
    """Per policy: schedlab's mean over ``seeds`` next to the published mean.

    Columns: alloc@100 (ours, published, diff, std across seeds), frag amount @90 (ours,
    published, diff), frag ratio @80 (ours, published).
    """
    tasks = load_tasks(default_pods_path())
    nodes = load_nodes(default_nodes_path())
    rows = []
    for policy in PAPER_POLICIES:
        runs = []
        for seed in seeds:
            result = run_fill(tasks, nodes, FillConfig(policy, seed))
            runs.append(result)
            if on_run is not None:
                on_run(result)
        alloc = np.array([r.curves["alloc_pct"][100] for r in runs])
        frag = np.array([r.curves["frag_amount_pct"][90] for r in runs])
        ratio = np.array([r.curves["frag_ratio_pct"][80] for r in runs])
        rows.append(
            {
                "policy": policy,
                "alloc100": alloc.mean(),
                "alloc100_pub": atc23.ALLOC_PCT[policy][100],
                "alloc100_diff": alloc.mean() - atc23.ALLOC_PCT[policy][100],
                "alloc100_std": alloc.std(),
                "frag90": frag.mean(),
                "frag90_pub": atc23.FRAG_AMOUNT_PCT_90[policy],
                "frag90_diff": frag.mean() - atc23.FRAG_AMOUNT_PCT_90[policy],
                "ratio80": ratio.mean(),
                "ratio80_pub": atc23.FRAG_RATIO_PCT_80[policy],
            }
        )
    return pd.DataFrame(rows).set_index("policy")


def markdown(table: pd.DataFrame, n_seeds: int) -> str:
    """The table as Markdown, as shown in the README."""
    lines = [
        f"| policy | alloc % @100 schedlab | published | diff | std ({n_seeds} seeds) "
        "| frag amount % @90 schedlab | published | diff | frag ratio % @80 schedlab | published |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for policy, r in table.iterrows():
        cells = [
            f"{r.alloc100:.2f}",
            f"{r.alloc100_pub:.2f}",
            f"{r.alloc100_diff:+.2f}",
            f"{r.alloc100_std:.2f}",
            f"{r.frag90:.2f}",
            f"{r.frag90_pub:.2f}",
            f"{r.frag90_diff:+.2f}",
            f"{r.ratio80:.2f}",
            f"{r.ratio80_pub:.2f}",
        ]
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
