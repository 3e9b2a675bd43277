"""Node events on the compiled path: the mirror of :class:`schedlab.sim.nodes.Outages` and
the reference's ``_fail``. A node out of service hosts nothing (``fits`` reads ``up``); a
failure restarts its tasks (whole gangs) elsewhere; a node back in service is offered to
the queue; the GPU capacity in service is recorded after each event."""

from __future__ import annotations

import numpy as np

from schedlab.jit import merged, step
from schedlab.sim.kernels import guard
from schedlab.sim.kernels.actions import evict
from schedlab.sim.kernels.admission import drain, freed, requeue
from schedlab.sim.kernels.state import (
    CAP_ROWS,
    CAP_UP,
    FAIL_LOST,
    GUARD,
    NO,
    NOW,
    RESLICE,
    RESTARTS,
    SERVING,
    STRICT,
    YES,
    State,
)

FAIL, DRAIN, REPAIR, ADD = range(4)


@step
def set_up(st: State, n: int, up: bool) -> None:
    """Take node ``n`` out of service (what runs there stays) or back; log the change."""
    c, pl = st.c, st.pl
    if c.up[n] != up:
        st.ints[CAP_UP] += (1 if up else -1) * c.num_gpu[n] * 1000
    c.up[n] = up
    c.pristine[n] = False
    pl.ring[pl.scal[0] % len(pl.ring)] = n
    pl.scal[0] += 1


@merged
def _fail(kind: int, draws: bool, st: State, node: int) -> None:
    """``node`` failed: its running tasks (in task order, whole gangs) restart elsewhere."""
    run = st.run
    count = 0
    u = run.head[node]
    while u >= 0:
        i = count
        while i > 0 and run.order[i - 1] > u:
            run.order[i] = run.order[i - 1]
            i -= 1
        run.order[i] = u
        count += 1
        u = run.next[u]
    stopped, nodes, lost = evict(st, run.order, count)
    st.ints[RESTARTS] += stopped
    st.floats[FAIL_LOST] += lost
    others = np.int64(0)  # the nodes its gangs' other members freed
    for i in range(nodes):
        if run.nodes[i] != node:
            run.nodes[others] = run.nodes[i]
            others += 1
    requeue(kind, draws, st, stopped, others)
    if st.ints[STRICT]:  # a drain per node freed
        drain(kind, draws, st, others)


@step
def _kept_down(st: State, n: int, what: int) -> bool:
    """Dynamic MIG (the mirror of :meth:`schedlab.sim.reslice.Reslicer.node_event`): a GPU
    whose node fails or drains is away until it is repaired or added; whether that repair
    or addition must leave node ``n`` out of service (a layout its GPU does not serve now)."""
    rz = st.rz
    g = rz.gpu[n]
    if g < 0:
        return False
    if what == FAIL or what == DRAIN:  # noqa: SIM109 (numba)
        rz.away[g] = True
        return False
    rz.away[g] = False
    return not (rz.phase[g] == SERVING and rz.layout[n] == rz.current[g])


@merged
def node_event(kind: int, draws: bool, st: State, i: int) -> None:
    """Apply node event ``i`` now."""
    if st.ints[GUARD]:
        guard.update(st)
    ne, c = st.ne, st.c
    n, what = ne.node[i], ne.kind[i]
    keep_down = _kept_down(st, n, what) if st.ints[RESLICE] else False
    if what == FAIL:
        set_up(st, n, NO)
        _fail(kind, draws, st, n)
    elif what == DRAIN:
        set_up(st, n, NO)
    elif not c.up[n] and not keep_down:  # repair or add
        set_up(st, n, YES)
        freed(kind, draws, st, n)
    log_capacity(st)


@step
def log_capacity(st: State) -> None:
    """A capacity row: the GPU milli in service now."""
    ne, row = st.ne, st.ints[CAP_ROWS]
    ne.cap_time[row], ne.cap_milli[row] = st.floats[NOW], st.ints[CAP_UP]
    st.ints[CAP_ROWS] += 1
