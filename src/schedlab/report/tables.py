"""Tables over runs: curves averaged across seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from schedlab.fill import CURVES, FillResult

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


def mean_table(results: Sequence[FillResult], xs: Sequence[int] = TABLE_X) -> pd.DataFrame:
    """Per policy (in first-seen order): mean over seeds of allocation and fragment amount at ``xs``."""
    frame = curves_frame(results)
    frame = frame[frame["x"].isin(xs)]
    mean = frame.groupby(["policy", "x"], sort=False)[["alloc_pct", "frag_amount_pct"]].mean()
    order = list(dict.fromkeys(r.config.policy for r in results))
    columns = {
        f"{label}@{x}": mean[column].xs(x, level="x").reindex(order)
        for column, label in (("alloc_pct", "alloc"), ("frag_amount_pct", "frag"))
        for x in xs
    }
    return pd.DataFrame(columns)
