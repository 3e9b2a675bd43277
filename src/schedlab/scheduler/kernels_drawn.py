"""The compiled placer's selection for a policy whose normalise step draws random numbers
(random-fit): it draws what the reference draws, over the feasible nodes of a shape's
candidate tree (:mod:`schedlab.scheduler.kernels`)."""

from __future__ import annotations

import numpy as np

from schedlab.cluster.kernels import whole_gpus_mask
from schedlab.jit import step
from schedlab.policies.kernels.random_fit import draw_int40, draw_uniform
from schedlab.scheduler.kernels import NONE, refresh


@step
def select_drawn(kind, c, sh, f, p, pl, rng, s):
    """:func:`drawn` after bringing shape ``s``'s tree up to date."""
    refresh(kind, c, sh, f, p, pl, s)
    return drawn(c, sh, pl, rng, s)


@step
def drawn(c, sh, pl, rng, s):
    """Random-fit's selection, drawing (from the PCG64 state ``rng``) what the reference
    draws: one random integer in [0, 2**40) per
    feasible node (ascending node index), then one uniform number per GPU of each. The
    largest integer wins (ties: the node order); a sharing task takes the chosen node's
    fitting GPU with the largest number. Leaves set to NONE count as not feasible."""
    tree, n_nodes = pl.tree[s], len(pl.pos)
    best, best_key, count = -1, np.iinfo(np.int64).min, 0
    for n in range(n_nodes):
        if tree[pl.pos[n]] != NONE:
            key = draw_int40(rng) * n_nodes + (n_nodes - 1 - pl.pos[n])
            count += 1
            if key > best_key:
                best, best_key = n, key
    if best < 0:
        return -1, 0
    width = c.gpu_free.shape[1]
    choice, top = 0, -2.0
    for n in range(n_nodes):
        if tree[pl.pos[n]] == NONE:
            continue
        for g in range(width):
            value = draw_uniform(rng)
            if n == best and sh.cls[s] == 0:
                value = value if c.gpu_free[n, g] >= sh.milli[s] else -1.0
                if value > top:
                    choice, top = g, value
    if sh.cls[s] != 0:
        return best, 0 if sh.cls[s] < 0 else whole_gpus_mask(c, best, sh.k[s])
    return best, 1 << choice
