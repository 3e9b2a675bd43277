"""The compiled event loop of the replay: arrivals, departures, fragmentation samples and
node events.

The exact mirror of :class:`schedlab.sim.reference.Replay` (same events in the same order,
same floating-point operations), on arrays. Events at one time run departures first, then
the arrival, then the sample, then node events, then a descheduling step, then GPUs ready
after a re-partitioning, then a re-partitioning step; departures among themselves in the
order they were scheduled.

:func:`run_events` stops early, with the state intact, when an output buffer could fill
during the next event or after ``budget`` events; the caller grows the buffers (or reports
progress) and calls it again.
"""

from __future__ import annotations

import numpy as np

from schedlab.engine.kernels import latest, pop
from schedlab.jit import kernel, merged, step
from schedlab.sim.kernels import defrag, guard, reslice
from schedlab.sim.kernels.actions import add_node, node_list, stop
from schedlab.sim.kernels.admission import arrive, drain, freed
from schedlab.sim.kernels.outages import node_event
from schedlab.sim.kernels.rates import key
from schedlab.sim.kernels.samples import in_service
from schedlab.sim.kernels.state import (
    ATTEMPTS,
    BUDGET,
    CAP_ROWS,
    DEFRAG,
    DEFRAG_AT,
    DONE,
    DT,
    ESTIMATE,
    EVENTS,
    FINISHED,
    GANG_MAX,
    GANGS,
    GROUP_MAX,
    GROW,
    GUARD,
    MOVE_ROOM,
    NEXT,
    NODE_NEXT,
    NOW,
    QUEUED,
    RATES,
    READY_AT,
    REJECTED,
    RESLICE,
    RESLICE_AT,
    RUNNING_NOW,
    SAMPLE_AT,
    SAMPLE_I,
    SAMPLE_ON,
    SAMPLES,
    SAMPLES_DONE,
    SERIES,
    STRICT,
    WAITING,
    State,
)


@step
def record(st: State) -> None:
    r, i = st.r, st.ints[SERIES]
    r.time[i], r.allocated[i] = st.floats[NOW], st.c.allocated[0]
    r.queued[i], r.running[i] = st.w.tally[1] + st.fa.hidden[0], st.ints[RUNNING_NOW]
    st.ints[SERIES] += 1
    if st.ints[DEFRAG]:
        defrag.arm(st)
    if st.ints[RESLICE]:
        reslice.arm(st)


@step
def sample(st: State) -> None:
    """Record the fragmentation numerator and free GPU milli of the nodes in service now,
    as they are and slice-aware."""
    frag, free, frag_compute, free_compute = in_service(st)
    r, i = st.r, st.ints[SAMPLES_DONE]
    r.sample_time[i], r.sample_frag[i], r.sample_free[i] = st.floats[NOW], frag, free
    r.sample_frag_compute[i], r.sample_free_compute[i] = frag_compute, free_compute
    st.ints[SAMPLES_DONE] += 1


@merged
def depart(kind: int, draws: bool, st: State, t: int) -> bool:
    """Task ``t``'s run ended now: its gang (all of it) leaves and the nodes it freed are
    offered to the queue. With progress rates a gang member whose work is done waits for
    the others (holding its GPUs); False while some are not done."""
    m, o, run, now = st.m, st.o, st.run, st.floats[NOW]
    if st.ints[GUARD]:  # tasks that waited too long go first when room is freed
        guard.update(st)
    if st.ints[GANGS] and st.ints[RATES] and m.gang_size[t] > 1:
        if run.finished[t]:
            return False
        run.finished[t] = True
        first = m.leader[t]
        run.done[first] += 1
        if run.done[first] < m.gang_size[first]:
            return False
        t = first
    node_list(st)
    nodes = 0
    for u in range(t, t + m.gang_size[t]):
        nodes = add_node(st, nodes, stop(st, u))
        o.status[u] = DONE
        o.end[u] = now
        if st.ints[ESTIMATE]:
            run_time = now - o.start[u]
            for level in range(m.groups.shape[1]):
                g = m.groups[u, level]
                m.est_total[g] += run_time
                m.est_count[g] += 1
    if st.ints[STRICT]:  # a drain per node freed
        drain(kind, draws, st, nodes)
    else:
        for i in range(nodes):
            freed(kind, draws, st, run.nodes[i])
    return True


