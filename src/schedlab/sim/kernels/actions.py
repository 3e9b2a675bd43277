"""What the compiled replay does to tasks: start (a gang whole), stop, evict, restart.

The mirror of :class:`schedlab.sim.reference.Replay`'s actions: :func:`start` places a task
(or every member of a gang, all or none) where the placement policy chooses among the nodes
it may take, :func:`stop` frees what it holds, :func:`evict` stops tasks (whole gangs) to
start again later, and :func:`requeue` gives them and the nodes they freed back to the
admission rule (:mod:`schedlab.sim.kernels.admission`).
"""

from __future__ import annotations

import numpy as np

from schedlab.engine.kernels import push
from schedlab.jit import merged, step
from schedlab.scheduler.kernels import PLACE, RELEASE, commit
from schedlab.sim.kernels import evict as evictable
from schedlab.sim.kernels import exclusions, guard, queue, rates
from schedlab.sim.kernels.choose import choose
from schedlab.sim.kernels.gangs import room
from schedlab.sim.kernels.state import (
    ATTEMPTS,
    DEFRAG,
    DOWN,
    FAIR,
    GANGS,
    GUARD,
    NOW,
    PREEMPTS,
    RATES,
    RUNNING,
    RUNNING_NOW,
    SPREAD,
    TRACKED,
    UP,
    WAITING,
    State,
)


@step
def begin(st: State, t: int, s: int, n: int, mask: int) -> float:
    """Task ``t`` runs from now on GPUs ``mask`` of node ``n``; its end at the node's speed."""
    o, m, now = st.o, st.m, st.floats[NOW]
    o.status[t], o.start[t], o.node[t], o.mask[t] = RUNNING, now, n, mask
    speed = m.speed[st.c.model[n], m.speed_class[s]]
    if st.ints[RATES]:
        rates.start(st.q, st.h, o.attempt, t, n, mask, m.duration[t], speed, now)
    gd = st.gd
    if st.ints[GUARD] and gd.ints[guard.SPARE] and now - gd.since[t] >= gd.floats[guard.AFTER]:
        m.preemptible[t] = False  # it starved: the guard spares it from eviction from now on
    if st.ints[PREEMPTS] and m.preemptible[t]:
        evictable.add(st.e, st.sh, t, s, n, mask, now)
    st.ints[RUNNING_NOW] += 1
    if st.ints[TRACKED]:  # the node's running tasks, in start order
        run = st.run
        run.prev[t], run.next[t] = run.tail[n], -1
        if run.tail[n] >= 0:
            run.next[run.tail[n]] = t
        else:
            run.head[n] = t
        run.tail[n] = t
    if st.ints[SPREAD]:
        exclusions.track(st, t, UP)
    if st.ints[FAIR]:
        queue.held(st, t, UP)
    work = m.duration[t]
    if st.ints[DEFRAG]:
        work -= st.dg.kept[t]  # moved: the work it did before is kept
    return now + work / speed


@step
def place_members(kind: int, draws: bool, st: State, t: int, s: int, size: int) -> bool:
    """Place ``size`` tasks of gang ``t`` (shape ``s``) one after another, not on the nodes
    of ``st.x``, into ``st.run.gang_node`` and ``gang_mask``: all of them, or none (released)."""
    run = st.run
    for k in range(size):
        n, mask = choose(kind, draws, st, t, s)
        if n < 0:
            for j in range(k - 1, -1, -1):
                commit(st.c, st.sh, st.f, st.pl, s, run.gang_node[j], run.gang_mask[j], RELEASE)
            return False
        commit(st.c, st.sh, st.f, st.pl, s, n, mask, PLACE)
        run.gang_node[k], run.gang_mask[k] = n, mask
    return True


