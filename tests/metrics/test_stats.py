"""The statistics helper of every aggregate over seeds: known values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schedlab.metrics.stats import aggregate, describe, t_halfwidth

T_975_DF2 = 4.302652729911275  # Student t, 97.5 % quantile, 2 degrees of freedom (tables)
T_975_DF4 = 2.7764451051977987


def test_describe_gives_the_student_t_interval() -> None:
    stats = describe([1.0, 2.0, 3.0])
    half = T_975_DF2 * 1.0 / math.sqrt(3)
    assert stats == pytest.approx({"mean": 2.0, "std": 1.0, "n": 3, "ci_low": 2 - half, "ci_high": 2 + half})
    five = describe([2.0, 4.0, 4.0, 5.0, 10.0])  # mean 5, sample std sqrt(9) = 3
    assert five["std"] == pytest.approx(3.0)
    assert five["ci_high"] - five["mean"] == pytest.approx(T_975_DF4 * 3 / math.sqrt(5))


def test_one_run_has_no_spread_and_nans_are_left_out() -> None:
    one = describe([7.0, float("nan")])
    assert one["mean"] == 7.0 and one["n"] == 1
    assert math.isnan(one["std"]) and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    assert describe([])["n"] == 0 and math.isnan(describe([])["mean"])
    assert math.isnan(t_halfwidth(np.array([1.0]), np.array([1]))[0])


def test_aggregate_groups_in_first_seen_order_with_every_statistic() -> None:
    frame = pd.DataFrame(
        {
            "policy": ["b", "b", "b", "a", "a"],
            "jct": [1.0, 2.0, 3.0, 5.0, np.nan],
        }
    )
    out = aggregate(frame, ["policy"], ["jct"])
    assert list(out["policy"]) == ["b", "a"] and list(out["runs"]) == [3, 2]
    assert list(out.columns) == [
        "policy",
        "runs",
        *(f"jct_{s}" for s in ("mean", "std", "n", "ci_low", "ci_high")),
    ]
    b, a = out.iloc[0], out.iloc[1]
    assert b["jct_mean"] == 2.0 and b["jct_std"] == 1.0 and b["jct_n"] == 3
    assert b["jct_ci_high"] == pytest.approx(2 + T_975_DF2 / math.sqrt(3))
    assert (
        a["jct_mean"] == 5.0 and a["jct_n"] == 1 and math.isnan(a["jct_std"]) and math.isnan(a["jct_ci_low"])
    )
    assert describe([1.0, 2.0, 3.0])["ci_low"] == pytest.approx(b["jct_ci_low"])
