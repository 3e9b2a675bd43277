"""Kueue's quota arithmetic and flavor assignment, compiled (for :mod:`schedlab.kueue.kernel`):
the mirrors of :meth:`schedlab.kueue.quota.QuotaTree.available`, ``add`` and ``remove``, of
:func:`schedlab.kueue.assign.assign_planned` and of the per-shape memo
:meth:`schedlab.kueue.waiting.Assignments.assign`. The argument groups are described in
:func:`schedlab.kueue.kernel.admit_over_time`."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedlab.jit import inline

NONE, ASSIGN, PREEMPTING, PENDING = 0, 1, 2, 3  # what the memo holds for a shape
NO_FIT, PREEMPT, FIT = 0, 1, 2  # Kueue's modes of a flavor, worst first
Arrays = tuple[Any, ...]  # a group of arrays


@inline
def available(tree: Arrays, path: np.ndarray, node: int, k: int) -> int:
    """QuotaTree.available: from the root down to ``node``."""
    parent, subtree, kept, borrowing, usage = tree
    depth, j = 0, node
    while j >= 0:
        path[depth] = j
        depth += 1
        j = parent[j]
    root = path[depth - 1]
    left = subtree[root, k] - usage[root, k]
    for d in range(depth - 2, -1, -1):
        x = path[d]
        keep = kept[x, k]
        if borrowing[x, k] >= 0:
            stored = subtree[x, k] - keep
            used = max(0, usage[x, k] - keep)
            left = min(stored - used + borrowing[x, k], left)
        left = max(0, keep - usage[x, k]) + left
    return left


@inline
def add(tree: Arrays, node: int, k: int, amount: int) -> None:
    parent, _, kept, _, usage = tree
    while True:
        local = max(0, kept[node, k] - usage[node, k])
        usage[node, k] += amount
        if parent[node] < 0 or amount <= local:
            return
        amount -= local
        node = parent[node]


@inline
def remove(tree: Arrays, node: int, k: int, amount: int) -> None:
    parent, _, kept, _, usage = tree
    while True:
        stored = usage[node, k] - kept[node, k]
        usage[node, k] -= amount
        if stored <= 0 or parent[node] < 0:
            return
        amount = min(amount, stored)
        node = parent[node]


@inline
def assign(tree: Arrays, path: np.ndarray, plans: Arrays, memo: Arrays, s: int) -> tuple[int, bool]:
    """assign_planned for shape ``s``: its kind and whether it borrows; the options chosen
    and the pairs it lacked go to the memo."""
    s_node, s_cohort, stop_b, stop_p, _, s_g0, g_o0, o_never, o_i0, it_k, it_need, it_pre = plans
    _, choice, lack, _, _, _, _ = memo
    _, subtree, _, _, usage = tree
    node = s_node[s]
    for k in range(lack.shape[1]):
        lack[s, k] = False
    borrows, worst = False, FIT
    for g in range(s_g0[s], s_g0[s + 1]):
        best, best_mode, best_borrow = -1, -1, False
        for o in range(g_o0[g], g_o0[g + 1]):
            if o_never[o]:
                continue
            mode, borrow = FIT, False
            for it in range(o_i0[o], o_i0[o + 1]):
                k, need = it_k[it], it_need[it]
                left = available(tree, path, node, k)
                if s_cohort[s] and not borrow:
                    borrow = usage[node, k] + need > subtree[node, k]
                if need <= left:
                    continue
                if mode == FIT:  # the flavor's first shortfall
                    lack[s, k] = True
                if not it_pre[it]:
                    mode = NO_FIT
                    break
                mode = PREEMPT
            try_next = True  # Kueue's shouldTryNextFlavor
            if mode == FIT or (mode == PREEMPT and stop_p[s]):
                try_next = borrow and not stop_b[s]
            if not try_next:
                best, best_mode, best_borrow = o, mode, borrow
                break
            if mode > NO_FIT and (best < 0 or mode > best_mode):
                best, best_mode, best_borrow = o, mode, borrow
        if best < 0:
            return PENDING, False
        choice[s, g - s_g0[s]] = best
        borrows = borrows or best_borrow
        worst = min(worst, best_mode)
    return (PREEMPTING if worst == PREEMPT else ASSIGN), borrows


@inline
def memo_kind(
    tree: Arrays, path: np.ndarray, plans: Arrays, memo: Arrays, stamps: np.ndarray, version: int, s: int
) -> int:
    """Assignments.assign: the kind of shape ``s``'s assignment, kept while still true."""
    kind, choice, _, at, borrows, pairs, seen = memo
    s_g0, o_i0, it_k, uncovered = plans[5], plans[8], plans[9], plans[4]
    if kind[s] != NONE and at[s] == version:
        valid = True
        for j in range(pairs[s, 0]):
            if stamps[pairs[s, j + 1]] != seen[s, j]:
                valid = False
                break
        if valid:
            return kind[s]
    if uncovered[s]:
        found, borrow = PENDING, False
        for k in range(memo[2].shape[1]):
            memo[2][s, k] = False
    else:
        found, borrow = assign(tree, path, plans, memo, s)
    kind[s], borrows[s], at[s] = found, borrow, version
    n = 0
    if found != PENDING:
        for g in range(s_g0[s], s_g0[s + 1]):
            o = choice[s, g - s_g0[s]]
            for it in range(o_i0[o], o_i0[o + 1]):
                pairs[s, n + 1] = it_k[it]
                seen[s, n] = stamps[it_k[it]]
                n += 1
    pairs[s, 0] = n
    return found
