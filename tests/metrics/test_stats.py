"""The statistics helper of every aggregate over seeds: known values."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedlab.metrics.stats import aggregate, bounds, describe, t_halfwidth

T_975_DF2 = 4.302652729911275  # Student t, 97.5 % quantile, 2 degrees of freedom (tables)
T_975_DF4 = 2.7764451051977987


def test_describe_gives_the_student_t_interval_on_the_log_scale() -> None:
    stats = describe([1.0, 2.0, 3.0])
    h = T_975_DF2 * 1.0 / math.sqrt(3) / 2.0  # t x se / mean
    expected = {"mean": 2.0, "std": 1.0, "n": 3, "ci_low": 2 * math.exp(-h), "ci_high": 2 * math.exp(h)}
    assert stats == pytest.approx(expected)
    five = describe([2.0, 4.0, 4.0, 5.0, 10.0])  # mean 5, sample std sqrt(9) = 3
    assert five["std"] == pytest.approx(3.0)
    assert five["ci_high"] == pytest.approx(5 * math.exp(T_975_DF4 * 3 / math.sqrt(5) / 5))
    # the case: a plain t interval went below zero ([-0.218, 8.784])
    spread = describe([0.5, 12.0, 0.3])
    assert 0 < spread["ci_low"] < spread["mean"] < spread["ci_high"]


def test_a_bounded_quantity_gets_the_logit_interval() -> None:
    stats = describe([90.0, 95.0, 100.0], upper=100.0)
    p, se = 0.95, 5.0 / math.sqrt(3) / 100
    logit, h = math.log(p / (1 - p)), T_975_DF2 * se / (p * (1 - p))
    assert stats["ci_low"] == pytest.approx(100 / (1 + math.exp(-(logit - h))))
    assert stats["ci_high"] == pytest.approx(100 / (1 + math.exp(-(logit + h))))
    assert describe([100.0, 100.0], upper=100.0)["ci_low"] == 100.0  # at the bound: no spread
    assert (
        bounds("alloc_mean_pct") == 100 and bounds("slo_attainment") == 1 and bounds("wait_mean") == math.inf
    )


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=12),
    st.sampled_from([math.inf, 100.0, 1.0]),
)
def test_intervals_stay_in_range_and_hold_the_mean(values: list[float], upper: float) -> None:
    values = [min(v, upper) for v in values]
    stats = describe(values, upper=upper)
    assert 0 <= stats["ci_low"] <= stats["mean"] * (1 + 1e-9) + 1e-12
    assert stats["mean"] <= stats["ci_high"] * (1 + 1e-9) + 1e-12 and stats["ci_high"] <= upper * (1 + 1e-12)


def test_one_run_has_no_spread_and_nans_are_left_out() -> None:
    one = describe([7.0, float("nan")])
    assert one["mean"] == 7.0 and one["n"] == 1
    assert math.isnan(one["std"]) and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    assert describe([])["n"] == 0 and math.isnan(describe([])["mean"])
    assert math.isnan(t_halfwidth(np.array([1.0]), np.array([1]))[0])
    assert t_halfwidth(np.ones((2, 3)), np.ones((2, 3))).shape == (2, 3)


def test_single_runs_do_not_import_scipy() -> None:
    """A one-seed ``fill`` or ``replay`` reports no interval and pays no scipy import."""
    code = (
        "import sys; from schedlab.metrics.stats import describe; describe([1.0]);"
        " print('scipy.special' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


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
    assert b["jct_ci_high"] == pytest.approx(2 * math.exp(T_975_DF2 / math.sqrt(3) / 2))
    assert (
        a["jct_mean"] == 5.0 and a["jct_n"] == 1 and math.isnan(a["jct_std"]) and math.isnan(a["jct_ci_low"])
    )
    assert describe([1.0, 2.0, 3.0])["ci_low"] == pytest.approx(b["jct_ci_low"])
