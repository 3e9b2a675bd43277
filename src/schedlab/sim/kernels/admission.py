"""The admission rules on the compiled path: what is tried when a task arrives, when tasks
were evicted and when a node gained room; and preemption.

The mirror of :mod:`schedlab.sim.admission` (backfill, strict) and of
:mod:`schedlab.sim.preempting` (``preempt_for`` and ``requeue``). In strict admission the
reference drains the queue once per node a preemption freed, inside the drain that asked for
it, which then goes on: a drain's loop keeps no state, so :func:`drain` runs that many
drains more, one after another (each may try a gang at the head again, and a gang placed in
part before it fails draws random numbers)."""

from __future__ import annotations

from schedlab.arrays import IntArray
from schedlab.cluster.kernels import fits
from schedlab.jit import merged, step
from schedlab.sim.kernels import evict as evictable
from schedlab.sim.kernels import exclusions, queue, safety, waiting
from schedlab.sim.kernels.actions import evict, start
from schedlab.sim.kernels.state import ADMIT, EVERY, GANGS, LOST, NO, NOW, ONE, PREEMPTS, STRICT, YES, State


@step
def _gang_holds(st: State) -> bool:
    """Whether the task at the head of the queue is a gang."""
    s = waiting.head(st.w, False)
    return s >= 0 and st.m.gang_size[waiting.first(st.w, s)] > 1


@step
def _candidates(st: State, node: int) -> None:
    """Mark the waiting shapes to try: those that fit ``node`` as it is now (every shape for
    node -1)."""
    w = st.w
    for i in range(w.tally[0]):
        s = w.active[i]
        w.candidate[s] = node < 0 or fits(st.c, st.sh, s, node)


@step
def backfill(kind: int, draws: bool, st: State, node: int) -> None:
    """Start waiting tasks in queue order: those whose shape fits ``node`` (-1: every shape),
    stopping at a gang at the head that cannot start."""
    w = st.w
    _candidates(st, node)
    while True:
        best = waiting.head(w, True)
        if best < 0:
            return
        if st.ints[GANGS] and _gang_holds(st):
            s = waiting.head(w, False)
            t = waiting.first(w, s)
            if not start(kind, draws, st, t, NO):
                return  # the gang holds the queue
            queue.leave(st, t)
            node = -1  # what waited behind it may start anywhere now
            _candidates(st, node)
            continue
        t = waiting.first(w, best)
        if start(kind, draws, st, t, NO):
            queue.leave(st, t)
            _candidates(st, node)
        else:
            w.candidate[best] = False


@step
def drain(kind: int, draws: bool, st: State, runs: int) -> None:
    """Strict admission, ``runs`` times: start tasks from the head of the queue until the
    head cannot start (nor preempt for itself)."""
    w = st.w
    while runs > 0:
        runs -= 1
        while w.tally[1] > 0:
            t = queue.dequeue(st, waiting.head(w, False))
            if start(kind, draws, st, t, NO):
                continue
            freed_nodes = preempt_for(kind, draws, st, t)
            if freed_nodes == 0:
                queue.requeue(st, t)  # back, with its key unchanged
                break
            runs += freed_nodes  # a drain per node it freed


@step
def freed(kind: int, draws: bool, st: State, node: int) -> None:
    """Resources were freed on ``node`` (or it came back): start what should start."""
    if st.ints[STRICT]:
        drain(kind, draws, st, ONE)
    else:
        backfill(kind, draws, st, node)


@merged
def arrive(kind: int, draws: bool, st: State, t: int) -> None:
    if st.ints[STRICT]:
        if st.w.tally[1] > 0:
            queue.enqueue(st, t)
            drain(kind, draws, st, ONE)
        elif not start(kind, draws, st, t, NO):
            freed_nodes = preempt_for(kind, draws, st, t)
            if freed_nodes:
                drain(kind, draws, st, freed_nodes)
            else:
                queue.enqueue(st, t)
    elif st.ints[GANGS] and _gang_holds(st):
        queue.enqueue(st, t)
        backfill(kind, draws, st, EVERY)
    elif not start(kind, draws, st, t, NO) and not preempt_for(kind, draws, st, t):
        queue.enqueue(st, t)


