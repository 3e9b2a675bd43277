"""Figures fit for a paper: every format renders, titles say what was run (never a path),
one colour-blind-safe colour per policy, curves to the end of the tune ratio."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from schedlab.errors import ConfigError
from schedlab.report.figures import OKABE_ITO, parse_formats, policy_colors
from tests.test_cli import run_cli


def test_fill_curves_run_to_the_tune_ratio_and_figures_render_in_every_format(tmp_path: Path) -> None:
    out = tmp_path / "fill"
    args = ["fill", "--policy", "fgd,bestfit", "--seeds", "1-2", "--tune-ratio", "2.0"]
    done = run_cli(*args, "--out", str(out), "--format", "png,pdf,svg", "--dpi", "90", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {len(run["alloc_pct"]) for run in doc["runs"]} == {201}  # x = 0 .. 200
    point = next(p for p in doc["aggregate"] if p["policy"] == "fgd" and p["x"] == 200)
    assert point["alloc_pct_n"] == 2 and point["alloc_pct_ci_low"] <= point["alloc_pct_mean"]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = PdfReader(out / "curves.pdf")
    text = pdf.pages[0].extract_text()
    assert len(pdf.pages) == 1 and "Arrived GPU workload" in text
    assert "openb_pod_list_default.csv on openb_node_list_gpu_node.csv" in text and "tune ratio 2" in text
    assert "95% CI (Student t, logit scale)" in text and str(tmp_path) not in text and "/work" not in text
    svg = ET.parse(out / "curves.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter())) > 100


def test_replay_and_report_figures_take_formats_and_titles_hold_no_path(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    done = run_cli("replay", "--target-load", "0.9", "--out", str(out), "--format", "pdf", "--json")
    assert done.returncode == 0, done.stderr
    text = PdfReader(out / "timeline.pdf").pages[0].extract_text()
    assert "openb_pod_list_default.csv (7,255 tasks) on openb_node_list_gpu_node.csv, load 0.9: fgd" in text
    assert str(Path.cwd()) not in text and "/work" not in text and not (out / "timeline.png").exists()
    bad = run_cli("replay", "--format", "gif")
    assert bad.returncode == 2 and "error: --format 'gif'" in bad.stderr


def test_one_colour_blind_safe_colour_per_policy_everywhere() -> None:
    a = policy_colors(["fgd", "bestfit", "mine"])
    b = policy_colors(["random", "fgd", "mine"])
    assert a["fgd"] == b["fgd"] == OKABE_ITO[0] and a["mine"] == b["mine"]
    assert len({a[p] for p in ("fgd", "bestfit", "dotprod", "packing", "clustering", "random", "mine")}) == 7
    assert parse_formats("PNG, svg") == ("png", "svg")
    with pytest.raises(ConfigError):
        parse_formats("")


def test_replay_sweep_figures_tell_every_setting_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fifo and qos lines of one policy share its colour but not line and marker; an all-zero
    metric gets no panel; the title names the node list and what varied."""
    import pandas as pd

    from schedlab.report import replays

    shown: dict[str, object] = {}

    def keep(fig: object, path: Path, title: str = "") -> Path:
        shown.update(fig=fig, title=title)
        return path

    monkeypatch.setattr(replays, "save_figure", keep)
    rows = []
    for policy in ("fgd", "bestfit"):
        for queue in ("fifo", "qos"):
            for load in (0.5, 0.9):
                row = {"trace": "jobs.csv", "policy": policy, "queue": queue, "load": load, "runs": 2}
                row["nodes"] = "/data/nodes10.csv"
                for metric, _ in replays.PANELS:
                    value = 0.0 if metric == "preemptions" else load * 100
                    row |= {f"{metric}_mean": value, f"{metric}_ci_low": value, f"{metric}_ci_high": value}
                    row[f"{metric}_n"] = 2
                rows.append(row)
    part = pd.DataFrame(rows)
    replays._figure(part, "load", ["policy", "queue"], tmp_path / "f.png", "jobs.csv")
    axes = [ax for ax in shown["fig"].axes if ax.get_visible()]  # type: ignore[attr-defined]
    assert len(axes) == len(replays.PANELS) - 1  # no preemptions panel: all zero
    lines = {line.get_label(): line for line in axes[0].get_lines()}
    fifo, qos = lines["fgd, fifo"], lines["fgd, qos"]
    assert fifo.get_color() == qos.get_color() != lines["bestfit, fifo"].get_color()
    assert (fifo.get_linestyle(), fifo.get_marker()) != (qos.get_linestyle(), qos.get_marker())
    assert (lines["bestfit, fifo"].get_linestyle(), lines["bestfit, fifo"].get_marker()) == (
        fifo.get_linestyle(),
        fifo.get_marker(),
    )
    assert "jobs.csv on nodes10.csv" in str(shown["title"]) and "policy, queue, load varied" in str(
        shown["title"]
    )