@merged
def _gang(kind: int, draws: bool, st: State, t: int) -> bool:
    """Start gang ``t`` whole: its members placed one after another (on any nodes), or none."""
    s, size, run = st.m.shape_of[t], st.m.gang_size[t], st.run
    if not draws and room(st, s) < size:
        return False  # the placements would fail (a policy that draws places them: its draws count)
    exclusions.fresh(st.x)
    if not place_members(kind, draws, st, t, s, size):
        return False
    latest = -np.inf
    for k in range(size):
        latest = max(latest, begin(st, t + k, s, run.gang_node[k], run.gang_mask[k]))
    if not st.ints[RATES]:  # the gang leaves when its slowest task is done
        push(st.h, latest, t, rates.key(st.q, st.o.attempt[t], t))
    if st.ints[GUARD]:
        for k in range(size):
            run.end[t + k] = latest
    return True


@step
def start(kind: int, draws: bool, st: State, t: int, given: bool) -> bool:
    """Start ``t`` (its gang) now if it fits somewhere; ``given``: the nodes it may not take
    are in ``st.x`` already (else they are found now)."""
    if st.m.gang_size[t] > 1:
        return _gang(kind, draws, st, t)
    s = st.m.shape_of[t]
    if not given:
        exclusions.excluded(st, t)
    n, mask = choose(kind, draws, st, t, s)
    if n < 0:
        return False
    commit(st.c, st.sh, st.f, st.pl, s, n, mask, PLACE)
    end = begin(st, t, s, n, mask)
    if not st.ints[RATES]:
        push(st.h, end, t, rates.key(st.q, st.o.attempt[t], t))
    if st.ints[GUARD]:
        st.run.end[t] = end
    return True


@step
def stop(st: State, t: int) -> int:
    """Free what ``t`` holds; record the attempt; return its node."""
    o, r, now = st.o, st.r, st.floats[NOW]
    s, n, mask = st.m.shape_of[t], o.node[t], o.mask[t]
    commit(st.c, st.sh, st.f, st.pl, s, n, mask, RELEASE)
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
        evictable.remove(st.e, st.sh, t, s, n, mask)
    st.ints[RUNNING_NOW] -= 1
    if st.ints[TRACKED]:
        run = st.run
        before, after = run.prev[t], run.next[t]
        if before >= 0:
            run.next[before] = after
        else:
            run.head[n] = after
        if after >= 0:
            run.prev[after] = before
        else:
            run.tail[n] = before
    if st.ints[SPREAD]:
        exclusions.track(st, t, DOWN)
    if st.ints[GUARD]:
        st.gd.since[t] += now - o.start[t]  # its wait resumes
    if st.ints[FAIR]:
        queue.held(st, t, DOWN)
    return n


@step
def node_list(st: State) -> int:
    """Start a new list of distinct nodes (``st.run.nodes``); its mark."""
    st.run.marks[0] += 1
    return st.run.marks[0]


@step
def add_node(st: State, count: int, n: int) -> int:
    """Append node ``n`` to the list unless it is there; the new length."""
    run = st.run
    if run.node_mark[n] != run.marks[0]:
        run.node_mark[n] = run.marks[0]
        run.nodes[count] = n
        count += 1
    return count


@step
def evict(st: State, tasks: np.ndarray, count: int) -> tuple[int, int, float]:
    """Stop ``tasks[:count]`` and the rest of their gangs (in that order, each once) to start
    again later. Returns how many stopped (in ``st.run.tasks``), how many distinct nodes they
    freed (in ``st.run.nodes``) and the GPU-seconds lost."""
    m, o, run, now = st.m, st.o, st.run, st.floats[NOW]
    run.marks[1] += 1
    k = 0
    for i in range(count):
        first = m.leader[tasks[i]]
        for u in range(first, first + m.gang_size[first]):
            if run.task_mark[u] != run.marks[1]:
                run.task_mark[u] = run.marks[1]
                run.tasks[k] = u
                k += 1
    node_list(st)
    freed, lost = 0, 0.0
    for i in range(k):
        v = run.tasks[i]
        lost += (now - o.start[v]) * st.sh.total[m.shape_of[v]] / 1000
        freed = add_node(st, freed, stop(st, v))
        o.attempt[v] += 1
        o.status[v] = WAITING
        if st.ints[DEFRAG]:
            st.dg.kept[v] = 0.0  # it starts over
        if st.ints[GANGS] and st.ints[RATES]:  # a gang restarts whole: its members' work is lost
            run.finished[v] = False
            run.done[m.leader[v]] = 0
    return k, freed, lost