@step
def requeue(kind: int, draws: bool, st: State, stopped: int, nodes: int) -> None:
    """Give the ``stopped`` tasks of ``st.run.tasks`` (by gang leader) and the ``nodes`` of
    ``st.run.nodes`` back to the admission rule: backfill tries the tasks at once and the
    nodes in turn; strict queues the tasks (its caller drains)."""
    m, run = st.m, st.run
    run.marks[1] += 1
    mark = run.marks[1]
    for i in range(stopped):  # each leader once, in order (their members share its mark)
        first = m.leader[run.tasks[i]]
        if run.task_mark[first] == mark:
            continue
        run.task_mark[first] = mark
        if st.ints[STRICT] or not start(kind, draws, st, first, NO):
            queue.enqueue(st, first)
    if not st.ints[STRICT]:
        for i in range(nodes):
            backfill(kind, draws, st, run.nodes[i])


@step
def preempt_for(kind: int, draws: bool, st: State, t: int) -> int:
    """Evict preemptible tasks of one node (whole gangs) so that preemptor ``t`` starts there
    or anywhere it may; how many distinct nodes that freed (strict admission drains once per
    node), 0 if not allowed or impossible (gangs do not preempt)."""
    m, o, e = st.m, st.o, st.e
    if not (st.ints[PREEMPTS] and m.preemptor[t]) or m.gang_size[t] > 1:
        return 0
    s, now = m.shape_of[t], st.floats[NOW]
    exclusions.excluded(st, t)  # never a node it may not take
    e.mark[0] += 1
    for i in range(st.x.scal[0]):
        e.skip[st.x.nodes[i]] = e.mark[0]
    plain = st.x.scal[0] == 0 and not st.ints[ADMIT]  # whether the node alone decides
    among, listed = _changed_since_failure(st, s) if plain else (e.every, len(e.every))
    while True:
        node, victims = evictable.cheapest(
            st.c, st.sh, e, o.start, o.mask, m.shape_of, m.rank, now, s, among, listed
        )
        if node < 0:
            if plain:
                e.failed[s] = st.pl.scal[0]
            return 0
        if not st.ints[ADMIT] or _admitted_without(st, t, s, node, victims):
            break
        e.skip[node] = e.mark[0]  # the policy refuses it: the next cheapest
    stopped, nodes, lost = evict(st, e.chosen, victims)
    for i in range(stopped):
        o.preemptions[st.run.tasks[i]] += 1
    st.floats[LOST] += lost
    start(kind, draws, st, t, YES)  # where it was allowed before the evictions
    # the node it evicted for first, then the others its victims' gangs freed
    run = st.run
    at = nodes
    for i in range(nodes):
        if run.nodes[i] == node:
            at = i
    for i in range(at - 1, -1, -1):
        run.nodes[i + 1] = run.nodes[i]
    run.nodes[0] = node
    count = nodes if at < nodes else nodes + 1
    requeue(kind, draws, st, stopped, count)
    return count


@step
def _changed_since_failure(st: State, s: int) -> tuple[IntArray, int]:
    """The nodes to search for shape ``s``: those the placer's log shows changed since a
    search for ``s`` last failed (each node unchanged since then still cannot make room:
    that depends only on the node's own tasks, free resources and service), or all of them
    when that is unknown or most of them."""
    e, pl = st.e, st.pl
    changes, ring, every = pl.scal[0], pl.ring, e.every
    behind = changes - e.failed[s]
    if e.failed[s] < 0 or behind > len(ring) or behind * 8 > len(every):
        return every, len(every)
    e.mark[1] += 1
    count = 0
    for change in range(e.failed[s], changes):
        n = ring[change % len(ring)]
        if e.stamp[n] != e.mark[1]:
            e.stamp[n] = e.mark[1]
            e.listed[count] = n
            count += 1
    return e.listed, count


@step
def _admitted_without(st: State, t: int, s: int, node: int, victims: int) -> bool:
    """Whether the placement policy admits ``node`` for ``t`` once the first ``victims`` of
    ``st.e.chosen`` are gone (a dry run: nothing changes)."""
    sf, sh, c = st.sf, st.sh, st.c
    sf.mark[0] += 1
    for g in range(c.gpu_free.shape[1]):
        sf.free[g] = c.gpu_free[node, g]
    for i in range(victims):
        v = st.e.chosen[i]
        sf.skip[v] = sf.mark[0]
        for g in range(c.gpu_free.shape[1]):
            if st.o.mask[v] >> g & 1:
                sf.free[g] += sh.milli[st.m.shape_of[v]]
    return safety.admitted(st, t, s, node, YES)
