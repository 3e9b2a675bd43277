"""The nodes a task may not take: anti-affinity (a service at its cap on the node) and the
starvation guard's reservations for others. The mirror of
:func:`schedlab.sim.exclusions.excluded_nodes`, :class:`schedlab.sim.spread.Spread` and
:meth:`~schedlab.sim.reservation.StarvationGuard.reserved`."""

from __future__ import annotations

from schedlab.jit import inline, step
from schedlab.sim.kernels import guard, queue
from schedlab.sim.kernels.state import GUARD, NOW, SPREAD, Exclusions, State


@inline
def fresh(x: Exclusions) -> None:
    """Start a new (empty) list."""
    x.scal[0] = 0
    x.scal[1] += 1


@inline
def exclude(x: Exclusions, n: int) -> None:
    """Add node ``n`` to the list (once)."""
    if x.mark[n] != x.scal[1]:
        x.mark[n] = x.scal[1]
        x.nodes[x.scal[0]] = n
        x.scal[0] += 1


@inline
def is_excluded(x: Exclusions, n: int) -> bool:
    return x.mark[n] == x.scal[1]


@step
def track(st: State, t: int, sign: int) -> None:
    """``t`` started (``sign`` 1) or stopped (-1): keep its service's list of running tasks."""
    sp = st.sp
    v = sp.service[t]
    if v < 0:
        return
    if sign > 0:
        sp.prev[t], sp.next[t] = -1, sp.head[v]
        if sp.head[v] >= 0:
            sp.prev[sp.head[v]] = t
        sp.head[v] = t
        return
    before, after = sp.prev[t], sp.next[t]
    if before >= 0:
        sp.next[before] = after
    else:
        sp.head[v] = after
    if after >= 0:
        sp.prev[after] = before


@step
def _full(st: State, t: int) -> None:
    """Exclude the nodes running as many tasks of ``t``'s service as its cap allows."""
    sp, node = st.sp, st.o.node
    v = sp.service[t]
    if v < 0:
        return
    u = sp.head[v]
    while u >= 0:
        sp.tally[node[u]] += 1
        u = sp.next[u]
    u = sp.head[v]
    while u >= 0:
        if sp.tally[node[u]] >= sp.cap[t]:
            exclude(st.x, node[u])
        u = sp.next[u]
    u = sp.head[v]
    while u >= 0:
        sp.tally[node[u]] = 0
        u = sp.next[u]


@step
def _reserved(st: State, t: int) -> None:
    """Exclude the nodes reserved for others where ``t``, starting now, would not end by
    their shadow time; a node held by a task of ``t``'s shape that comes after ``t`` in queue
    order is open to ``t``."""
    gd, m, now = st.gd, st.m, st.floats[NOW]
    s = m.shape_of[t]
    for j in range(gd.ints[guard.HELD]):
        n, holder = gd.held_node[j], gd.held_task[j]
        if holder == t or (m.shape_of[holder] == s and queue.comes_before(st, t, holder)):
            continue
        end = now + m.duration[t] / m.speed[st.c.model[n], m.speed_class[s]]
        if end > max(gd.held_value[j], now):
            exclude(st.x, n)


@step
def excluded(st: State, t: int) -> None:
    """The nodes ``t`` may not take, in ``st.x`` (the guard's reservations brought up to date)."""
    fresh(st.x)
    if st.ints[SPREAD]:
        _full(st, t)
    if st.ints[GUARD]:
        guard.update(st)
        _reserved(st, t)
