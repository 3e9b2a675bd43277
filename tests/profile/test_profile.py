"""``schedlab profile`` with the synthetic backend: the plan, the folder it writes (read back
by ``load_profiles``), resuming, MPS rows and clear errors."""

from __future__ import annotations

import csv
import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedlab.arrays import FloatArray
from schedlab.cli import cli
from schedlab.errors import ConfigError
from schedlab.interference import load_profiles, make_model
from schedlab.profile import FakeBackend, Spec, build_plan, parse_specs, run_plan
from tests.test_cli import run_cli

SPECS = parse_specs("resnet50,bert", "1,8", "resnet50/32")
SETTINGS = {"seconds": 0.2, "warmup": 0.1}


def test_the_plan_measures_each_alone_every_pair_and_each_alone_again() -> None:
    specs = parse_specs("resnet50,mobilenet,vit,bert,gpt2", "1,8,32", "resnet50/32,bert/16")
    assert len(specs) == 17 and specs[-1].name == "bert_train/16"
    plan = build_plan(specs)
    sharing = [m.sharing for m in plan.measurements]
    assert sharing == ["alone"] * 17 + ["time-slicing"] * 153 + ["alone"] * 17  # 153 = 17 * 18 / 2
    pairs = {m.members for m in plan.measurements if m.sharing == "time-slicing"}
    assert len(pairs) == 153 and (0, 0) in pairs and all(a <= b for a, b in pairs)


def test_a_sample_of_groups_is_seeded_and_distinct() -> None:
    plan = build_plan(SPECS, "7", size=3, seed=4)
    groups = [m.members for m in plan.measurements if m.sharing == "time-slicing"]
    assert len(groups) == len(set(groups)) == 7 and all(len(g) == 3 for g in groups)
    assert groups == [m.members for m in build_plan(SPECS, "7", size=3, seed=4).measurements[5:12]]
    everything = build_plan(SPECS, "1000", size=3)  # more than exist: all of them
    assert sum(m.sharing == "time-slicing" for m in everything.measurements) == math.comb(5 + 2, 3)


def test_mps_measures_each_alone_and_the_groups_per_share() -> None:
    plan = build_plan(SPECS, "all", mps_pcts=(100, 50))
    mps = [m for m in plan.measurements if m.sharing == "mps"]
    assert len(mps) == 2 * (5 + 15) and {m.mps_pct for m in mps} == {100, 50}


@pytest.mark.parametrize(
    ("models", "batches", "train", "message"),
    [
        ("resnet", "1", "", "unknown model 'resnet'"),
        ("bert", "x", "", "whole number"),
        ("bert", "0", "", "must be in 1..4096"),
        ("", "", "gpt3/8", "known model"),
        ("", "", "", "nothing to measure"),
    ],
)
def test_bad_configurations_are_clear_errors(models: str, batches: str, train: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_specs(models, batches, train)


def test_the_folder_reads_back_as_profiles_and_fits(tmp_path: Path) -> None:
    plan = build_plan(SPECS)
    assert run_plan(plan, FakeBackend(1), tmp_path, SETTINGS) == len(plan.measurements) == 5 + 15 + 5
    profiles = load_profiles(tmp_path)
    assert list(profiles.configs) == [s.name for s in SPECS]
    assert len(profiles.pairs) == 5 * 5  # every ordered pair, each configuration with itself
    fake = FakeBackend()
    for (a, b), ratio in profiles.pairs.items():
        sa, sb = (next(s for s in SPECS if s.name == n) for n in (a, b))
        own, other = fake.solo_ms(sa), fake.solo_ms(sb)
        assert ratio == pytest.approx((own + min(0.5 * other, 3 * own)) / own, rel=0.03)
    train = profiles.configs["resnet50_train/32"]
    assert train.kind == "train" and train.batch == 32 and train.gpu_mem_mib > 0
    model = make_model("measured", profiles)
    slowdown = model.slowdowns(["bert/1", "resnet50/8"])[0]
    assert slowdown == pytest.approx(profiles.pairs[("bert/1", "resnet50/8")])


class Interrupted(Exception):
    pass


class Failing(FakeBackend):
    """Stops after ``runs`` measurements, as a killed run would."""

    def __init__(self, runs: int) -> None:
        super().__init__()
        self.runs = runs

    def run(
        self, members: Sequence[Spec], mps_pct: int | None, seconds: float, warmup: float
    ) -> list[FloatArray]:
        if self.runs == 0:
            raise Interrupted
        self.runs -= 1
        return super().run(members, mps_pct, seconds, warmup)


def test_an_interrupted_profile_goes_on_where_it_stopped(tmp_path: Path) -> None:
    plan = build_plan(SPECS, mps_pcts=(50,))
    with pytest.raises(Interrupted):
        run_plan(plan, Failing(9), tmp_path, SETTINGS)
    assert run_plan(plan, FakeBackend(), tmp_path, SETTINGS) == len(plan.measurements) - 9
    with (tmp_path / "measurements.csv").open() as f:
        ids = [int(row["measurement"]) for row in csv.DictReader(f)]
    assert sorted(set(ids)) == list(range(1, len(plan.measurements) + 1))
    assert len(ids) == sum(len(m.members) for m in plan.measurements)
    profiles = load_profiles(tmp_path)
    assert profiles.mps_alone[("bert/1", 50)] == pytest.approx(1.25, rel=0.03)
    with pytest.raises(ConfigError, match="other settings"):
        run_plan(plan, FakeBackend(), tmp_path, {**SETTINGS, "seconds": 1.0})


def test_the_command_writes_a_profile_folder(tmp_path: Path) -> None:
    out = tmp_path / "h"
    args = ["profile", "--backend", "fake", "--out", str(out), "--models", "gpt2", "--batches", "1,32"]
    result = CliRunner().invoke(cli, [*args, "--train", "", "--seconds", "0.1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "gpt2/32" in result.output and "median slowdown" in result.output
    assert {p.name for p in out.iterdir()} == {"configs.csv", "measurements.csv", "README.md", "profile.json"}
    assert "fake (synthetic latencies" in (out / "README.md").read_text()
    again = CliRunner().invoke(cli, [*args, "--train", "", "--seconds", "0.1", "--no-progress"])
    assert again.exit_code == 0 and "holds 7 of 7 measurements" in again.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pairs", "some"], "--pairs must be 'all' or a number"),
        (["--mps", "--mps-pcts", "150"], "--mps-pcts: an SM share must be a whole number in 1..100"),
        (["--models", "alexnet"], "unknown model 'alexnet'"),
        (["--seconds", "nan"], "'nan' is not a finite number"),
    ],
)
def test_bad_options_are_one_error_line(tmp_path: Path, extra: list[str], message: str) -> None:
    result = run_cli("profile", "--backend", "fake", "--out", str(tmp_path), *extra)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed here")
def test_the_gpu_backend_without_pytorch_says_how_to_install_it(tmp_path: Path) -> None:
    result = run_cli("profile", "--out", str(tmp_path))
    assert result.returncode == 2 and "pip install 'schedlab[profile]'" in result.stderr
