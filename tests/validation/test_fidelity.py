"""Fidelity: the ATC'23 fill experiment, all six policies x 10 seeds (about a minute)."""

from __future__ import annotations

import pytest

from schedlab.validation.fidelity import fidelity_table


@pytest.mark.slow
def test_matches_published_numbers() -> None:
    table = fidelity_table()
    assert (table["alloc100_diff"].abs() <= 0.75).all(), table
    assert (table["frag90_diff"].abs() <= 0.75).all(), table
    assert table.loc["fgd", "alloc100"] - table.loc["bestfit", "alloc100"] >= 2.0
    # The paper's ordering of policies by allocation at x = 100 holds.
    assert table["alloc100"].is_monotonic_increasing
