"""Tasks entering and leaving the compiled waiting queue, with their keys: the queue
policy's (fixed, a learned sjf-est estimate, or a ``drf`` share), the starvation guard's
starving key, and ``drf``'s re-keying of a user's waiting tasks when its share changes.
The mirror of :class:`schedlab.sim.waiting.WaitingQueue` and the queue policies."""

from __future__ import annotations

import numpy as np

from schedlab.jit import step
from schedlab.sim.kernels import groups, guard, waiting
from schedlab.sim.kernels.state import ESTIMATE, FAIR, GUARD, QUEUED, WAITING, State


@step
def entering(st: State, t: int) -> tuple[float, float, float]:
    """The key ``t`` enters the queue with now (the queue policy's; not starving)."""
    m = st.m
    if st.ints[ESTIMATE]:  # sjf-est: the mean run time of its first group with finished tasks
        for level in range(m.groups.shape[1]):
            g = m.groups[t, level]
            if m.est_count[g]:
                return m.est_total[g] / m.est_count[g], 0.0, 0.0
        return 0.0, 0.0, 0.0
    if st.ints[FAIR]:
        return groups.share(st.fa, st.fa.user[t]), m.arrival[t], 0.0
    return m.key0[t], m.key1[t], 0.0


@step
def comes_before(st: State, t: int, u: int) -> bool:
    """Whether ``t`` comes before ``u`` (waiting) in queue order: ``t`` with its key if it
    waits, else with the key it would enter with."""
    w = st.w
    if w.pos[t] >= 0:
        return waiting.before(w, t, u)
    gd = st.gd
    if not (st.ints[GUARD] and guard.promoted(gd, t)):
        a = entering(st, t)
    elif gd.ints[guard.TIER] == 0:  # the starving key it would enter with
        a = (-np.inf, gd.since[t], 0.0)
    else:
        a = (st.m.key0[t], -np.inf, gd.since[t])
    b = (w.key0[u], w.key1[u], w.key2[u])
    if a[0] != b[0]:
        return a[0] < b[0]
    if a[1] != b[1]:
        return a[1] < b[1]
    if a[2] != b[2]:
        return a[2] < b[2]
    return t < u


@step
def _joined(st: State, t: int) -> None:
    """``t`` (its key set) enters the heaps: its shape's, the guard's, its user's list."""
    if st.ints[GUARD] and guard.promoted(st.gd, t):
        guard.starve(st, t)
    if st.ints[FAIR] and not (st.ints[GUARD] and st.gd.starving[t]):
        groups.join(st, t)
    else:
        waiting.push(st.w, st.m.shape_of[t], t)
    st.ints[QUEUED] += st.m.gang_size[t]
    if st.ints[GUARD]:
        guard.add(st.gd, t)


@step
def enqueue(st: State, t: int) -> None:
    """Queue ``t`` with the key it enters with."""
    w = st.w
    w.key0[t], w.key1[t], w.key2[t] = entering(st, t)
    _joined(st, t)
    st.o.status[t] = WAITING


@step
def requeue(st: State, t: int) -> None:
    """Put ``t``, just taken off the queue, back with its key unchanged."""
    _joined(st, t)


@step
def leave(st: State, t: int) -> None:
    """Take waiting task ``t`` off the queue."""
    if st.ints[FAIR] and not (st.ints[GUARD] and st.gd.starving[t]):
        groups.part(st, t)
    else:
        waiting.remove(st.w, t)
    st.ints[QUEUED] -= st.m.gang_size[t]
    if st.ints[GUARD]:
        guard.drop(st.gd, t)


@step
def dequeue(st: State, s: int) -> int:
    """Take shape ``s``'s first waiting task off the queue."""
    t = waiting.first(st.w, s)
    leave(st, t)
    return t


@step
def held(st: State, t: int, sign: int) -> None:
    """``t`` started (``sign`` 1) or stopped (-1): its user's share changes, and the user's
    other waiting tasks (but ``t``'s gang leader, which may wait still) take their keys again
    (a starving task keeps its key)."""
    fa = st.fa
    u = fa.user[t]
    fa.held_gpu[u] += sign * fa.gpu[t]
    fa.held_cpu[u] += sign * fa.cpu[t]
    groups.rekey(st, u, st.m.leader[t])
