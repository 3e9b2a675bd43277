"""Profiles and interference models: measured pairs reproduced exactly, groups by the
additive rule, cross-validation, and the `schedlab interference` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.cli import cli
from schedlab.errors import ConfigError, TraceError
from schedlab.interference import (
    Sharing,
    default_profiles_path,
    held_out,
    leave_one_config_out,
    leave_one_pair_out,
    load_profiles,
    make_model,
)
from tests.test_cli import run_cli

PROFILES = load_profiles()
MEASURED = make_model("measured", PROFILES)
H200 = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-colocation-h200"


def raw_p50(sharing: str, config: str, other: str = "") -> float:
    """The mean p50 of ``config``'s rows in the measurements file (computed independently)."""
    rows = pd.read_csv(default_profiles_path() / "measurements.csv", keep_default_na=False)
    model, batch = config.split("/")
    kind = "train" if model.endswith("_train") else "infer"
    rows = rows[
        (rows["sharing"] == sharing)
        & (rows["model"] == model.removesuffix("_train"))
        & (rows["batch"] == int(batch))
        & (rows["kind"] == kind)
        & (rows["co_runners"] == other)
    ]
    assert len(rows)
    return float(rows["p50_ms"].mean())


def test_profiles_of_the_embedded_directory() -> None:
    assert len(PROFILES.configs) == 17
    assert PROFILES.configs["bert_train/16"].kind == "train"
    assert PROFILES.configs["resnet50/1"].solo["p50_ms"] == pytest.approx(raw_p50("alone", "resnet50/1"))
    assert len(PROFILES.pairs) == 17 * 17  # every ordered pair, self-pairs included


def test_the_measured_model_reproduces_every_measured_pair() -> None:
    for (a, b), _ in PROFILES.pairs.items():
        predicted = MEASURED.slowdowns([a, b])[0] * PROFILES.configs[a].solo["p50_ms"]
        assert predicted == pytest.approx(raw_p50("time-slicing", a, b), rel=1e-12)


def test_groups_follow_the_additive_rule() -> None:
    a, b, c = "resnet50/1", "bert/1", "gpt2/8"
    s = MEASURED.slowdowns([a, b, c])
    pair = PROFILES.pairs
    assert s[0] == pytest.approx(1 + (pair[(a, b)] - 1) + (pair[(a, c)] - 1))
    assert s[2] == pytest.approx(1 + (pair[(c, a)] - 1) + (pair[(c, b)] - 1))
    twice = MEASURED.slowdowns(["vit/8", "vit/8"])
    assert twice[0] == twice[1] == pytest.approx(pair[("vit/8", "vit/8")])
    assert MEASURED.slowdowns(["vit/8"]).tolist() == [1.0]


@settings(max_examples=60, deadline=None)
@given(
    group=st.lists(st.sampled_from(sorted(PROFILES.configs)), min_size=1, max_size=5), seed=st.integers(0, 99)
)
def test_a_member_s_slowdown_does_not_depend_on_the_order(group: list[str], seed: int) -> None:
    order = np.random.default_rng(seed).permutation(len(group))
    for name in ("measured", "features", "groups", "none"):
        model = make_model(name, PROFILES)
        np.testing.assert_allclose(
            model.slowdowns([group[i] for i in order]), model.slowdowns(group)[order], rtol=1e-12
        )
        assert (model.slowdowns(group) > 0).all()


def test_none_costs_nothing_and_mps_uses_its_measurements() -> None:
    assert make_model("none", PROFILES).slowdowns(["bert/1", "bert/32", "vit/1"]).tolist() == [1.0] * 3
    mps = Sharing("mps", 50)
    alone = PROFILES.mps_alone[("bert/8", 50)]
    assert MEASURED.slowdowns(["bert/8"], mps)[0] == pytest.approx(alone)
    pair = PROFILES.mps_pairs[("bert/8", "gpt2/8", 50)]
    assert MEASURED.slowdowns(["bert/8", "gpt2/8"], mps)[0] == pytest.approx(alone * pair)
    with pytest.raises(ConfigError, match=r"--mps-pct must be in 1\.\.100"):
        Sharing("mps", 0)


def test_features_cover_a_configuration_without_pair_measurements() -> None:
    held_out = PROFILES.without(configs={"vit/32"})
    assert not [k for k in held_out.pairs if "vit/32" in k]
    model = make_model("features", held_out)
    predicted = model.slowdowns(["vit/32", "bert/1"])
    assert np.isfinite(predicted).all() and (predicted > 1).all()


def test_cross_validated_errors() -> None:
    pair = leave_one_pair_out("measured", PROFILES).summary()
    config = leave_one_config_out("features", PROFILES).summary()
    assert pair["predictions"] == 289 and config["predictions"] == 561
    assert pair["median_rel_error"] < 0.10 and pair["p90_rel_error"] < 0.25
    assert config["median_rel_error"] < 0.12 and config["p90_rel_error"] < 0.35
    none = leave_one_pair_out("none", PROFILES).summary()
    assert none["median_rel_error"] > 0.4  # sharing is not free: the baseline is far off


