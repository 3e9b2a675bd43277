"""MIG profiles and placements: NVIDIA's documented placements, layouts that fit and those
that do not, and a brute force over every assignment of starts."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.cluster.mig import MODELS, MigError, free_starts, mig_model, parse_layout, place_layout


def test_the_placements_nvidia_smi_lists_for_an_h100() -> None:
    """``nvidia-smi mig -lgipp`` on an H100 (profile ids 19, 20, 15, 14, 9, 5, 0)."""
    h100 = MODELS["H100-80GB"]
    listed = {p.name: (p.starts, p.size) for p in h100.profiles}
    assert listed == {
        "1g.10gb": ((0, 1, 2, 3, 4, 5, 6), 1),
        "1g.10gb+me": ((0, 1, 2, 3, 4, 5, 6), 1),
        "1g.20gb": ((0, 2, 4, 6), 2),
        "2g.20gb": ((0, 2, 4), 2),
        "3g.40gb": ((0, 4), 4),
        "4g.40gb": ((0,), 4),
        "7g.80gb": ((0,), 8),
    }
    assert [p.name for p in MODELS["H200-141GB"].profiles][:3] == ["7g.141gb", "4g.71gb", "3g.71gb"]
    assert [p.name for p in MODELS["A100-40GB"].profiles][-2:] == ["1g.5gb", "1g.5gb+me"]
    assert mig_model("h200") is MODELS["H200-141GB"] and mig_model("A100-SXM4-80GB") is MODELS["A100-80GB"]
    assert mig_model("T4") is None and mig_model("G2") is None


@pytest.mark.parametrize(
    ("gpu", "layout", "where"),
    [
        ("A100-40GB", "7x1g.5gb", "abcdefg."),
        ("A100-40GB", "2x3g.20gb", "aaaabbbb"),
        ("A100-40GB", "4g.20gb,3g.20gb", "aaaabbbb"),
        ("A100-40GB", "3x2g.10gb,1g.5gb", "aabbccd."),
        ("A100-40GB", "4g.20gb,2g.10gb,1g.5gb", "aaaabbc."),
        ("A100-80GB", "3g.40gb,2g.20gb,2x1g.10gb", "bbcdaaaa"),
        ("A100-80GB", "3g.40gb,4x1g.10gb", "bcdeaaaa"),
        ("A100-40GB", "4x1g.10gb", "aabbccdd"),
        ("H200-141GB", "7g.141gb", "aaaaaaaa"),
        ("H100-80GB", "1g.10gb+me,6x1g.10gb", "abcdefg."),
        ("A30-24GB", "2g.12gb,2x1g.6gb", "aabc"),
    ],
)
def test_layouts_that_fit_get_allowed_starts_without_overlap(gpu: str, layout: str, where: str) -> None:
    model = MODELS[gpu]
    placed = place_layout(model, parse_layout(layout))
    row = ["."] * model.slices
    for k, (profile, start) in enumerate(placed):
        assert start in profile.starts
        for s in range(start, start + profile.size):
            assert row[s] == "."
            row[s] = "abcdefgh"[k]
    assert "".join(row) == where


@pytest.mark.parametrize(
    ("gpu", "layout", "message"),
    [
        ("A100-40GB", "8x1g.5gb", "1g.5gb starts only at {0,1,2,3,4,5,6}"),
        ("A100-40GB", "2x4g.20gb", "4g.20gb starts only at {0}"),
        ("A100-80GB", "7g.80gb,1g.10gb", "it needs 9 memory slices, the GPU has 8"),
        ("H100-80GB", "4x2g.20gb", "2g.20gb starts only at {0,2,4}"),
        ("H100-80GB", "4g.40gb,4g.40gb", "4g.40gb starts only at {0}"),
        ("H200-141GB", "2x1g.18gb+me", "at most one +me instance per GPU"),
        ("H100-80GB", "3g.20gb", "MIG profile '3g.20gb' does not exist on H100-80GB"),
        (
            "A100-40GB",
            "4g.20gb,2x2g.10gb",
            "no placement without overlap: 4g.20gb starts only at {0}, 2g.10gb",
        ),
        ("A100-40GB", "3g.20gb,3x1g.10gb", "it needs 10 memory slices"),
        ("A100-40GB", "0x3g.20gb", "'0x3g.20gb' is not a profile or Nx<profile> (N >= 1)"),
        ("A100-40GB", "3g.20gb,,1g.5gb", "'' is not a profile"),
        ("H100-80GB", "7x1g.10gb,2x1g.10gb", "9 instances; a GPU holds at most 8"),
        ("H100-80GB", "99999999999999999999x1g.10gb", "thousands of instances; a GPU holds at most 8"),
        ("H100-80GB", "0002x3g.40gb,0x1g.10gb", "'0x1g.10gb' is not a profile"),
    ],
)
def test_layouts_that_do_not_fit_are_one_error(gpu: str, layout: str, message: str) -> None:
    with pytest.raises(MigError, match=re.escape(message)):
        place_layout(MODELS[gpu], parse_layout(layout))


def test_one_more_instance_beside_a_layout() -> None:
    model = MODELS["A100-80GB"]
    placed = place_layout(model, ["3g.40gb"])  # at slices 0-3
    assert free_starts(model, placed, model.profile("2g.20gb")) == [4]
    assert free_starts(model, placed, model.profile("3g.40gb")) == [4]
    assert free_starts(model, placed, model.profile("4g.40gb")) == []
    assert free_starts(model, placed, model.profile("nvidia.com/mig-1g.10gb")) == [4, 5, 6]
    media = place_layout(model, ["1g.10gb+me"])
    assert free_starts(model, media, model.profile("1g.10gb+me")) == []


@settings(max_examples=200, deadline=None)
@given(gpu=st.sampled_from(sorted(MODELS)), picks=st.lists(st.integers(0, 6), min_size=1, max_size=8))
def test_a_layout_fits_exactly_when_some_assignment_of_starts_does(gpu: str, picks: list[int]) -> None:
    model = MODELS[gpu]
    profiles = [model.profiles[k % len(model.profiles)] for k in picks]
    possible = (
        any(
            all(
                not (a & b)
                for a, b in itertools.combinations(
                    [((1 << p.size) - 1) << s for p, s in zip(profiles, starts, strict=True)], 2
                )
            )
            for starts in itertools.product(*(p.starts for p in profiles))
        )
        and sum(p.media for p in profiles) <= 1
    )
    try:
        placed = place_layout(model, [p.name for p in profiles])
    except MigError:
        assert not possible
        return
    assert possible and sorted(p.name for p, _ in placed) == sorted(p.name for p in profiles)
    used = 0
    for profile, start in placed:
        bits = ((1 << profile.size) - 1) << start
        assert start in profile.starts and not used & bits
        used |= bits
    assert sum(p.compute for p, _ in placed) <= (7 if model.slices == 8 else 4)


def test_the_commands_print_profiles_and_placements_or_one_error() -> None:
    run = [sys.executable, "-m", "schedlab", "mig"]
    shown = subprocess.run(
        [*run, "check", "4g.40gb,2g.20gb,1g.10gb", "--gpu", "H100"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "memory slices aaaabbc." in shown.stdout
    table = subprocess.run(
        [*run, "profiles", "--gpu", "H200"], capture_output=True, text=True, check=True
    ).stdout
    assert "nvidia.com/mig-3g.71gb" in table and "{0,2,4,6}" in table
    bad = subprocess.run([*run, "check", "2x4g.71gb", "--gpu", "H200"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("error: MIG layout 4g.71gb + 4g.71gb does not fit one H200-141GB")
