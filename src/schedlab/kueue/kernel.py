"""Kueue's admission over time, compiled: the mirror of
:class:`schedlab.kueue.admission.AdmissionReplay` for configurations without preemption,
fair sharing or placement (:mod:`schedlab.kueue.compiled` decides and translates).

Everything is an array. A workload's place in its queue is its *rank* (Kueue's order:
priority, arrival, input order); each shape (ClusterQueue and requests) keeps a binary heap
of its waiting workloads' ranks, and each ClusterQueue an indexed heap of its shapes that
wait and are not set aside, keyed by their first rank, so that its head is at the top.
Flavor assignment (:func:`schedlab.kueue.assign.assign_planned`), the quota tree's
arithmetic (:class:`schedlab.kueue.quota.QuotaTree`) and the per-shape memo of assignments
(:class:`schedlab.kueue.waiting.Assignments`) follow the reference line by line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedlab.jit import inline, kernel

NONE, ASSIGN, PREEMPTING, PENDING = 0, 1, 2, 3  # what the memo holds for a shape
NO_FIT, PREEMPT, FIT = 0, 1, 2  # Kueue's modes of a flavor, worst first
BLOCKED, SHORT, NEVER = 0, 1, 2  # why workloads wait, at the sampled moments
Arrays = tuple[Any, ...]  # a group of arrays (see admit_over_time)


@inline
def _available(tree: Arrays, path: np.ndarray, node: int, k: int) -> int:
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
def _add(tree: Arrays, node: int, k: int, amount: int) -> None:
    parent, _, kept, _, usage = tree
    while True:
        local = max(0, kept[node, k] - usage[node, k])
        usage[node, k] += amount
        if parent[node] < 0 or amount <= local:
            return
        amount -= local
        node = parent[node]


@inline
def _remove(tree: Arrays, node: int, k: int, amount: int) -> None:
    parent, _, kept, _, usage = tree
    while True:
        stored = usage[node, k] - kept[node, k]
        usage[node, k] -= amount
        if stored <= 0 or parent[node] < 0:
            return
        amount = min(amount, stored)
        node = parent[node]


@inline
def _assign(tree: Arrays, path: np.ndarray, plans: Arrays, memo: Arrays, s: int) -> tuple[int, bool]:
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
                left = _available(tree, path, node, k)
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
def _memo(
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
        found, borrow = _assign(tree, path, plans, memo, s)
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


@inline
def _sift_down(a: np.ndarray, off: int, size: int, j: int) -> None:
    while True:
        c = 2 * j + 1
        if c >= size:
            return
        if c + 1 < size and a[off + c + 1] < a[off + c]:
            c += 1
        if a[off + j] <= a[off + c]:
            return
        a[off + j], a[off + c] = a[off + c], a[off + j]
        j = c


@inline
def _sift_up(a: np.ndarray, off: int, j: int) -> None:
    while j > 0:
        p = (j - 1) >> 1
        if a[off + p] <= a[off + j]:
            return
        a[off + j], a[off + p] = a[off + p], a[off + j]
        j = p


@inline
def _q_fix(queues: Arrays, ranks: Arrays, s: int, j: int) -> None:
    """Move shape ``s``, at position ``j`` of its queue's heap, where its key belongs."""
    _, q_off, s_queue, qh, qsize, qpos = queues
    heap, h_off, _ = ranks
    q = s_queue[s]
    off = q_off[q]
    while j > 0:  # up
        p = (j - 1) >> 1
        t = qh[off + p]
        if heap[h_off[t]] <= heap[h_off[s]]:
            break
        qh[off + j], qpos[t] = t, j
        j = p
    while True:  # down
        c = 2 * j + 1
        if c >= qsize[q]:
            break
        if c + 1 < qsize[q] and heap[h_off[qh[off + c + 1]]] < heap[h_off[qh[off + c]]]:
            c += 1
        t = qh[off + c]
        if heap[h_off[s]] <= heap[h_off[t]]:
            break
        qh[off + j], qpos[t] = t, j
        j = c
    qh[off + j], qpos[s] = s, j


@inline
def _q_insert(queues: Arrays, ranks: Arrays, s: int) -> None:
    qsize, q = queues[4], queues[2][s]
    qsize[q] += 1
    _q_fix(queues, ranks, s, qsize[q] - 1)


@inline
def _q_remove(queues: Arrays, ranks: Arrays, s: int) -> None:
    _, q_off, s_queue, qh, qsize, qpos = queues
    q = s_queue[s]
    j, last = qpos[s], qh[q_off[q] + qsize[q] - 1]
    qsize[q] -= 1
    qpos[s] = -1
    if last != s:
        _q_fix(queues, ranks, last, j)


