"""The placer's per-shape score cache gives exactly what scoring from scratch gives,
whatever sequence of placements and releases came before (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.cluster import ClusterState
from schedlab.scheduler import Placement
from schedlab.trace import Nodes
from tests.conftest import placer, shape, typical

POLICIES = ["dotprod", "clustering", "packing", "bestfit", "fgd"]
REQUESTS = [
    (1000, 1000, 0, 0, ""),
    (2000, 4000, 1, 250, ""),
    (4000, 2000, 1, 500, "T4"),
    (1000, 1000, 1, 700, ""),
    (8000, 8000, 1, 1000, ""),
    (4000, 4000, 2, 1000, "V100|A10"),
    (16000, 1000, 4, 1000, ""),
]
TYPICAL = typical(
    [(1000, 0, 0, "", 2), (2000, 250, 1, "", 3), (4000, 500, 1, "T4", 1), (8000, 1000, 1, "", 2)]
)


def cluster() -> ClusterState:
    return ClusterState(
        Nodes.build(
            [
                ("a", 32000, 64000, 4, "T4"),
                ("b", 64000, 64000, 8, "V100"),
                ("c", 16000, 16000, 2, "T4"),
                ("d", 32000, 32000, 0, ""),
                ("e", 96000, 128000, 8, "A10"),
            ]
        )
    )


@settings(max_examples=150, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    ops=st.lists(st.tuples(st.integers(0, len(REQUESTS) - 1), st.booleans()), min_size=1, max_size=60),
    order=st.permutations(list(range(5))),
)
def test_cached_choice_equals_fresh_choice(
    policy: str, ops: list[tuple[int, bool]], order: list[int]
) -> None:
    state = cluster()
    cached = placer(state, policy, order, TYPICAL)
    shapes = [shape(state, *r) for r in REQUESTS]
    running: list[tuple[int, Placement]] = []
    for index, release in ops:
        if release and running:
            s, placement = running.pop(0)
            cached.release(shapes[s], placement)
            continue
        fresh = placer(state, policy, order, TYPICAL).select(shapes[index])
        got = cached.place(shapes[index])
        assert got == fresh
        if got is not None:
            running.append((index, got))
        # Capacity is never exceeded.
        assert (state.gpu_free >= 0).all() and (state.gpu_free <= 1000).all()
        assert (state.cpu_left >= 0).all() and (state.mem_left >= 0).all()
    for s, placement in running:
        cached.release(shapes[s], placement)
    assert np.array_equal(state.cpu_left, state.nodes.cpu_milli)
    assert state.allocated_gpu_milli == 0
