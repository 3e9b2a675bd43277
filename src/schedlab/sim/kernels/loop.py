"""The compiled event loop of the replay: arrivals, departures and fragmentation samples.

The exact mirror of :class:`schedlab.sim.reference.Replay` (same events in the same order,
same floating-point operations), on arrays. Events at one time run departures first, then
the arrival, then the sample; departures among themselves in the order they were scheduled.

:func:`run_events` stops early, with the state intact, when an output buffer could fill
during the next event or after ``budget`` events; the caller grows the buffers (or reports
progress) and calls it again.
"""

from __future__ import annotations

import numpy as np

from schedlab.engine.kernels import latest, pop
from schedlab.jit import kernel
from schedlab.sim.kernels.actions import drain_node, drain_strict, enqueue, preempt_for, start, stop
from schedlab.sim.kernels.rates import key
from schedlab.sim.kernels.state import (
    ATTEMPTS,
    BUDGET,
    CAPACITY,
    DONE,
    DT,
    ESTIMATE,
    EVENTS,
    FINISHED,
    GROUP_MAX,
    GROW,
    NEXT,
    NOW,
    PREEMPTS,
    RATES,
    REJECTED,
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


@kernel
def record(st: State) -> None:
    r, i = st.r, st.ints[SERIES]
    r.time[i], r.allocated[i] = st.floats[NOW], st.c.allocated[0]
    r.queued[i], r.running[i] = st.w.tally[1], st.ints[RUNNING_NOW]
    st.ints[SERIES] += 1


@kernel
def sample(st: State) -> None:
    """Record the cluster's fragmentation numerator and free GPU milli now."""
    total = 0
    for n in range(len(st.c.frag)):
        total += st.c.frag[n]
    i = st.ints[SAMPLES_DONE]
    st.r.sample_time[i], st.r.sample_frag[i] = st.floats[NOW], total
    st.r.sample_free[i] = st.ints[CAPACITY] - st.c.allocated[0]
    st.ints[SAMPLES_DONE] += 1


@kernel
def arrive(kind: int, draws: bool, st: State, t: int) -> None:
    if st.ints[STRICT]:
        if st.w.tally[1] > 0:
            enqueue(st, t)
            drain_strict(kind, draws, st)
        elif not start(kind, draws, st, t):
            if preempt_for(kind, draws, st, t):
                drain_strict(kind, draws, st)
            else:
                enqueue(st, t)
    elif not start(kind, draws, st, t) and not preempt_for(kind, draws, st, t):
        enqueue(st, t)


@kernel
def depart(kind: int, draws: bool, st: State, t: int) -> None:
    m, now = st.m, st.floats[NOW]
    node = stop(st, t)
    st.o.status[t] = DONE
    st.o.end[t] = now
    if st.ints[ESTIMATE]:
        run = now - st.o.start[t]
        for level in range(m.groups.shape[1]):
            g = m.groups[t, level]
            m.est_total[g] += run
            m.est_count[g] += 1
    if st.ints[STRICT]:
        drain_strict(kind, draws, st)
    else:
        drain_node(kind, draws, st, node)


@kernel
def next_sample(st: State) -> None:
    """After sample i: sample ``samples`` times over the arrivals, then ``samples`` times over
    what is left (as known at sample ``samples``); at most 3 x ``samples``."""
    ints, floats, now = st.ints, st.floats, st.floats[NOW]
    i, samples, n = ints[SAMPLE_I], ints[SAMPLES], len(st.m.arrival)
    pending = st.h.size[0] + (1 if ints[NEXT] < n else 0)
    if i == samples and pending:
        last = latest(st.h)
        if ints[NEXT] < n:
            last = max(last, st.m.arrival[ints[NEXT]])
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
    ints, floats, h, r, m = st.ints, st.floats, st.h, st.r, st.m
    n = len(m.arrival)
    for _ in range(budget):
        busy = ints[RUNNING_NOW] + st.w.tally[1] + 2  # as state.headroom
        stops = 1 + (ints[RUNNING_NOW] if ints[PREEMPTS] else 0)
        touched = busy * (ints[GROUP_MAX] + 1) if ints[RATES] else busy
        if (
            ints[ATTEMPTS] + stops > len(r.task)
            or ints[SERIES] + 2 > len(r.time)
            or ints[SAMPLES_DONE] + 2 > len(r.sample_time)
            or h.size[0] + touched > len(h.time)
            or (ints[RATES] and st.q.segs[0] + touched > len(st.q.seg_task))
        ):
            return GROW
        event, when = -1, np.inf
        if h.size[0] > 0:
            event, when = 0, h.time[0]
        if ints[NEXT] < n and m.arrival[ints[NEXT]] < when:
            event, when = 1, m.arrival[ints[NEXT]]
        if ints[SAMPLE_ON] and floats[SAMPLE_AT] < when:
            event, when = 2, floats[SAMPLE_AT]
        if event < 0:
            sample(st)  # the last: at the time of the last event
            return FINISHED
        floats[NOW] = when
        ints[EVENTS] += 1
        if event == 0:
            t, attempt = h.first[0], h.second[0]
            pop(h)
            if attempt == key(st.q, st.o.attempt[t], t):  # else: evicted or slowed since: cancelled
                depart(kind, draws, st, t)
                record(st)
        elif event == 1:
            t = ints[NEXT]
            ints[NEXT] += 1
            if not m.schedulable[m.shape_of[t]]:
                st.o.status[t] = REJECTED
            else:
                st.o.status[t] = WAITING
                arrive(kind, draws, st, t)
                record(st)
        else:
            sample(st)
            next_sample(st)
    return BUDGET