@kernel
def admit_over_time(
    tree: Arrays,
    plans: Arrays,
    queues: Arrays,
    ranks: Arrays,
    work: Arrays,
    memo: Arrays,
    aside: Arrays,
    out: Arrays,
    sample: Arrays,
) -> tuple[int, int]:
    """Replay the admissions; returns how many runs ended and how many moments were sampled.

    ``tree``: the quota tree's parent, subtree, kept, borrowing limit and usage (updated).
    ``plans``: per shape its tree node, whether it has a cohort, whether it stops at a flavor
    that borrows / needs preemption, whether it asks for a resource its queue does not
    cover, its first group; per group its first option; per option whether it can never
    hold the request, its first item; per item its pair, request and whether preemption
    could make room. ``queues``: per ClusterQueue whether BestEffortFIFO and its first slot
    in the shape heap, per shape its queue, the heaps, their sizes, each shape's position.
    ``ranks``: the shapes' heaps of ranks, their first slots and sizes. ``work``: per
    workload its shape, rank, arrival and run time, workloads by rank and by arrival, then
    scratch (a tree path, the end heap's times and workloads, the cycle's heads, stamps per
    pair). ``memo``: per shape the kind of its last assignment, its options, the pairs it
    lacked, the release count it was made at, whether it borrows, its pairs and their stamps.
    ``aside``: per shape whether set aside and the pairs it waits for, per queue its list of
    shapes set aside (first slot, list, size) and its cohort tree's root. ``out``: admitted
    time and options per workload, the ends in order; ``sample``: the first moment, the
    step, times and counts by reason (a moment past their capacity is counted, not written).
    """
    q_best, q_off, s_queue, qh, qsize, qpos = queues
    heap, h_off, h_size = ranks
    w_shape, w_rank, rank_w, w_arrival, w_duration, arrivals, path, eh_t, eh_i, heads, stamps = work
    is_aside, lacking, a_off, a_list, a_size, q_root = aside
    admitted, chosen, run_i, run_t = out
    sample_at, every, s_time, s_count = sample
    s_g0, o_i0, it_k, it_need = plans[5], plans[8], plans[9], plans[10]
    n_queues, n_shapes = len(q_best), len(s_queue)
    n, eh_n, nxt, version, runs, samples, now = len(w_shape), 0, 0, 0, 0, 0, 0.0
    while eh_n > 0 or nxt < n:
        now = eh_t[0] if eh_n > 0 else np.inf
        if nxt < n:
            now = min(now, w_arrival[arrivals[nxt]])
        while eh_n > 0 and eh_t[0] == now:  # ends first, by workload
            i = eh_i[0]
            eh_n -= 1
            eh_t[0], eh_i[0] = eh_t[eh_n], eh_i[eh_n]
            j = 0
            while True:
                c = 2 * j + 1
                if c >= eh_n:
                    break
                if c + 1 < eh_n and (eh_t[c + 1], eh_i[c + 1]) < (eh_t[c], eh_i[c]):
                    c += 1
                if (eh_t[j], eh_i[j]) <= (eh_t[c], eh_i[c]):
                    break
                eh_t[j], eh_t[c], eh_i[j], eh_i[c] = eh_t[c], eh_t[j], eh_i[c], eh_i[j]
                j = c
            s = w_shape[i]
            for g in range(s_g0[s], s_g0[s + 1]):
                o = chosen[i, g - s_g0[s]]
                for it in range(o_i0[o], o_i0[o + 1]):
                    _remove(tree, plans[0][s], it_k[it], it_need[it])
            run_i[runs], run_t[runs] = i, now
            runs += 1
            version += 1
            for q in range(n_queues):  # the quota is back: set-aside shapes of its tree retry
                if q_root[q] != q_root[s_queue[s]]:
                    continue
                m = 0
                while m < a_size[q]:
                    t = a_list[a_off[q] + m]
                    woken = False
                    for g in range(s_g0[s], s_g0[s + 1]):
                        o = chosen[i, g - s_g0[s]]
                        for it in range(o_i0[o], o_i0[o + 1]):
                            woken = woken or lacking[t, it_k[it]]
                    if not woken:
                        m += 1
                        continue
                    a_size[q] -= 1
                    a_list[a_off[q] + m] = a_list[a_off[q] + a_size[q]]
                    is_aside[t] = False
                    if h_size[t] > 0:
                        _q_insert(queues, ranks, t)
        while nxt < n and w_arrival[arrivals[nxt]] == now:  # then arrivals, by workload
            i = arrivals[nxt]
            nxt += 1
            s = w_shape[i]
            heap[h_off[s] + h_size[s]] = w_rank[i]
            h_size[s] += 1
            _sift_up(heap, h_off[s], h_size[s] - 1)
            if not is_aside[s]:
                if h_size[s] == 1:
                    _q_insert(queues, ranks, s)
                elif heap[h_off[s]] == w_rank[i]:
                    _q_fix(queues, ranks, s, qpos[s])
        while True:  # scheduling cycles until one admits nothing and sets nothing aside
            count = 0
            for q in range(n_queues):
                if qsize[q] > 0:
                    s = qh[q_off[q]]
                    kind = _memo(tree, path, plans, memo, stamps, version, s)
                    borrows = kind != PENDING and memo[4][s]
                    key = (1 if borrows else 0, heap[h_off[s]])
                    j = count
                    while j > 0 and (heads[j - 1, 0], heads[j - 1, 1]) > key:  # insertion sort
                        for c in range(3):
                            heads[j, c] = heads[j - 1, c]
                        j -= 1
                    heads[j, 0], heads[j, 1], heads[j, 2] = key[0], key[1], q
                    count += 1
            changed, set_aside, last = False, 0, -1
            for h in range(count):
                q, i = heads[h, 2], rank_w[heads[h, 1]]
                s = w_shape[i]
                kind = _memo(tree, path, plans, memo, stamps, version, s)
                if kind == ASSIGN:
                    h_size[s] -= 1  # admit: off its shape's heap
                    heap[h_off[s]] = heap[h_off[s] + h_size[s]]
                    _sift_down(heap, h_off[s], h_size[s], 0)
                    if h_size[s] == 0:
                        _q_remove(queues, ranks, s)
                    else:
                        _q_fix(queues, ranks, s, qpos[s])
                    for g in range(s_g0[s], s_g0[s + 1]):
                        o = memo[1][s, g - s_g0[s]]
                        chosen[i, g - s_g0[s]] = o
                        for it in range(o_i0[o], o_i0[o + 1]):
                            _add(tree, plans[0][s], it_k[it], it_need[it])
                            stamps[it_k[it]] += 1
                    if np.isnan(admitted[i]):
                        admitted[i] = now
                    j = eh_n  # its end
                    eh_t[j], eh_i[j] = now + w_duration[i], i
                    eh_n += 1
                    while j > 0:
                        p = (j - 1) >> 1
                        if (eh_t[p], eh_i[p]) <= (eh_t[j], eh_i[j]):
                            break
                        eh_t[j], eh_t[p], eh_i[j], eh_i[p] = eh_t[p], eh_t[j], eh_i[p], eh_i[j]
                        j = p
                    changed = True
                elif q_best[q]:
                    _set_aside(queues, ranks, aside, memo, s)
                    set_aside += 1
                    last = q
            if not changed and set_aside == 1:
                # only that queue's head changes from one cycle to the next: set its heads
                # aside until one fits, at once
                while qsize[last] > 0:
                    s = qh[q_off[last]]
                    if _memo(tree, path, plans, memo, stamps, version, s) == ASSIGN:
                        break
                    _set_aside(queues, ranks, aside, memo, s)
            if not changed and set_aside == 0:
                break
        if now >= sample_at:
            if samples < len(s_time):
                s_time[samples] = now
                _count(queues, ranks, memo, s_count[samples], n_shapes)
            samples += 1
            sample_at = now + every
    return runs, samples


