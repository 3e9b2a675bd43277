"""The README's worked example: a user policy in its own file, used from the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.plugins import load_plugin
from tests.conftest import placer, shape, three_nodes

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "worstfit.py"  # round-1 protocol
SPREAD = Path(__file__).resolve().parents[1] / "examples" / "spread.py"  # the README's example


def test_worstfit_example_chooses_the_emptiest_node() -> None:
    load_plugin(str(EXAMPLE))
    cluster = three_nodes()
    # Free GPU after a 300-milli task: n0 3100-300, n1 2000-300, n2 7000-300 -> scores 35, 21, 83.
    chosen = placer(cluster, "worstfit").select(shape(cluster, 1000, 1000, 1, 300))
    assert chosen is not None and chosen.node == 2 and chosen.gpus == (1,)


def test_plugin_policy_from_the_cli() -> None:
    args = ["--plugin", str(EXAMPLE), "fill", "--policy", "worstfit", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["runs"][0]
    assert run["policy"] == "worstfit" and run["placed"] > 7000


def test_broken_plugin_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    result = CliRunner().invoke(cli, ["--plugin", str(bad), "fill"])
    assert result.exit_code != 0
    assert "failed to load: RuntimeError: boom" in str(result.exception)


def test_readme_example_policy_runs_on_both_protocol_steps() -> None:
    load_plugin(str(SPREAD))
    cluster = three_nodes()
    # Free GPU after a 300-milli task: n0 3100-300, n1 2000-300, n2 7000-300 -> 35, 21, 83;
    # the sharing GPU is the default step's: best fit on n2 (GPUs 1..7 all free) -> GPU 1.
    chosen = placer(cluster, "spread").select(shape(cluster, 1000, 1000, 1, 300))
    assert chosen is not None and chosen.node == 2 and chosen.gpus == (1,)
    result = CliRunner().invoke(cli, ["--plugin", str(SPREAD), "fill", "--policy", "spread", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["placed"] > 7000


def test_round1_policy_warns_that_its_protocol_is_deprecated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = EXAMPLE.read_text().replace('name = "worstfit"', 'name = "worstfit-copy"')
    copy = tmp_path / "worstfit_copy.py"
    copy.write_text(source)
    with caplog.at_level(logging.WARNING):
        load_plugin(str(copy))
    assert any("round-1 protocol" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_a_round1_policy_is_named_as_itself_when_the_reference_path_runs(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    rows = [f"t{i},{i}.0,60.0,1000,1024,1,1000,BE," for i in range(4)]
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,gpu_spec\n"
        + "\n".join(rows)
        + "\n"
    )
    args = [
        "--plugin",
        str(EXAMPLE),
        "replay",
        "--jobs",
        str(jobs),
        "--policy",
        "worstfit",
        "--compiled",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "placement policy 'worstfit' has no compiled form" in result.stderr
