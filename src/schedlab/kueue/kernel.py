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

import numpy as np

from schedlab.jit import inline, kernel
from schedlab.kueue.kernel_heaps import end_pop, end_push, q_fix, q_insert, q_remove, sift_down, sift_up
from schedlab.kueue.kernel_quota import ASSIGN, PENDING, Arrays, add, memo_kind, remove

BLOCKED, SHORT, NEVER = 0, 1, 2  # why workloads wait, at the sampled moments


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
            eh_n = end_pop(eh_t, eh_i, eh_n)
            s = w_shape[i]
            for g in range(s_g0[s], s_g0[s + 1]):
                o = chosen[i, g - s_g0[s]]
                for it in range(o_i0[o], o_i0[o + 1]):
                    remove(tree, plans[0][s], it_k[it], it_need[it])
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
                        q_insert(queues, ranks, t)
        while nxt < n and w_arrival[arrivals[nxt]] == now:  # then arrivals, by workload
            i = arrivals[nxt]
            nxt += 1
            s = w_shape[i]
            heap[h_off[s] + h_size[s]] = w_rank[i]
            h_size[s] += 1
            sift_up(heap, h_off[s], h_size[s] - 1)
            if not is_aside[s]:
                if h_size[s] == 1:
                    q_insert(queues, ranks, s)
                elif heap[h_off[s]] == w_rank[i]:
                    q_fix(queues, ranks, s, qpos[s])
        while True:  # scheduling cycles until one admits nothing and sets nothing aside
            count = 0
            for q in range(n_queues):
                if qsize[q] > 0:
                    s = qh[q_off[q]]
                    kind = memo_kind(tree, path, plans, memo, stamps, version, s)
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
                kind = memo_kind(tree, path, plans, memo, stamps, version, s)
                if kind == ASSIGN:
                    h_size[s] -= 1  # admit: off its shape's heap
                    heap[h_off[s]] = heap[h_off[s] + h_size[s]]
                    sift_down(heap, h_off[s], h_size[s], 0)
                    if h_size[s] == 0:
                        q_remove(queues, ranks, s)
                    else:
                        q_fix(queues, ranks, s, qpos[s])
                    for g in range(s_g0[s], s_g0[s + 1]):
                        o = memo[1][s, g - s_g0[s]]
                        chosen[i, g - s_g0[s]] = o
                        for it in range(o_i0[o], o_i0[o + 1]):
                            add(tree, plans[0][s], it_k[it], it_need[it])
                            stamps[it_k[it]] += 1
                    if np.isnan(admitted[i]):
                        admitted[i] = now
                    eh_n = end_push(eh_t, eh_i, eh_n, now + w_duration[i], i)
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
                    if memo_kind(tree, path, plans, memo, stamps, version, s) == ASSIGN:
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
    q_remove(queues, ranks, s)


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
