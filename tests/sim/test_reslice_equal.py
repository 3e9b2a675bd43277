"""Dynamic MIG re-partitioning: the compiled path equals the reference on random clusters,
layouts (given by --mig or per GPU in the node list's mig column), workloads, queues,
admission, preemption, defragmentation, node events and scopes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab import jit
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes
from tests.sim.test_compiled import same
from tests.sim.test_reslice import A100, workload

PROFILES = ["mig-7g.80gb", "mig-3g.40gb", "mig-2g.20gb", "mig-1g.10gb", "mig-4g.40gb", ""]
LAYOUTS = [
    f"{A100}=3g.40gb,2g.20gb,2x1g.10gb",
    f"{A100}=7g.80gb",
    f"{A100}=7x1g.10gb",
    f"{A100}=4g.40gb,3g.40gb",
    f"{A100}=2x3g.40gb",
]


@pytest.mark.skipif(not jit.enabled(), reason="numba is not available")
@settings(max_examples=150, deadline=None)
@given(
    gpus=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=3),
    layouts=st.lists(st.sampled_from(range(len(LAYOUTS))), min_size=2, max_size=4, unique=True),
    rows=st.lists(
        st.tuples(
            st.integers(0, 60),
            st.sampled_from([5.0, 20.0, 45.0, 90.0]),
            st.sampled_from([1, 1, 1, 2]),
            st.sampled_from(PROFILES),
            st.sampled_from(["LS", "BE"]),
        ),
        min_size=1,
        max_size=25,
    ),
    queue=st.sampled_from(["fifo", "qos", "drf"]),
    admission=st.sampled_from(["backfill", "strict"]),
    preempt=st.booleans(),
    policy=st.sampled_from(["bestfit", "fgd", "random"]),
    reconfig=st.sampled_from([0.0, 10.0, 30.0]),
    every=st.sampled_from([5.0, 15.0, 60.0]),
    defrag=st.sampled_from(["none", "none", "least-moved", "fgd"]),
    events=st.lists(st.tuples(st.integers(0, 150), st.integers(0, 3), st.sampled_from(range(4))), max_size=6),
    scope=st.sampled_from(["gpu", "node"]),
    column=st.booleans(),
)
def test_compiled_equals_reference(
    gpus: list[int],
    layouts: list[int],
    rows: list[tuple[int, float, int, str, str]],
    queue: str,
    admission: str,
    preempt: bool,
    policy: str,
    reconfig: float,
    every: float,
    defrag: str,
    events: list[tuple[int, int, int]],
    scope: str,
    column: bool,
) -> None:
    from schedlab.sim.nodes import NodeEvent

    nodes = Nodes.build(
        [(f"n{i}", 64000, 524288, g, A100) for i, g in enumerate(gpus)] + [("w", 64000, 524288, 2, "T4")]
    )
    if column:  # each GPU its own initial layout, from the node list (no --mig)
        own = [LAYOUTS[k].split("=", 1)[1] for k in layouts]
        cells = [";".join(own[(i + g) % len(own)] for g in range(k)) for i, k in enumerate(gpus)]
        nodes = replace(nodes, mig=np.array([*cells, ""], dtype=object))
    rows.sort(key=lambda r: r[0])
    chosen = ",".join(LAYOUTS[k] for k in layouts)
    w = workload([(float(a), d, k, spec if spec[4:] in chosen else "") for a, d, k, spec, _ in rows])
    w = replace(w, tasks=replace(w.tasks, qos=np.array([r[4] for r in rows], dtype=object)))
    w = replace(w, user=np.array([f"u{i % 2}" for i in range(len(rows))], dtype=object))
    config = ReplayConfig(
        policy=policy,
        queue=queue,
        admission=admission,
        preemption="ls-over-be" if preempt else "none",
        mig=() if column else (LAYOUTS[layouts[0]],),
        mig_alt=tuple(LAYOUTS[k] for k in layouts[1:]),
        mig_reconfig=reconfig,
        mig_every=every,
        mig_scope=scope,
        defrag=defrag,
        defrag_every=every * 2,
        defrag_moves=6,
        defrag_cost=10.0,
    )
    happen = sorted(
        (NodeEvent(float(t), n % len(nodes), kind) for t, n, kind in events), key=lambda e: e.time
    )  # failures, drains, repairs and additions of the node list's nodes
    fast = replay(w, nodes, replace(config, compiled=True), node_events=happen)
    slow = replay(w, nodes, replace(config, compiled=False), node_events=happen)
    assert fast.summary["path"] == "compiled" and slow.summary["path"] == "reference"
    same(fast, slow)
