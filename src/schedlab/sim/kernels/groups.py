"""``drf``'s waiting tasks on the compiled path, grouped by (user, shape).

A user's waiting tasks all carry the same dominant share, so among those of one shape the
queue order is the arrival order, which is the task order. Only the first task of each
(user, shape) group waits in its shape's heap (with the share as its key); the others wait
in the group's own heap, by task index, and take the share as their key when they become
the first. A change of a user's share then moves one entry per group it waits in, not
every waiting task of the user (the reference re-keys them all: the same order). A task
with the starvation guard's starving key waits in its shape's heap on its own.
"""

from __future__ import annotations

from schedlab.jit import inline, step
from schedlab.sim.kernels import waiting
from schedlab.sim.kernels.state import Fair, State


@inline
def share(fa: Fair, u: int) -> float:
    """User ``u``'s dominant share: the larger of its GPU and CPU shares, over its weight."""
    return max(fa.held_gpu[u] / fa.total[0], fa.held_cpu[u] / fa.total[1]) / fa.weight[u]


@inline
def first(fa: Fair, g: int) -> int:
    """Group ``g``'s first task (-1: none waits)."""
    return fa.slots[fa.offset[g]] if fa.size[g] > 0 else -1


@inline
def _put(fa: Fair, base: int, i: int, t: int) -> None:
    fa.slots[base + i] = t
    fa.gpos[t] = i


@step
def _sift(fa: Fair, base: int, i: int, size: int) -> None:
    """Restore the heap (by task index) of the group at ``base`` around position ``i``."""
    t = fa.slots[base + i]
    while True:
        child, least = -1, t
        for j in range(2 * i + 1, min(2 * i + 3, size)):
            if fa.slots[base + j] < least:
                child, least = j, fa.slots[base + j]
        if child < 0:
            break
        _put(fa, base, i, least)
        i = child
    while i > 0 and t < fa.slots[base + (i - 1) // 2]:
        _put(fa, base, i, fa.slots[base + (i - 1) // 2])
        i = (i - 1) // 2
    _put(fa, base, i, t)


@step
def _link(fa: Fair, g: int, u: int, on: bool) -> None:
    """Add group ``g`` to user ``u``'s list of groups with waiting tasks, or take it out."""
    if on:
        fa.gprev[g], fa.gnext[g] = -1, fa.ghead[u]
        if fa.ghead[u] >= 0:
            fa.gprev[fa.ghead[u]] = g
        fa.ghead[u] = g
        return
    before, after = fa.gprev[g], fa.gnext[g]
    if before >= 0:
        fa.gnext[before] = after
    else:
        fa.ghead[u] = after
    if after >= 0:
        fa.gprev[after] = before


@step
def join(st: State, t: int) -> None:
    """``t`` (its key set, not starving) waits: in its group, and in its shape's heap if it is
    the group's first task now."""
    fa, w = st.fa, st.w
    g = fa.group[t]
    head = first(fa, g)
    base, i = fa.offset[g], fa.size[g]
    fa.size[g] += 1
    _put(fa, base, i, t)
    _sift(fa, base, i, fa.size[g])
    if head < 0:
        _link(fa, g, fa.user[t], True)
    elif t < head:  # it goes before the group's first task: that one waits in the group only
        waiting.remove(w, head)
        fa.hidden[0] += 1
    else:
        fa.hidden[0] += 1
        return
    waiting.push(w, w.shape_of[t], t)


@step
def part(st: State, t: int) -> None:
    """``t`` (waiting, not starving) leaves its group (and its shape's heap if it was the
    group's first: the next one takes its place there, with the user's share as its key)."""
    fa, w = st.fa, st.w
    g = fa.group[t]
    head = first(fa, g)
    base, last = fa.offset[g], fa.size[g] - 1
    i = fa.gpos[t]
    fa.size[g] = last
    fa.gpos[t] = -1
    if i != last:
        _put(fa, base, i, fa.slots[base + last])
        _sift(fa, base, i, last)
    if head != t:
        fa.hidden[0] -= 1
        return
    waiting.remove(w, t)
    after = first(fa, g)
    if after < 0:
        _link(fa, g, fa.user[t], False)
        return
    fa.hidden[0] -= 1
    w.key0[after], w.key1[after], w.key2[after] = share(fa, fa.user[after]), st.m.arrival[after], 0.0
    waiting.push(w, w.shape_of[after], after)


@step
def rekey(st: State, u: int, skip: int) -> None:
    """User ``u``'s share changed: the first task of each of its groups (but ``skip``) takes it."""
    fa, w = st.fa, st.w
    key = share(fa, u)
    g = fa.ghead[u]
    while g >= 0:
        t = first(fa, g)
        if t != skip and w.key0[t] != key:
            w.key0[t] = key
            waiting.moved(w, t)
        g = fa.gnext[g]
