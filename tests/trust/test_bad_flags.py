"""Bad flags, sweep configurations and policy faults: one clear error line and exit status 2,
never a traceback; warnings for flags that have no effect (bad files: ``test_bad_inputs``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trust.test_bad_inputs import NODE, J, N, run, write

FLAG_CASES = [
    (["fill", "--tune-ratio", "nan"], "Invalid value for '--tune-ratio': 'nan' is not a finite number."),
    (["fill", "--tune-ratio", "inf"], "Invalid value for '--tune-ratio': inf is not in the range 0<x<=100."),
    (["fill", "--seeds", "-1"], "bad seed list '-1': seeds must not be negative"),
    (["fill", "--seeds", "1-100000000"], "seed range '1-100000000' is too long (at most 10000 seeds)"),
    (["fill", "--seeds", "3,3"], "seed list '3,3' repeats a seed"),
    (["fill", "--policy", "fgd,fgd"], "policy list 'fgd,fgd' names 'fgd' twice"),
    (
        ["replay", "--seed", "-3"],
        "Invalid value for '--seed': -3 is not in the range 0<=x<=9223372036854775807.",
    ),
    (
        ["replay", "--policy", "fgd,bestfit"],
        "--policy 'fgd,bestfit': replay runs one placement policy (a sweep runs several)",
    ),
    (
        ["synth", "--tasks", "10", "--load", "inf", "--out", "x.csv"],
        "Invalid value for '--load': inf is not in the range 0<x<=1000.",
    ),
    (
        ["synth", "--tasks", "10", "--durations", "exp:nan", "--out", "x.csv"],
        "bad durations 'exp:nan': the value must be positive and below 2^53 seconds",
    ),
    (
        ["synth", "--tasks", "100000000000", "--out", "x.csv"],
        "Invalid value for '--tasks': 100000000000 is not in the range 1<=x<=20000000.",
    ),
]


@pytest.mark.parametrize(("args", "message"), FLAG_CASES, ids=[" ".join(c[0][:3]) for c in FLAG_CASES])
def test_bad_flag(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1].startswith(f"error: {message}")


def test_victim_without_preemption_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "replay", "--victim", "newest", "--policy", "bestfit", "--json")
    assert code == 0
    assert "warning: --victim newest has no effect without preemption (--preempt or --preemption)" in err


def test_speed_row_for_an_absent_model_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    speeds = write(tmp_path, "s.csv", "model,speed\nA100,2\n")
    code, _, err = run(capsys, "replay", "--policy", "bestfit", "--speeds", speeds, "--json")
    assert code == 0
    assert f"warning: {speeds}:2: field 'model': GPU model 'A100' is on no node; the row has no effect" in err


@pytest.mark.parametrize("command", ["fill", "replay"])
def test_out_is_checked_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    blocker = write(tmp_path, "afile", "x")
    code, out, err = run(capsys, command, "--policy", "bestfit", "--out", f"{blocker}/sub")
    assert (code, out) == (2, "")
    assert err.strip() == f"error: --out {blocker}/sub: {blocker} is a file, not a folder"


SWEEP_CASES = [
    ('policies = "fgd"\n', "key 'policies': expected a non-empty list of str, got 'fgd'"),
    ("seeds = [1.5]\n", "key 'seeds': expected int values, got 1.5"),
    ("seeds = [true]\n", "key 'seeds': expected int values, got True"),
    ("policies = []\n", "key 'policies': expected a non-empty list of str, got []"),
    ('tune_ratios = ["a"]\n', "key 'tune_ratios': expected int or float values, got 'a'"),
    ("tune_ratios = [nan]\n", "bad tune ratio nan in '[nan]': must be a number in (0, 100]"),
    (
        "foo = 1\n",
        "unknown key(s) ['foo'] (known: ['data_dir', 'kind', 'nodes', 'policies', 'seeds', 'tune_ratios',"
        " 'workloads'])",
    ),
    ("nodes = 5\n", "key 'nodes': expected a non-empty string, got 5"),
]


@pytest.mark.parametrize(("toml", "message"), SWEEP_CASES, ids=[c[0].strip() for c in SWEEP_CASES])
def test_bad_sweep_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, message: str
) -> None:
    config = write(tmp_path, "sweep.toml", toml)
    code, out, err = run(
        capsys, "sweep", "--config", config, "--out", str(tmp_path / "store"), "--workers", "1"
    )
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == f"error: {config}: {message}"
    assert not (tmp_path / "store" / "runs").exists()


PLUGINS = {
    "raises": (
        "def score_nodes(self, view, shape, nodes):\n        raise RuntimeError('kaput')",
        "placement policy 'bad' raised RuntimeError in score_nodes: kaput",
    ),
    "length": (
        "def score_nodes(self, view, shape, nodes):\n        return np.zeros(len(nodes) + 1, dtype=np.int64)",
        "placement policy 'bad' must return one score per node: 2 nodes, got shape (3,)",
    ),
    "nan": (
        "def score_nodes(self, view, shape, nodes):\n        return np.full(len(nodes), np.nan)",
        "placement policy 'bad' must return integer scores, got non-finite scores",
    ),
    "range": (
        "def score_nodes(self, view, shape, nodes):\n        return np.full(len(nodes), 2**41)",
        "placement policy 'bad' returned score 2199023255552, beyond +/- 2**40",
    ),
    "gpu": (
        "def score_nodes(self, view, shape, nodes):\n        return np.zeros(len(nodes), dtype=np.int64)\n"
        "    def choose_gpus(self, view, shape, node):\n        return [0]",
        "placement policy 'bad' chose an impossible placement: a task of 1 x 1000 GPU milli, 1000 CPU milli,"
        " 1000 MiB does not fit node n1 on GPUs [0]: GPU 0 has 0 milli free, 1000 needed",
    ),
}


@pytest.mark.parametrize("fault", list(PLUGINS))
def test_policy_faults_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    body, message = PLUGINS[fault]
    plugin = write(
        tmp_path,
        f"bad_{fault}.py",
        "import numpy as np\nfrom schedlab.policies import PlacementPolicy, register\n\n\n@register\n"
        f"class Bad(PlacementPolicy):\n    name = 'bad_{fault}'\n\n    {body}\n",
    )
    nodes = write(tmp_path, "n.csv", N + NODE + "n1,64000,262144,2,V100\n")
    jobs = write(tmp_path, "j.csv", J + "".join(f"j{i},{i},100,1000,1000,1,1000,,LS,u\n" for i in range(3)))
    code, out, err = run(
        capsys,
        "--plugin",
        plugin,
        "replay",
        "--policy",
        f"bad_{fault}",
        "--jobs",
        jobs,
        "--nodes",
        nodes,
        "--json",
    )
    assert (code, out) == (2, "")
    task = "j1" if fault == "gpu" else "j0"
    expected = message.replace("'bad'", f"'bad_{fault}'")
    assert err.strip().splitlines()[-1] == f"error: task {task}: {expected}"
