"""Dynamic MIG on the compiled path: the mirror of :class:`schedlab.sim.reslice.Reslicer`
(the rules are in its module's docstring).

A step is an event of its own (``floats[RESLICE_AT]``, infinite when none is scheduled), and
so is the moment the earliest GPU being re-partitioned is ready (``floats[READY_AT]``);
both come after the other events at their time, the ready event first.
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster.kernels import fits
from schedlab.jit import inline, merged, step
from schedlab.sim.kernels import defrag
from schedlab.sim.kernels.admission import freed
from schedlab.sim.kernels.defrag import next_at
from schedlab.sim.kernels.defrag_plan import left
from schedlab.sim.kernels.outages import log_capacity, set_up
from schedlab.sim.kernels.state import (
    DEFRAG,
    DRAINING,
    DRAINS,
    FAIR,
    NO,
    NOW,
    READY_AT,
    RECONFIG_S,
    RECONFIGS,
    RECONFIGURING,
    RESLICE_AT,
    RESLICE_EVERY,
    SERVING,
    STRICT,
    YES,
    State,
)
from schedlab.sim.kernels.waiting import before, first, head


@step
def arm(st: State) -> None:
    """Schedule the next step if none is and tasks wait (on a grid from the first arrival)."""
    floats = st.floats
    if floats[RESLICE_AT] == np.inf and st.w.tally[1] + st.fa.hidden[0] > 0:
        floats[RESLICE_AT] = next_at(st.m.arrival[0], floats[RESLICE_EVERY], floats[NOW])


@inline
def _room(st: State, s: int, v: int) -> int:
    """How many tasks of shape ``s`` node ``v`` would hold, empty."""
    sh, c, m = st.sh, st.c, st.m
    if not sh.allowed[s, c.model[v]]:
        return 0
    room = c.num_gpu[v] // sh.k[s]
    if sh.cpu[s] > 0:
        room = min(room, m.node_cpu[v] // sh.cpu[s])
    if sh.mem[s] > 0:
        room = min(room, m.node_mem[v] // sh.mem[s])
    return room


@inline
def _layout_room(st: State, s: int, g: int, k: int) -> int:
    room = 0
    for v in range(st.rz.lo[g, k], st.rz.hi[g, k]):
        room += _room(st, s, v)
    return room


@inline
def _coming(st: State, s: int) -> int:
    """The room for shape ``s`` of the GPUs being drained or re-partitioned."""
    rz = st.rz
    room = 0
    for g in range(len(rz.current)):
        if rz.phase[g] != SERVING and not rz.away[g]:
            room += _layout_room(st, s, g, rz.target[g])
    return room


@inline
def _waiting(st: State, s: int) -> int:
    """How many tasks of shape ``s`` wait (with ``drf``, a group's first stands for its group)."""
    w, fa = st.w, st.fa
    if not st.ints[FAIR]:
        return w.size[s]
    count = 0
    for i in range(w.size[s]):
        t = w.slots[w.offset[s] + i]
        count += fa.size[fa.group[t]] if fa.gpos[t] >= 0 else 1
    return count


@inline
def _in_use(st: State, g: int) -> int:
    """GPU ``g``'s instances in use (and nodes holding a task without a GPU)."""
    c, m, rz = st.c, st.m, st.rz
    k = rz.current[g]
    used = 0
    for v in range(rz.lo[g, k], rz.hi[g, k]):
        for j in range(c.num_gpu[v]):
            if c.gpu_free[v, j] != 1000:
                used += 1
        if c.cpu_left[v] != m.node_cpu[v] or c.mem_left[v] != m.node_mem[v]:
            used += 1
    return used


@inline
def _layout_for(st: State, s: int, g: int) -> tuple[int, int]:
    """GPU ``g``'s layout other than its own with the most room for shape ``s`` (the first
    of those), and that room (0: none has any)."""
    rz = st.rz
    best, most = -1, 0
    for k in range(rz.lo.shape[1]):
        room = _layout_room(st, s, g, k) if k != rz.current[g] else 0
        if room > most:
            best, most = k, room
    return best, most


@step
def _reconfigure(st: State, g: int) -> None:
    """GPU ``g`` (idle, out of service) is re-partitioned: ready ``RECONFIG_S`` from now."""
    rz, floats = st.rz, st.floats
    rz.phase[g] = RECONFIGURING
    rz.ready_at[g] = floats[NOW] + floats[RECONFIG_S]
    floats[READY_AT] = min(floats[READY_AT], rz.ready_at[g])
    st.ints[RECONFIGS] += rz.size[g]  # GPUs re-partitioned


@step
def _drain(kind: int, draws: bool, st: State, g: int) -> bool:
    """Move GPU ``g``'s running single tasks off it, with ``--defrag``; whether any moved."""
    if not st.ints[DEFRAG]:
        return False
    rz, m, cand = st.rz, st.m, st.dg.cand
    st.dg.mark[0] += 1  # no node is one a plan keeps free
    k, moved = rz.current[g], False
    for v in range(rz.lo[g, k], rz.hi[g, k]):
        count = 0  # its running single tasks, in task order
        u = st.run.head[v]
        while u >= 0:
            if m.gang_size[u] == 1:
                i = count
                while i > 0 and cand[i - 1] > u:
                    cand[i] = cand[i - 1]
                    i -= 1
                cand[i] = u
                count += 1
            u = st.run.next[u]
        for i in range(count):
            if left(st) <= 0 or not defrag.move(kind, draws, st, v, cand[i], 0):
                return moved
            moved = True
    return moved


@step
def _repartition(kind: int, draws: bool, st: State, s: int) -> int:
    """Re-partition the GPU chosen for shape ``s`` (idle) or drain it; the room it adds."""
    rz = st.rz
    best, best_layout, best_room, best_used = -1, -1, 0, 0
    draining = 0
    for g in range(len(rz.current)):
        if rz.phase[g] == DRAINING:
            draining += 1
    for g in range(len(rz.current)):
        if rz.phase[g] != SERVING or rz.away[g]:
            continue
        k, room = _layout_for(st, s, g)
        if room == 0:
            continue
        used = _in_use(st, g)
        if used > 0 and draining >= st.ints[DRAINS]:  # only idle ones while enough drain
            continue
        if best < 0 or used < best_used:
            best, best_layout, best_room, best_used = g, k, room, used
        if used == 0:
            break
    if best < 0:
        return 0
    rz.target[best] = best_layout
    for v in range(rz.lo[best, rz.current[best]], rz.hi[best, rz.current[best]]):
        set_up(st, v, NO)
    log_capacity(st)
    if best_used > 0:
        rz.phase[best] = DRAINING
        _drain(kind, draws, st, best)
    if _in_use(st, best) == 0:
        _reconfigure(st, best)
    return best_room


@merged
def run_step(kind: int, draws: bool, st: State) -> bool:
    """One re-partitioning step; whether it changed a GPU's phase or moved a task."""
    st.floats[RESLICE_AT] = np.inf
    w, rz = st.w, st.rz
    changed = False
    for g in range(len(rz.current)):
        if rz.phase[g] != DRAINING or rz.away[g]:
            continue
        if _drain(kind, draws, st, g):
            changed = True
        if _in_use(st, g) == 0:
            _reconfigure(st, g)
            changed = True
    count = 0
    for i in range(w.tally[0]):
        s = w.active[i]
        if not rz.asks[s]:
            continue
        j = count  # insertion in queue order of each shape's first task
        while j > 0 and before(w, first(w, s), first(w, rz.order[j - 1])):
            rz.order[j] = rz.order[j - 1]
            j -= 1
        rz.order[j] = s
        count += 1
    if st.ints[STRICT] and count > 0:  # only the head can start: only its shape is helped
        count = 1 if rz.order[0] == head(w, False) else 0
    for i in range(count):
        s = rz.order[i]
        fitting = False
        for n in range(len(st.c.up)):
            if fits(st.c, st.sh, s, n):
                fitting = True
                break
        if fitting:
            continue
        need, have = _waiting(st, s), _coming(st, s)
        while have < need:
            room = _repartition(kind, draws, st, s)
            if room == 0:
                break
            have += room
            changed = True
    return changed


@merged
def ready(kind: int, draws: bool, st: State) -> None:
    """Every GPU due now: its new layout's nodes in service, offered to the queue."""
    rz, floats = st.rz, st.floats
    now = floats[NOW]
    for g in range(len(rz.current)):
        if rz.ready_at[g] > now:
            continue
        rz.ready_at[g] = np.inf
        rz.phase[g] = SERVING
        k = rz.target[g]
        rz.current[g] = k
        if rz.away[g]:  # its node is out: the new layout comes with it
            continue
        for v in range(rz.lo[g, k], rz.hi[g, k]):
            set_up(st, v, YES)
        log_capacity(st)
        for v in range(rz.lo[g, k], rz.hi[g, k]):
            freed(kind, draws, st, v)
    floats[READY_AT] = np.inf
    for g in range(len(rz.current)):
        floats[READY_AT] = min(floats[READY_AT], rz.ready_at[g])


@inline
def busy(st: State) -> bool:
    """Whether a GPU is being drained or re-partitioned."""
    for g in range(len(st.rz.phase)):  # noqa: SIM110 (numba: no any())
        if st.rz.phase[g] != SERVING and not st.rz.away[g]:
            return True
    return False
