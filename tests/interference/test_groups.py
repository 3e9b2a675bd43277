"""The ``groups`` interference model: low-rank pairs and a group exponent, fitted exactly
where the data follow it, scored on groups left out, and replayed the same on both paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.interference import (
    Profiles,
    Sharing,
    held_out,
    leave_one_group_out,
    load_all,
    load_profiles,
    make_model,
)
from schedlab.interference.models.base import combined
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload

PROFILES = load_profiles()
H200 = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-colocation-h200"
HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "profiles-h200"


def synthetic(gamma: float) -> tuple[Profiles, dict[str, float], dict[str, float]]:
    """The embedded configurations with slowdowns made by the model's own rule: every pair
    1 + s_i h_j, and groups of three and four with m**(gamma - 1) on the root of the sum of
    the squares."""
    names = sorted(PROFILES.configs)[:8]
    rng = np.random.default_rng(3)
    s = dict(zip(names, rng.uniform(0.2, 2.0, len(names)), strict=True))
    h = dict(zip(names, rng.uniform(0.2, 2.0, len(names)), strict=True))
    pairs = {(a, b): 1 + s[a] * h[b] for a in names for b in names}
    groups = {}
    for k in range(12):
        members = [str(x) for x in rng.choice(names, 3 + k % 2)]
        m = len(members) - 1
        heavy = np.sqrt(sum(h[o] ** 2 for o in members[1:]))
        groups[tuple(members)] = 1 + m ** (gamma - 1) * s[members[0]] * heavy
    configs = {n: PROFILES.configs[n] for n in names}
    return Profiles(configs, pairs, source="synthetic", groups=groups), s, h


def test_the_fit_recovers_the_rule_that_made_the_data() -> None:
    profiles, s, h = synthetic(1.3)
    model = make_model("groups", profiles)
    assert model.gamma == pytest.approx(1.3, abs=1e-6)  # type: ignore[attr-defined]
    a, b, c = sorted(s)[:3]
    expected = 1 + 2 ** (1.3 - 1) * s[a] * np.hypot(h[b], h[c])
    assert model.slowdowns([a, b, c])[0] == pytest.approx(expected, rel=1e-6)
    assert model.slowdowns([a, b])[0] == pytest.approx(1 + s[a] * h[b], rel=1e-6)
    for key, value in profiles.groups.items():  # every group measurement, exactly
        assert model.slowdowns(list(key))[0] == pytest.approx(value, rel=1e-6)


def test_without_groups_the_exponent_is_the_documented_one_and_mps_stays_additive() -> None:
    model = make_model("groups", PROFILES)
    assert model.gamma == 1.42  # type: ignore[attr-defined]
    assert model.group_scale(1, Sharing()) == 1.0
    assert model.group_scale(3, Sharing()) == pytest.approx(3**0.42)
    mps = Sharing("mps", 50)
    assert (
        model.slowdowns(["bert/8", "gpt2/8"], mps)[0]
        == make_model("measured", PROFILES).slowdowns(["bert/8", "gpt2/8"], mps)[0]
    )


def test_a_measured_pair_is_its_measurement_and_groups_take_the_smoothed_pairs() -> None:
    model = make_model("groups", PROFILES)
    a, b, c = "bert/1", "vit/8", "gpt2/8"
    assert model.slowdowns([a, b])[0] == PROFILES.pairs[(a, b)]  # exact, as `measured`
    smoothed = {o: model.group_pair(a, o, Sharing()) for o in (b, c)}
    assert smoothed[b] != PROFILES.pairs[(a, b)]
    quadrature = np.hypot(smoothed[b] - 1, smoothed[c] - 1)
    expected = 1 + 2 ** (model.gamma - 1) * quadrature  # type: ignore[attr-defined]
    assert model.slowdowns([a, b, c])[0] == pytest.approx(expected, rel=1e-12)
    unmeasured = PROFILES.without(pairs={frozenset((a, b))})
    again = make_model("groups", unmeasured)
    assert again.slowdowns([a, b])[0] == again.group_pair(a, b, Sharing())  # never measured: smoothed


def test_quadrature_keeps_each_delay_s_sign() -> None:
    assert combined(3.0, False) == 3.0
    assert combined(-4.0, True) == -2.0 and combined(2.25, True) == 1.5


def test_merged_profiles_average_shared_measurements() -> None:
    one, _, _ = synthetic(1.0)
    two = Profiles(one.configs, {k: v + 0.2 for k, v in one.pairs.items()}, source="two")
    both = one.merged(two)
    key = next(iter(one.pairs))
    assert both.pairs[key] == pytest.approx(one.pairs[key] + 0.1)
    assert both.groups == one.groups and both.source == "synthetic + two"


@pytest.mark.skipif(not H200.is_dir(), reason="needs ../shared/data")
def test_groups_left_out_are_predicted_better_than_by_the_additive_rule() -> None:
    """H200 pairs (../shared) with schedlab's own H200 groups (tests/data): each group of
    three or four predicted by a model fitted without it."""
    profiles = load_all([H200, HELD_OUT / "triples", HELD_OUT / "quads"])
    assert len(profiles.groups) == 123  # 90 + 40 member rows, repeated members merged
    groups = {k: e.summary() for k, e in leave_one_group_out("groups", profiles).items()}
    additive = {k: e.summary() for k, e in leave_one_group_out("measured", profiles).items()}
    assert groups[3]["median_rel_error"] == pytest.approx(0.036, abs=0.001)
    assert groups[3]["p90_rel_error"] == pytest.approx(0.093, abs=0.001)
    assert groups[4]["median_rel_error"] == pytest.approx(0.034, abs=0.001)
    assert groups[4]["p90_rel_error"] == pytest.approx(0.099, abs=0.001)
    for size in (3, 4):
        assert groups[size]["p90_rel_error"] < additive[size]["p90_rel_error"] - 0.03
    # Fitted on the triples only, the quads: a group size the fit never saw.
    quads = held_out("groups", load_all([H200, HELD_OUT / "triples"]), HELD_OUT / "quads")
    assert quads["time-slicing 4"].summary()["median_rel_error"] == pytest.approx(0.034, abs=0.001)


def test_fit_reports_groups_left_out(tmp_path: Path) -> None:
    data = ["--data", str(HELD_OUT / "pairs"), "--data", str(HELD_OUT / "triples")]
    result = CliRunner().invoke(cli, ["interference", "fit", "--model", "groups", "--json", *data])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["cross_validation"]["leave_one_group_out_3"]["predictions"] > 0
    assert 1.0 < doc["gamma"] < 2.0 and len(doc["inputs"]) == 4


def _three_on_one_gpu(compiled: bool) -> list[float]:
    nodes = Nodes.build([("n0", 64000, 262144, 1, "H100")])
    tasks = Tasks.build([(1000, 1000, 1, 300, "")] * 3)
    profile = np.array(["bert/1", "vit/8", "gpt2/8"], dtype=object)
    w = TimedWorkload(tasks, np.zeros(3), np.full(3, 100.0), np.full(3, "", dtype=object), "t", {}, profile)
    config = ReplayConfig(policy="bestfit", interference="groups", compiled=compiled)
    result = replay(w, nodes, config)
    assert result.summary["path"] == ("compiled" if compiled else "reference")
    return [float(x) for x in result.tasks["end"]]


def test_the_replay_follows_the_group_rule_on_both_paths() -> None:
    model = make_model("groups", PROFILES)
    slowdowns = model.slowdowns(["bert/1", "vit/8", "gpt2/8"])
    assert (slowdowns < make_model("measured", PROFILES).slowdowns(["bert/1", "vit/8", "gpt2/8"]) * 2).all()
    compiled, reference = _three_on_one_gpu(True), _three_on_one_gpu(False)
    assert compiled == reference
    # 100 s of work each, all three together until the first is done at 100 x its slowdown.
    assert min(compiled) == pytest.approx(100.0 * slowdowns.min(), rel=1e-12)