@inline
def _set_aside(queues: Arrays, ranks: Arrays, aside: Arrays, memo: Arrays, s: int) -> None:
    """WaitingQueue.set_aside: until quota comes back in a pair it lacked."""
    is_aside, lacking, a_off, a_list, a_size, _ = aside
    q = queues[2][s]
    is_aside[s] = True
    for k in range(lacking.shape[1]):
        lacking[s, k] = memo[2][s, k]
    a_list[a_off[q] + a_size[q]] = s
    a_size[q] += 1
    _q_remove(queues, ranks, s)


@inline
def _count(queues: Arrays, ranks: Arrays, memo: Arrays, counts: np.ndarray, n_shapes: int) -> None:
    """pending.count_waiting into ``counts`` (queue x reason)."""
    q_best, q_off, s_queue, qh, qsize, _ = queues
    h_size = ranks[2]
    kind, lack = memo[0], memo[2]
    counts[:, :] = 0
    for s in range(n_shapes):
        q, size = s_queue[s], h_size[s]
        if size == 0:
            continue
        first = not q_best[q] and qsize[q] > 0 and qh[q_off[q]] == s
        if q_best[q] or first:
            never = kind[s] == PENDING
            for k in range(lack.shape[1]):
                never = never and not lack[s, k]
            counts[q, NEVER if never else SHORT] += 1 if first else size
            if first:
                counts[q, BLOCKED] += size - 1
        else:
            counts[q, BLOCKED] += size
