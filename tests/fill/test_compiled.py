"""The compiled fill loop equals the pure-Python reference, record for record (Hypothesis),
and FGD's threshold form of the sigmoid score equals the formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schedlab import jit
from schedlab.errors import ConfigError
from schedlab.fill import FillConfig, run_fill
from schedlab.policies.fgd import sigmoid_score, sigmoid_thresholds
from schedlab.trace import Nodes, Tasks

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not available")

nodes_strategy = st.lists(
    st.tuples(
        st.sampled_from([4000, 8000, 32000, 64000, 128000]),
        st.sampled_from([8000, 64000, 256000]),
        st.integers(0, 8),
        st.sampled_from(["T4", "V100", "A10"]),
    ),
    min_size=1,
    max_size=8,
)
rows_strategy = st.lists(
    st.one_of(
        st.tuples(st.integers(100, 16000), st.integers(0, 64000), st.just(0), st.just(0), st.just("")),
        st.tuples(
            st.integers(100, 16000),
            st.integers(0, 64000),
            st.just(1),
            st.sampled_from([100, 250, 300, 500, 750, 1000]),
            st.sampled_from(["", "T4", "V100|A10"]),
        ),
        st.tuples(
            st.integers(100, 16000), st.integers(0, 64000), st.integers(1, 8), st.just(1000), st.just("")
        ),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    nodes=nodes_strategy,
    rows=rows_strategy,
    policy=st.sampled_from(["random", "dotprod", "clustering", "packing", "bestfit", "fgd"]),
    seed=st.integers(0, 2**16),
    ratio=st.sampled_from([0.5, 1.3, 2.0]),
)
def test_compiled_fill_equals_reference(
    nodes: list[tuple[int, int, int, str]],
    rows: list[tuple[int, int, int, int, str]],
    policy: str,
    seed: int,
    ratio: float,
) -> None:
    assume(any(node[2] for node in nodes))  # a cluster without GPUs is refused
    cluster = Nodes.build([(f"n{i}", *node) for i, node in enumerate(nodes)])
    tasks = Tasks.build(rows)
    try:
        run_fill(tasks, cluster, FillConfig(policy, seed, ratio), compiled=False)
    except ConfigError as err:  # nothing left after tuning: both paths refuse alike
        assert "no task left" in str(err)
        with pytest.raises(ConfigError, match="no task left"):
            run_fill(tasks, cluster, FillConfig(policy, seed, ratio))
        return
    fast = run_fill(tasks, cluster, FillConfig(policy, seed, ratio))
    slow = run_fill(tasks, cluster, FillConfig(policy, seed, ratio), compiled=False)
    pd.testing.assert_frame_equal(fast.records, slow.records, check_exact=True)
    for name, curve in fast.curves.items():
        np.testing.assert_array_equal(curve, slow.curves[name])


@pytest.mark.parametrize("scale", [1, 7, 1000, 123_457])
def test_sigmoid_thresholds_give_the_formula(scale: int) -> None:
    thresholds = sigmoid_thresholds(scale)
    rng = np.random.default_rng(scale)
    finite = thresholds[thresholds < 2**62]
    deltas = np.concatenate(
        [rng.integers(-(10**7) * scale, 10**7 * scale, 20_000), finite - 1, finite, finite + 1]
    )
    counted = np.searchsorted(thresholds, deltas, side="right")
    np.testing.assert_array_equal(counted, sigmoid_score(deltas, scale))