@step
def next_sample(st: State) -> None:
    """After sample i: sample ``samples`` times over the arrivals, then ``samples`` times over
    what is left (as known at sample ``samples``); at most 3 x ``samples``."""
    ints, floats, now = st.ints, st.floats, st.floats[NOW]
    i, samples, n, events = ints[SAMPLE_I], ints[SAMPLES], len(st.m.arrival), len(st.ne.time)
    pending = st.h.size[0] + (1 if ints[NEXT] < n else 0) + (events - ints[NODE_NEXT])
    last = latest(st.h)
    for step_at in (floats[DEFRAG_AT], floats[RESLICE_AT]):  # steps scheduled
        if step_at < np.inf:
            pending += 1
            last = max(last, step_at)
    if ints[RESLICE]:  # GPUs being re-partitioned: when they are ready
        for at in st.rz.ready_at:
            if at < np.inf:
                pending += 1
                last = max(last, at)
    if i == samples and pending:
        if ints[NEXT] < n:
            last = max(last, st.m.arrival[ints[NEXT]])
        if ints[NODE_NEXT] < events:
            last = max(last, st.ne.time[events - 1])
        floats[DT] = max(floats[DT], (last - now) / samples)
    following = now + floats[DT]
    if pending and i < 3 * samples and following > now:
        floats[SAMPLE_AT] = following
        ints[SAMPLE_I] = i + 1
    else:
        ints[SAMPLE_ON] = 0


@kernel
def run_events(kind: int, draws: bool, st: State, budget: int) -> int:
    """Process events until none is left (FINISHED, after the final sample), an output
    buffer could overflow in the next event (GROW), or ``budget`` events (BUDGET)."""
    ints, floats, h, r, m, ne = st.ints, st.floats, st.h, st.r, st.m, st.ne
    n, events = len(m.arrival), len(ne.time)
    for _ in range(budget):
        busy = ints[RUNNING_NOW] + ints[QUEUED] + ints[GANG_MAX] + ints[MOVE_ROOM] + 2  # as build.headroom
        touched = busy * (ints[GROUP_MAX] + 1) if ints[RATES] else busy
        if (
            ints[ATTEMPTS] + ints[RUNNING_NOW] + ints[MOVE_ROOM] + 1 > len(r.task)
            or ints[SERIES] + 2 > len(r.time)
            or ints[SAMPLES_DONE] + 2 > len(r.sample_time)
            or h.size[0] + touched > len(h.time)
            or (ints[RATES] and st.q.segs[0] + touched > len(st.q.seg_task))
            or (
                ints[RESLICE] and ints[CAP_ROWS] + len(st.rz.current) + 1 > len(ne.cap_time)
            )  # as build.cap_room
        ):
            return GROW
        event, when = -1, np.inf
        if h.size[0] > 0:
            event, when = 0, h.time[0]
        if ints[NEXT] < n and m.arrival[ints[NEXT]] < when:
            event, when = 1, m.arrival[ints[NEXT]]
        if ints[SAMPLE_ON] and floats[SAMPLE_AT] < when:
            event, when = 2, floats[SAMPLE_AT]
        if ints[NODE_NEXT] < events and ne.time[ints[NODE_NEXT]] < when:
            event, when = 3, ne.time[ints[NODE_NEXT]]
        if floats[DEFRAG_AT] < when:
            event, when = 4, floats[DEFRAG_AT]
        if floats[READY_AT] < when:
            event, when = 5, floats[READY_AT]
        if floats[RESLICE_AT] < when:
            event, when = 6, floats[RESLICE_AT]
        if event < 0:
            sample(st)  # the last: at the time of the last event
            return FINISHED
        floats[NOW] = when
        ints[EVENTS] += 1
        if event == 0:
            t, attempt = h.first[0], h.second[0]
            pop(h)
            # else: evicted or slowed since: cancelled
            if attempt == key(st.q, st.o.attempt[t], t) and depart(kind, draws, st, t):
                record(st)
        elif event == 1:
            t = ints[NEXT]
            ints[NEXT] += 1
            if m.leader[t] != t:
                continue  # a gang member: its leader arrived at the same instant, for the gang
            members = m.gang_size[t]
            if not (m.schedulable[m.shape_of[t]] and m.gang_fits[t]):
                st.o.status[t : t + members] = REJECTED
            else:
                st.o.status[t : t + members] = WAITING
                if ints[GUARD]:  # tasks that waited too long go first
                    guard.update(st)
                arrive(kind, draws, st, t)
                record(st)
        elif event == 2:
            sample(st)
            next_sample(st)
        elif event == 3:
            ints[NODE_NEXT] += 1
            node_event(kind, draws, st, ints[NODE_NEXT] - 1)
            record(st)
        elif event == 4:
            if defrag.run_step(kind, draws, st):
                record(st)  # which schedules the next step
            else:
                defrag.arm(st)
        elif event == 5:
            reslice.ready(kind, draws, st)
            record(st)
        elif reslice.run_step(kind, draws, st):
            record(st)  # which schedules the next step
        elif ints[RUNNING_NOW] > 0 or reslice.busy(st):
            reslice.arm(st)
    return BUDGET
