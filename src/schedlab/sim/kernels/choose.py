"""Choosing a node and GPUs for one task on the compiled path: the mirror of
:meth:`schedlab.scheduler.Placer.select` with excluded nodes and an admit step.

The nodes of ``st.x`` (anti-affinity, reservations) leave the shape's candidate tree for
the decision (their keys set to NONE, and put back after). With an admit step, the best
node is asked; a refused one leaves the tree too and the next best is asked, as the
reference asks nodes in key order.

An admit step depends only on the task and the node's state, so once a task found no node
(with none excluded), every node that has not changed since still fits it not or refuses
it: its next try asks only the nodes changed since (the placer's log of changes), and
takes the best admitted one among them. A waiting service on a loaded cluster is tried at
every departure; this keeps each try to the few nodes that changed.
"""

from __future__ import annotations

import numpy as np

from schedlab.jit import step
from schedlab.policies.kernels.table import score
from schedlab.scheduler.kernels import NONE, best_node, better, gpu_mask, leaf, refresh, set_key
from schedlab.scheduler.kernels_drawn import drawn
from schedlab.sim.kernels import safety
from schedlab.sim.kernels.state import ADMIT, NO, State


@step
def _out(st: State, s: int, n: int) -> None:
    """Take node ``n`` out of shape ``s``'s tree, saving its score at the end of ``st.x``."""
    x, pl = st.x, st.pl
    x.nodes[x.scal[0]] = n
    x.saved[x.scal[0]] = leaf(pl, s, n)
    x.scal[0] += 1
    set_key(pl, s, n, NONE)


@step
def _admitted_best(st: State, t: int, s: int) -> int:
    """The best node of shape ``s``'s tree that admits ``t`` (-1: none); refused nodes leave
    the tree until the end of the decision."""
    while True:
        n = best_node(st.pl, s)
        if n < 0 or safety.admitted(st, t, s, n, NO):
            return n
        _out(st, s, n)


@step
def _since_failure(st: State, t: int, given: int) -> bool:
    """Whether ``t`` found no node at its last try (with none excluded, nor now), few enough
    changes ago that the log still holds them all."""
    last, ring = st.sf.failed[t], st.pl.ring
    behind = st.pl.scal[0] - last
    return given == 0 and last >= 0 and behind <= len(ring) and behind * 8 <= len(st.pl.pos)


@step
def _admitted_changed(st: State, t: int, s: int) -> int:
    """The best node that admits ``t`` among those changed since its last try."""
    pl, sf = st.pl, st.sf
    ring = pl.ring
    sf.mark[1] += 1
    best = -1
    for change in range(sf.failed[t], pl.scal[0]):
        n = ring[change % len(ring)]
        if sf.stamp[n] == sf.mark[1]:
            continue
        sf.stamp[n] = sf.mark[1]
        fitting = leaf(pl, s, n) != NONE
        if fitting and (best < 0 or better(pl, s, n, best)) and safety.admitted(st, t, s, n, NO):
            best = n
    return best


@step
def choose(kind: int, draws: bool, st: State, t: int, s: int) -> tuple[int, int]:
    """Node and GPU mask for task ``t`` of shape ``s`` (node -1 when nothing fits or is
    admitted); nothing is placed."""
    c, sh, pl, x = st.c, st.sh, st.pl, st.x
    refresh(kind, c, sh, st.f, st.p, pl, s)
    given = x.scal[0]
    for i in range(given):
        n = x.nodes[i]
        x.saved[i] = leaf(pl, s, n)
        set_key(pl, s, n, NONE)
    n, mask = -1, 0
    if draws:
        n, mask = drawn(c, sh, pl, st.rng, s)
    elif st.ints[ADMIT]:
        n = _admitted_changed(st, t, s) if _since_failure(st, t, given) else _admitted_best(st, t, s)
        if n >= 0 and sh.cls[s] == 0:  # the GPU its score chose, if safe
            preferred = np.int64(score(kind, c, sh, st.f, st.p, s, n)[1])
            mask = 1 << safety.safe_gpu(st, t, s, n, preferred)
        elif n >= 0:
            mask = gpu_mask(kind, c, sh, st.f, st.p, s, n)
        st.sf.failed[t] = pl.scal[0] if n < 0 and given == 0 else -1
    else:
        n = best_node(pl, s)
        if n >= 0:
            mask = gpu_mask(kind, c, sh, st.f, st.p, s, n)
    for i in range(x.scal[0] - 1, -1, -1):
        set_key(pl, s, x.nodes[i], x.saved[i])
    x.scal[0] = given
    return n, mask
