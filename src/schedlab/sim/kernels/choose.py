"""Choosing a node and GPUs for one task on the compiled path: the mirror of
:meth:`schedlab.scheduler.Placer.select` with excluded nodes and an admit step.

The nodes of ``st.x`` (anti-affinity, reservations) leave the shape's candidate tree for
the decision (their keys set to NONE, and put back after). With an admit step, the best
node is asked; a refused one leaves the tree too and the next best is asked, as the
reference asks nodes in key order.
"""

from __future__ import annotations

import numpy as np

from schedlab.jit import step
from schedlab.scheduler.kernels import NONE, best_node, drawn, gpu_mask, refresh, set_key
from schedlab.sim.kernels import safety
from schedlab.sim.kernels.state import ADMIT, NO, State


@step
def _out(st: State, s: int, n: int) -> None:
    """Take node ``n`` out of shape ``s``'s tree, saving its key at the end of ``st.x``."""
    x, pl = st.x, st.pl
    x.nodes[x.scal[0]] = n
    x.saved[x.scal[0]] = pl.tree[s, n]
    x.scal[0] += 1
    set_key(pl, s, n, NONE)


@step
def choose(kind: int, draws: bool, st: State, t: int, s: int) -> tuple[int, int]:
    """Node and GPU mask for task ``t`` of shape ``s`` (node -1 when nothing fits or is
    admitted); nothing is placed."""
    c, sh, pl, x = st.c, st.sh, st.pl, st.x
    refresh(kind, c, sh, st.f, st.p, pl, s)
    given = x.scal[0]
    for i in range(given):
        n = x.nodes[i]
        x.saved[i] = pl.tree[s, n]
        set_key(pl, s, n, NONE)
    n, mask = -1, 0
    if draws:
        n, mask = drawn(c, sh, pl, st.rng, s)
    else:
        admit = st.ints[ADMIT] != 0
        while True:
            n = best_node(pl, s)
            if n < 0:
                break
            if not admit or safety.admitted(st, t, s, n, NO):
                mask = gpu_mask(c, sh, pl, s, n)
                if admit and sh.cls[s] == 0:
                    preferred = np.int64((pl.tree[s, n] & ((1 << pl.scal[2]) - 1)) - 1)
                    mask = 1 << safety.safe_gpu(st, t, s, n, preferred)
                break
            _out(st, s, n)
    for i in range(x.scal[0] - 1, -1, -1):
        set_key(pl, s, x.nodes[i], x.saved[i])
    x.scal[0] = given
    return n, mask