@pytest.mark.skipif(not H200.is_dir(), reason="needs ../shared/data")
def test_another_gpu_s_profile_directory_loads() -> None:
    h200 = load_profiles(H200)
    assert set(h200.configs) == set(PROFILES.configs) and not h200.mps_pairs
    assert leave_one_pair_out("measured", h200).summary()["median_rel_error"] < 0.10


def test_predict_json_document() -> None:
    result = CliRunner().invoke(
        cli, ["interference", "predict", "--colocate", "resnet50/1,bert/1,gpt2/8", "--json"]
    )
    assert result.exit_code == 0, result.output
    members = json.loads(result.stdout)["members"]
    assert [list(m) for m in members] == [["config", "solo_p50_ms", "p50_ms", "slowdown"]] * 3
    assert [m["config"] for m in members] == ["resnet50/1", "bert/1", "gpt2/8"]
    expected = make_model("groups", PROFILES).slowdowns(["resnet50/1", "bert/1", "gpt2/8"])  # the default
    for member, slowdown in zip(members, expected, strict=True):
        assert member["slowdown"] == pytest.approx(slowdown)
        assert member["p50_ms"] == pytest.approx(member["solo_p50_ms"] * slowdown)
    assert members[0]["solo_p50_ms"] == pytest.approx(raw_p50("alone", "resnet50/1"))


def test_predict_rejects_unknown_configurations() -> None:
    result = CliRunner().invoke(cli, ["interference", "predict", "--colocate", "resnet50/1,resnet50/2"])
    assert result.exit_code != 0
    assert "unknown configuration 'resnet50/2'" in str(result.exception) and "resnet50/32" in str(
        result.exception
    )


def test_fit_prints_and_writes_the_cross_validated_errors(tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    result = CliRunner().invoke(cli, ["interference", "fit", "--model", "features", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "leave one pair out" in result.stdout and "leave one config out" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["model"] == "features" and len(doc["weights"]) == 12
    assert set(doc) >= {"config", "inputs", "version", "cross_validation"}


def test_a_malformed_profile_directory_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "profiles"
    shutil.copytree(default_profiles_path(), bad)
    rows = (bad / "measurements.csv").read_text().splitlines()
    rows[3] = rows[3].replace("alone", "shared", 1)
    (bad / "measurements.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(
        TraceError, match=r"measurements.csv:4: field 'sharing': must be one of alone, time-slicing, mps"
    ):
        load_profiles(bad)
    with pytest.raises(ConfigError, match="profile directory not found"):
        load_profiles(tmp_path / "nowhere")


HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "profiles-h200"


@pytest.mark.skipif(not H200.is_dir(), reason="needs ../shared/data")
def test_groups_never_measured_as_such_are_predicted_from_pairs() -> None:
    """Groups of three and four measured on another H200 by schedlab profile (the
    additive group rule, pairs from ../shared's H200 profiles): errors as measured."""
    h200 = load_profiles(H200)
    errors = {
        size: held_out("measured", h200, HELD_OUT / size)[f"time-slicing {n}"].summary()
        for size, n in (("pairs", 2), ("triples", 3), ("quads", 4))
    }
    assert errors["triples"]["predictions"] == 90 and errors["quads"]["predictions"] == 40
    assert errors["pairs"]["median_rel_error"] == pytest.approx(0.032, abs=0.001)  # re-measured pairs
    assert errors["triples"]["median_rel_error"] == pytest.approx(0.041, abs=0.001)
    assert errors["triples"]["p90_rel_error"] == pytest.approx(0.148, abs=0.001)
    assert errors["quads"]["median_rel_error"] == pytest.approx(0.066, abs=0.001)
    features = held_out("features", h200, HELD_OUT / "triples")["time-slicing 3"].summary()
    assert features["median_rel_error"] > errors["triples"]["median_rel_error"]
    none = held_out("none", h200, HELD_OUT / "triples")["time-slicing 3"].summary()
    assert none["median_rel_error"] > 0.5


def test_check_scores_a_model_on_another_directory() -> None:
    result = CliRunner().invoke(cli, ["interference", "check", "--against", str(HELD_OUT / "mps"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["models"]) == {"measured", "groups"}  # the additive rule and the group model
    errors = doc["models"]["measured"]
    assert set(errors) == {"mps 2", "time-slicing 2"}
    assert errors["time-slicing 2"]["predictions"] == 8
    assert errors["time-slicing 2"]["median_rel_error"] < 0.03


def test_check_warns_when_the_directory_holds_only_solo_measurements(tmp_path: Path) -> None:
    rows = (HELD_OUT / "triples" / "measurements.csv").read_text().splitlines()
    solo = [rows[0], *(r for r in rows if ",alone," in r)]
    (tmp_path / "measurements.csv").write_text("\n".join(solo) + "\n")
    (tmp_path / "configs.csv").write_text((HELD_OUT / "triples" / "configs.csv").read_text())
    done = run_cli("interference", "check", "--against", str(tmp_path), "--json")
    assert done.returncode == 0 and "has no co-located measurements" in done.stderr
    assert json.loads(done.stdout)["models"] == {"measured": {}, "groups": {}}
