"""The arrays of the replay's features on the compiled path (gangs need none of their own):
node events, anti-affinity, ``drf``'s shares and the starvation guard, each of length one
when the run does not use it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedlab.arrays import BoolArray, IntArray
from schedlab.sim.kernels import guard as guard_k
from schedlab.sim.kernels import shadow
from schedlab.sim.kernels.state import Defrag, Fair, GuardArrays, Outages, Reslice, Spread
from schedlab.sim.model import ReplayModel
from schedlab.sim.nodes import ADD
from schedlab.sim.queues.base import FairShares
from schedlab.sim.reslice import asking


def outage_arrays(model: ReplayModel, up: BoolArray) -> Outages:
    """The node events as arrays; the nodes that join later start out of service."""
    events = model.node_events
    kinds = np.array([e.kind for e in events], dtype=np.int64)
    nodes = np.array([e.node for e in events], dtype=np.int64)
    later = nodes[kinds == ADD]
    up[later] = False  # out of service until added (as Outages.begin)
    return Outages(
        time=np.array([e.time for e in events], dtype=np.float64),
        node=nodes,
        kind=kinds,
        cap_time=np.zeros(len(events) + 1),
        cap_milli=np.zeros(len(events) + 1, dtype=np.int64),
    )


def reslice_arrays(model: ReplayModel, up: BoolArray) -> Reslice:
    """Dynamic MIG's arrays; the nodes of layouts other than each GPU's first start out of
    service (as :meth:`schedlab.sim.reslice.Reslicer.begin`)."""
    rs, shapes = model.reslicing, len(model.table)
    if rs is None:
        one = np.zeros((1, 1), dtype=np.int64)
        none = np.zeros(1, dtype=np.int64)
        inf, no = np.full(1, np.inf), np.zeros(1, dtype=bool)
        return Reslice(
            one,
            one.copy(),
            none,
            none.copy(),
            inf,
            none.copy(),
            no,
            none.copy(),
            none - 1,
            none.copy(),
            no.copy(),
            none.copy(),
        )
    up[rs.layout > 0] = False
    return Reslice(
        lo=rs.lo.copy(),
        hi=rs.hi.copy(),
        current=np.zeros(rs.gpus, dtype=np.int64),
        target=np.zeros(rs.gpus, dtype=np.int64),
        ready_at=np.full(rs.gpus, np.inf),
        phase=np.zeros(rs.gpus, dtype=np.int64),
        asks=np.ascontiguousarray(asking(model), dtype=bool),
        order=np.zeros(shapes, dtype=np.int64),
        gpu=rs.gpu.copy(),
        layout=rs.layout.copy(),
        away=np.zeros(rs.gpus, dtype=bool),
        size=rs.size.copy(),
    )


def spread_arrays(model: ReplayModel, nodes: int) -> Spread:
    w = model.workload
    n = len(w)
    if not w.has_spread:
        one = np.full(1, -1, dtype=np.int64)
        return Spread(one, one.copy(), one.copy(), one.copy(), one.copy(), np.zeros(1, dtype=np.int64))
    assert w.max_per_node is not None
    capped = w.max_per_node >= 0
    codes = np.full(n, -1, dtype=np.int64)
    _, index = np.unique(w.user[capped].astype(str), return_inverse=True)
    codes[capped] = index
    return Spread(
        service=codes,
        cap=np.ascontiguousarray(w.max_per_node, dtype=np.int64),
        head=np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64),
        prev=np.full(n, -1, dtype=np.int64),
        next=np.full(n, -1, dtype=np.int64),
        tally=np.zeros(nodes, dtype=np.int64),
    )


def fair_arrays(fair: FairShares | None, shape_of: IntArray) -> Fair:
    n = len(shape_of)
    if fair is None:
        one = np.zeros(1, dtype=np.int64)
        return Fair(
            one, one, one, one, one, np.ones(1), np.ones(2, dtype=np.int64), one, one, one, one, one,
            one - 1, one, one, one.copy(),
        )  # fmt: skip
    users, weight, gpu, cpu, total = fair
    group = pd.factorize(pd.MultiIndex.from_arrays([users, shape_of]))[0].astype(np.int64)
    groups = int(group.max(initial=-1)) + 1
    return Fair(
        user=np.ascontiguousarray(users, dtype=np.int64),
        gpu=np.ascontiguousarray(gpu, dtype=np.int64),
        cpu=np.ascontiguousarray(cpu, dtype=np.int64),
        held_gpu=np.zeros(len(weight), dtype=np.int64),
        held_cpu=np.zeros(len(weight), dtype=np.int64),
        weight=np.ascontiguousarray(weight, dtype=np.float64),
        total=np.array(total, dtype=np.int64),
        group=group,
        slots=np.zeros(max(n, 1), dtype=np.int64),
        offset=np.concatenate([[0], np.cumsum(np.bincount(group, minlength=groups))]).astype(np.int64),
        size=np.zeros(max(groups, 1), dtype=np.int64),
        gpos=np.full(max(n, 1), -1, dtype=np.int64),
        ghead=np.full(len(weight), -1, dtype=np.int64),
        gprev=np.full(max(groups, 1), -1, dtype=np.int64),
        gnext=np.full(max(groups, 1), -1, dtype=np.int64),
        hidden=np.zeros(1, dtype=np.int64),
    )


def guard_arrays(model: ReplayModel, tier: int, width: int) -> GuardArrays:
    after = model.config.reserve_after
    n, nodes = len(model.workload), len(model.cluster)
    on = after is not None
    size = n if on else 1
    slots, half = (shadow.SLOTS, 1 << max(nodes - 1, 0).bit_length()) if on else (1, 1)
    since = np.where(model.gang_size == 1, model.workload.arrival, np.inf) if on else np.zeros(1)
    ints = np.zeros(guard_k.INTS, dtype=np.int64)
    ints[guard_k.POSITION], ints[guard_k.TIER] = -1, tier
    ints[guard_k.SPARE] = not model.config.evict_starved
    return GuardArrays(
        since=np.ascontiguousarray(since, dtype=np.float64),
        starving=np.zeros(size, dtype=bool),
        heap=np.zeros((2, size), dtype=np.int64),
        hpos=np.zeros(size, dtype=np.int64),
        which=np.full(size, -1, dtype=np.int64),
        size=np.zeros(2, dtype=np.int64),
        ints=ints,
        floats=np.array([after if on else 0.0, -np.inf]),
        starving_now=np.zeros(guard_k.LIMIT, dtype=np.int64),
        before=np.zeros(guard_k.LIMIT, dtype=np.int64),
        held_node=np.zeros(guard_k.LIMIT, dtype=np.int64),
        held_task=np.zeros(guard_k.LIMIT, dtype=np.int64),
        held_value=np.zeros(guard_k.LIMIT),
        slot_shape=np.full(slots, -1, dtype=np.int64),
        slot_seen=np.full(slots, -1, dtype=np.int64),
        slot_used=np.zeros(slots, dtype=np.int64),
        value=np.zeros((slots, nodes if on else 1)),
        tree=np.zeros((slots, 2 * half), dtype=np.int32),
        could=np.zeros((slots, nodes if on else 1), dtype=bool),
        pick=np.zeros(2 * guard_k.LIMIT + 2, dtype=np.int64),
        order=np.zeros(size, dtype=np.int64),
        ends=np.zeros(max(size, guard_k.LIMIT)),
        free=np.zeros(width, dtype=np.int64),
        stamp=np.zeros(nodes if on else 1, dtype=np.int64),
    )


def defrag_arrays(on: bool, moves_per_hour: int, n: int, shapes: int, nodes: int, width: int) -> Defrag:
    """Defragmentation's arrays (of length one where it is off)."""

    def sized(size: int, fill: float = 0, dtype: type = np.int64) -> np.ndarray:
        return np.full(size if on else 1, fill, dtype=dtype)

    return Defrag(
        sized(n, 0.0, np.float64),
        np.zeros(moves_per_hour),
        sized(2 * shapes),
        sized(2 * shapes, -1),
        np.zeros(1, dtype=np.int64),
        sized(n),
        np.zeros(moves_per_hour, dtype=np.int64),
        np.zeros(moves_per_hour, dtype=np.int64),
        np.zeros(width, dtype=np.int64),
        sized(nodes, -1),
        sized(nodes),
        sized(nodes),
        np.zeros((nodes if on else 1, 3)),
        sized(nodes),
        sized(nodes),
        sized(nodes),
        np.zeros(moves_per_hour, dtype=np.int64),
    )
