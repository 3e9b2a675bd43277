"""schedlab report: every figure is written and report.md's numbers equal summary.csv."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.sweep.backends import LocalBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.matrix import expand
from schedlab.sweep.store import ResultStore
from tests.sweep.test_sweep import matrix, small_data


def test_report_figures_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(expand(matrix(small_data(tmp_path / "data"))), ResultStore(out), LocalBackend(1), {})
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["curves_cpu050.png", "curves_default.png", "family_cpu.png"]
    for name in figures:
        assert (out / "figures" / name).stat().st_size > 10_000
    summary = pd.read_csv(out / "summary.csv")
    text = (out / "report.md").read_text()

    # "| default | 90.83 [89.12, 92.56] (sd 0.19, n 2) | ..." rows of the allocation tables at
    # x = 100: mean [the 95 % interval, Student t on the logit scale], the sample std and n.
    at100 = summary[summary["x"] == 100].set_index(["workload", "policy"])
    policies = ["random", "bestfit", "fgd"]
    rows = re.findall(r"^\| (default|cpu050) \| (.+) \|$", text, flags=re.M)
    assert len(rows) == 4  # the overall table and the cpu family's table, 2 workloads each
    cell_re = re.compile(r"([\d.]+) \[([\d.]+), ([\d.]+)\] \(sd ([\d.]+), n (\d+)\)")
    for workload, cells in rows:
        for policy, cell in zip(policies, cells.split(" | "), strict=True):
            match = cell_re.fullmatch(cell)
            assert match is not None, cell
            mean, low, high, std, n = (float(v) for v in match.groups())
            row = at100.loc[(workload, policy)]
            assert mean == round(row["alloc_mean"], 2) and std == round(row["alloc_std"], 2) and n == 2
            assert (low, high) == (round(row["alloc_ci_low"], 2), round(row["alloc_ci_high"], 2))
            p = row["alloc_mean"] / 100
            h = 12.706204736174707 * row["alloc_std"] / 2**0.5 / 100 / (p * (1 - p))  # t(0.975, 1)
            assert high == round(100 / (1 + math.exp(-(math.log(p / (1 - p)) + h))), 2)

    # Per-workload tables: policy rows with alloc @80/90/100/130, frag amount @90, frag ratio @80.
    for workload in ("default", "cpu050"):
        section = text.split(f"## Workload {workload}")[1].split("## ")[0]
        for policy in policies:
            cells = re.search(rf"^\| {policy} \| (.+) \|$", section, flags=re.M)
            assert cells is not None
            s = summary[(summary["workload"] == workload) & (summary["policy"] == policy)].set_index("x")
            expected = [s.loc[x, "alloc_mean"] for x in (80, 90, 100, 130)]
            expected += [s.loc[90, "frag_amount_mean"], s.loc[80, "frag_ratio_mean"]]
            means = [float(v.split(" ")[0]) for v in cells.group(1).split(" | ")]
            assert means == [round(v, 2) for v in expected]


def test_report_on_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code != 0
    assert "no finished runs" in str(result.exception)
