"""How many tasks of a gang's shape the cluster holds now: a gang whose size exceeds it cannot
start, whatever the placement policy does (each node packed on its own bounds what a
sequence of placements can take), so its try ends before any member is placed.

A gang at the head of the queue is tried at every arrival and departure; placing most of
its members before one finds no node, then releasing them, is the bulk of such a try. The
count is kept per shape, in a few slots, brought up to date from the placer's log of
changed nodes. (A policy that draws random numbers places the members anyway: its draws
must match the reference's.)
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.kernels import GPU_MILLI
from schedlab.jit import step
from schedlab.sim.kernels import slots
from schedlab.sim.kernels.state import GangRoom, State

#: Shapes whose counts are kept at once (the shapes of the gangs waiting, most often).
SLOTS = 32


@step
def copies(st: State, s: int, n: int) -> int:
    """Tasks of shape ``s`` node ``n`` holds now (0 out of service)."""
    c, sh = st.c, st.sh
    if not c.up[n]:
        return 0
    count = c.cpu_left[n] // max(sh.cpu[s], 1)
    if sh.mem[s] > 0:
        count = min(count, c.mem_left[n] // sh.mem[s])
    if sh.k[s] > 0:
        if not sh.allowed[s, c.model[n]]:
            return 0
        gpus = 0
        for g in range(c.gpu_free.shape[1]):
            if sh.cls[s] == 0:
                gpus += c.gpu_free[n, g] // sh.milli[s]
            elif c.gpu_free[n, g] == GPU_MILLI:
                gpus += 1
        count = min(count, gpus if sh.cls[s] == 0 else gpus // sh.k[s])
    return count


@step
def room(st: State, s: int) -> int:
    """Tasks of shape ``s`` the cluster holds now, each node packed on its own."""
    gr, pl = st.gr, st.pl
    changes, ring, nodes = pl.scal[0], pl.ring, len(st.c.cpu_left)
    gr.scal[0] += 1
    k = slots.take(gr.shape, gr.used, gr.seen, gr.scal[0], s)
    behind = changes - gr.seen[k]
    if gr.seen[k] < 0 or behind > len(ring) or behind * 8 > nodes:
        total = 0
        for n in range(nodes):
            gr.copies[k, n] = copies(st, s, n)
            total += gr.copies[k, n]
        gr.total[k] = total
    elif behind > 0:
        gr.scal[1] += 1
        for change in range(gr.seen[k], changes):
            n = ring[change % len(ring)]
            if gr.stamp[n] != gr.scal[1]:
                gr.stamp[n] = gr.scal[1]
                now = copies(st, s, n)
                gr.total[k] += now - gr.copies[k, n]
                gr.copies[k, n] = now
    gr.seen[k] = changes
    return gr.total[k]


def gang_room(gangs: bool, nodes: int) -> GangRoom:
    """The arrays of :func:`room` (of length one without gangs)."""
    size = nodes if gangs else 1
    return GangRoom(
        shape=np.full(SLOTS, -1, dtype=np.int64),
        seen=np.full(SLOTS, -1, dtype=np.int64),
        used=np.zeros(SLOTS, dtype=np.int64),
        total=np.zeros(SLOTS, dtype=np.int64),
        copies=np.zeros((SLOTS, size), dtype=np.int32),
        stamp=np.zeros(size, dtype=np.int64),
        scal=np.zeros(2, dtype=np.int64),
    )
