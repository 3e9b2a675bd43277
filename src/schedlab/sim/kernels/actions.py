"""What the compiled replay does to tasks: start, stop, queue, drain, preempt.

The mirror of :class:`schedlab.sim.reference.Replay`'s actions and of the admission
policies (backfill and strict). In strict admission a preemption does not drain the queue
itself: the drain that asked for it goes on (the reference's nested drain gives the same
result, since a task that could not start or preempt changes nothing).
"""

from __future__ import annotations

from schedlab.cluster.kernels import fits
from schedlab.engine.kernels import push
from schedlab.jit import kernel
from schedlab.scheduler.kernels import commit, select, select_drawn
from schedlab.sim.kernels import evict, rates, waiting
from schedlab.sim.kernels.state import (
    ATTEMPTS,
    ESTIMATE,
    LOST,
    NOW,
    PREEMPTS,
    RATES,
    RUNNING,
    RUNNING_NOW,
    STRICT,
    WAITING,
    State,
)


@kernel
def start(kind: int, draws: bool, st: State, t: int) -> bool:
    """Start task ``t`` now if it fits somewhere (the placement policy picks the node)."""
    s = st.m.shape_of[t]
    if draws:
        n, mask = select_drawn(kind, st.c, st.sh, st.f, st.p, st.pl, st.rng, s)
    else:
        n, mask = select(kind, st.c, st.sh, st.f, st.p, st.pl, s)
    if n < 0:
        return False
    commit(st.c, st.sh, st.f, st.pl, s, n, mask, -1)
    now, o = st.floats[NOW], st.o
    o.status[t], o.start[t], o.node[t], o.mask[t] = RUNNING, now, n, mask
    speed = st.m.speed[st.c.model[n], st.m.speed_class[s]]
    if st.ints[RATES]:
        rates.start(st.q, st.h, o.attempt, t, n, mask, st.m.duration[t], speed, now)
    else:
        push(st.h, now + st.m.duration[t] / speed, t, rates.key(st.q, o.attempt[t], t))
    if st.ints[PREEMPTS] and st.m.preemptible[t]:
        evict.add(st.e, st.sh, t, s, n, mask, now)
    st.ints[RUNNING_NOW] += 1
    return True


@kernel
def stop(st: State, t: int) -> int:
    """Free what ``t`` holds; record the attempt; return its node."""
    o, r, now = st.o, st.r, st.floats[NOW]
    s, n, mask = st.m.shape_of[t], o.node[t], o.mask[t]
    commit(st.c, st.sh, st.f, st.pl, s, n, mask, 1)
    if st.ints[RATES]:
        rates.stop(st.q, st.h, o.attempt, t, n, mask, now)
    o.ran[t] += now - o.start[t]
    i = st.ints[ATTEMPTS]
    r.task[i], r.node[i], r.mask[i], r.start[i], r.end[i], r.attempt[i] = (
        t,
        n,
        mask,
        o.start[t],
        now,
        o.attempt[t],
    )
    st.ints[ATTEMPTS] += 1
    if st.ints[PREEMPTS] and st.m.preemptible[t]:
        evict.remove(st.e, st.sh, t, s, n, mask)
    st.ints[RUNNING_NOW] -= 1
    return n


@kernel
def enqueue(st: State, t: int) -> None:
    """Queue ``t``; sjf-est takes its key now (the mean run time of its first group with
    finished tasks: same shape and user, same shape, everyone; else 0)."""
    m = st.m
    if st.ints[ESTIMATE]:
        key = 0.0
        for level in range(m.groups.shape[1]):
            g = m.groups[t, level]
            if m.est_count[g]:
                key = m.est_total[g] / m.est_count[g]
                break
        st.w.key0[t] = key
    waiting.push(st.w, m.shape_of[t], t)
    st.o.status[t] = WAITING


@kernel
def drain_node(kind: int, draws: bool, st: State, node: int) -> None:
    """Backfill after ``node`` gained resources: in queue order, start every waiting task
    whose shape fits that node (it may start elsewhere: the policy chooses)."""
    w, candidate = st.w, st.w.candidate
    for i in range(w.tally[0]):
        s = w.active[i]
        candidate[s] = fits(st.c, st.sh, s, node)
    while True:
        best = -1
        for i in range(w.tally[0]):
            s = w.active[i]
            if candidate[s] and (best < 0 or waiting.before(w, waiting.first(w, s), waiting.first(w, best))):
                best = s
        if best < 0:
            return
        if start(kind, draws, st, waiting.first(w, best)):
            waiting.pop(w, best)
            for i in range(w.tally[0]):  # every waiting shape that fits the node now
                s = w.active[i]
                candidate[s] = fits(st.c, st.sh, s, node)
        else:
            candidate[best] = False


@kernel
def drain_strict(kind: int, draws: bool, st: State) -> None:
    """Strict admission: start tasks from the head of the queue until the head cannot start
    (nor preempt for itself)."""
    w = st.w
    while w.tally[1] > 0:
        best = w.active[0]
        for i in range(1, w.tally[0]):
            s = w.active[i]
            if waiting.before(w, waiting.first(w, s), waiting.first(w, best)):
                best = s
        t = waiting.pop(w, best)
        if start(kind, draws, st, t):
            continue
        if not preempt_for(kind, draws, st, t):
            waiting.push(w, best, t)  # back, with its key unchanged
            return


@kernel
def preempt_for(kind: int, draws: bool, st: State, t: int) -> bool:
    """Evict preemptible tasks of one node so that preemptor ``t`` starts; False if not."""
    if not (st.ints[PREEMPTS] and st.m.preemptor[t]):
        return False
    now, o, e = st.floats[NOW], st.o, st.e
    node, victims = evict.cheapest(
        st.c, st.sh, e, o.start, o.mask, st.m.shape_of, st.m.rank, now, st.m.shape_of[t]
    )
    if node < 0:
        return False
    for i in range(victims):
        v = e.chosen[i]
        stop(st, v)
        o.preemptions[v] += 1
        o.attempt[v] += 1
        st.floats[LOST] += (now - o.start[v]) * st.sh.total[st.m.shape_of[v]] / 1000
        o.status[v] = WAITING
    start(kind, draws, st, t)
    for i in range(victims):
        v = e.chosen[i]
        if st.ints[STRICT] or not start(kind, draws, st, v):
            enqueue(st, v)
    if not st.ints[STRICT]:
        drain_node(kind, draws, st, node)
    return True
