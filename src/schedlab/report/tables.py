"""Tables over runs: curves averaged across seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from schedlab.fill import CURVES, FillResult
from schedlab.metrics.stats import aggregate

#: Arrived-load points shown in summary tables (% of GPU capacity).
TABLE_X = (80, 90, 100, 130)


def curves_frame(results: Sequence[FillResult]) -> pd.DataFrame:
    """Long table: one row per (policy, seed, x) with the three curve values."""
    frames = []
    for r in results:
        n = len(r.curves[CURVES[0]])
        frames.append(
            pd.DataFrame(
                {"policy": r.config.policy, "seed": r.config.seed, "x": np.arange(n)}
                | {name: r.curves[name] for name in CURVES}
            )
        )
    return pd.concat(frames, ignore_index=True)


def curve_stats(results: Sequence[FillResult]) -> pd.DataFrame:
    """Per policy and x: every curve's mean, std, n and 95 % interval over seeds (see metrics.stats)."""
    return aggregate(curves_frame(results), ["policy", "x"], list(CURVES))


def mean_table(results: Sequence[FillResult], xs: Sequence[int] = TABLE_X) -> pd.DataFrame:
    """Per policy (in first-seen order), for allocation and fragment amount at ``xs``: the
    mean over seeds (``alloc@x``) and its 95 % interval (``alloc@x low``, ``alloc@x high``; NaN
    for one seed)."""
    stats = curve_stats(results)
    stats = stats[stats["x"].isin(xs)].set_index(["policy", "x"])
    order = list(dict.fromkeys(r.config.policy for r in results))
    columns = {}
    for column, label in (("alloc_pct", "alloc"), ("frag_amount_pct", "frag")):
        for x in xs:
            if x not in stats.index.get_level_values("x"):
                continue
            at = stats.xs(x, level="x").reindex(order)
            columns[f"{label}@{x}"] = at[f"{column}_mean"]
            columns[f"{label}@{x} low"] = at[f"{column}_ci_low"]
            columns[f"{label}@{x} high"] = at[f"{column}_ci_high"]
    return pd.DataFrame(columns)
