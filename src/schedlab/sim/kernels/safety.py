"""The admit step of ``slo-aware`` on the compiled path: the mirror of
:meth:`schedlab.policies.slo_aware.SloAware.admit` and ``choose_gpus`` over
:class:`~schedlab.interference.colocation.Colocation`.

A task may join a GPU when every inference service of the new group (the task included)
keeps its slowdown, by the group rule, within its largest safe slowdown (found once
per service before the run, :func:`schedlab.interference.colocation.largest_safe_slowdown`).
A dry run (a preemption's) leaves out the tasks marked in ``skip`` and reads the node's
free GPU milli from ``free``. The verdict for a configuration on a GPU (do the others stay
within their limits, and the joining task's own slowdown) is kept until the GPU's group
changes: a loaded cluster refuses many nodes per placement.
"""

from __future__ import annotations

from schedlab.jit import step
from schedlab.sim.kernels.rates import combined, term
from schedlab.sim.kernels.state import EVERY, NO, State


@step
def _verdict(st: State, n: int, g: int, t: int, dry: bool) -> tuple[bool, float]:
    """For ``t`` joining GPU ``g`` of node ``n``: whether every other service of the group
    stays within its limit, and ``t``'s own slowdown there."""
    q, sf = st.q, st.sf
    members, size = sf.members, 0
    if n >= 0:
        u = q.head[n, g]
        while u >= 0:
            if not (dry and sf.skip[u] == sf.mark[0]):
                members[size] = u
                size += 1
            u = q.next[u]
    members[size] = t
    size += 1
    ok, own = True, 1.0
    for i in range(size):
        u = members[i]
        slowdown = 1.0
        if size > 1:
            extra = 0.0
            pair = q.pair[1 if size > 2 else 0]
            squares = size > 2 and q.squares[0]
            for j in range(size):
                if j != i:
                    extra += term(pair[q.config[u], q.config[members[j]]] - 1.0, squares)
            scale = q.scale[min(size - 1, len(q.scale) - 1)]
            slowdown = q.alone[q.config[u]] * max(1.0 + combined(extra, squares) * scale, 1e-3)
        if u == t:
            own = slowdown
        elif slowdown > sf.limit[u]:
            ok = False
    return ok, own


@step
def safe(st: State, n: int, g: int, t: int, dry: bool) -> bool:
    """Whether ``t`` may join GPU ``g`` of node ``n`` (``n`` = -1: a GPU of its own): the
    group is the GPU's tasks in start order, then ``t``. Outside a dry run the verdict for
    ``t``'s configuration is kept until the GPU's group changes."""
    q, sf = st.q, st.sf
    if dry or n < 0:
        ok, own = _verdict(st, n, g, t, dry)
        return ok and own <= sf.limit[t]
    c = q.config[t]
    if sf.seen[n, g, c] != q.changes[n, g] + 1:
        sf.ok[n, g, c], sf.own[n, g, c] = _verdict(st, n, g, t, dry)
        sf.seen[n, g, c] = q.changes[n, g] + 1
    return sf.ok[n, g, c] and sf.own[n, g, c] <= sf.limit[t]


@step
def admitted(st: State, t: int, s: int, n: int, dry: bool) -> bool:
    """Whether ``slo-aware`` admits node ``n`` for ``t`` (shape ``s``): a task that shares a
    GPU and has a profile needs a safe GPU with room there (on a node without profiled tasks,
    any GPU is as safe as one of its own)."""
    c, sh, q = st.c, st.sh, st.q
    if sh.cls[s] != 0 or q.config[t] < 0:
        return True
    occupied = False
    for g in range(c.gpu_free.shape[1]):
        occupied = occupied or q.head[n, g] >= 0
    if not occupied:
        return safe(st, EVERY, EVERY, t, dry)
    for g in range(c.num_gpu[n]):
        free = st.sf.free[g] if dry else c.gpu_free[n, g]
        if free >= sh.milli[s] and safe(st, n, g, t, dry):
            return True
    return False


@step
def safe_gpu(st: State, t: int, s: int, n: int, preferred: int) -> int:
    """The GPU ``t`` takes on node ``n``: ``preferred`` (the score kernel's) if safe, else the
    safe GPU with the least room left (the lowest index among equals)."""
    c, sh, q = st.c, st.sh, st.q
    if sh.cls[s] != 0 or q.config[t] < 0 or safe(st, n, preferred, t, NO):
        return preferred
    best = -1
    for g in range(c.num_gpu[n]):
        room = c.gpu_free[n, g] >= sh.milli[s]
        if room and safe(st, n, g, t, NO) and (best < 0 or c.gpu_free[n, g] < c.gpu_free[n, best]):
            best = g
    return best
