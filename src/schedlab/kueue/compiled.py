"""The admission replay on the compiled path (:mod:`schedlab.kueue.kernel`): which
configurations it takes, and the translation of workloads and plans into arrays and of the
kernel's arrays back into an :class:`~schedlab.kueue.outcome.Outcome`.

It takes configurations whose ClusterQueues never preempt, without fair sharing, quota only,
with no workload watched (``kueue explain``); the reference
(:class:`~schedlab.kueue.admission.AdmissionReplay`) runs the others. Both give the same
outcome (checked by a Hypothesis equality test).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from schedlab.kueue.admission import SAMPLES
from schedlab.kueue.assign import Pending, Plan
from schedlab.kueue.pending import BLOCKED, NEVER, SHORT

if TYPE_CHECKING:
    from schedlab.kueue.admission import AdmissionReplay
    from schedlab.kueue.outcome import Outcome

KINDS = (BLOCKED, SHORT, NEVER)  # the kernel's reasons, by index


def why_not(r: AdmissionReplay) -> str:
    """Why the compiled path cannot run this replay ('' when it can)."""
    from schedlab import jit

    if r.config.fair_sharing is not None:
        return "fair sharing"
    if r.preempts:
        return f"preemption (ClusterQueue {sorted(r.preempts)[0]})"
    if r.placements is not None:
        return "quota plus placement"
    if r.watch is not None:
        return "a watched workload"
    if not r.workloads:
        return "no workloads"
    return "" if jit.enabled() else "compiled kernels are off"


def run(r: AdmissionReplay) -> Outcome:
    """Replay ``r`` (fresh) on the compiled path; ``r`` ends as the reference would leave it
    (quota in use, waiting workloads in their queues) and the outcome says why each waits."""
    from schedlab.kueue.kernel import admit_over_time

    names = list(r.queues)
    shapes = sorted(set(r.memo.keys), key=lambda key: (names.index(key[0]), key[1]))
    plans, options = _plans(r, shapes)
    capacity = 2 * SAMPLES + 16  # more only when the run goes on long after its arrivals
    while True:
        args = _arrays(r, names, shapes, plans, capacity)
        runs, samples = admit_over_time(*args)
        if samples <= capacity:
            break
        capacity = samples  # rare: replay again with room for every sample
    usage, out, (_, _, times, counts) = args[0][4], args[7], args[8]
    return _outcome(r, options, usage, out, runs, times[:samples], counts[:samples])


def _arrays(
    r: AdmissionReplay, names: list[str], shapes: list[Any], plans: tuple[np.ndarray, ...], capacity: int
) -> tuple[Any, ...]:
    """The kernel's arguments, fresh (see :func:`~schedlab.kueue.kernel.admit_over_time`)."""
    workloads, tree = r.workloads, r.tree
    shape_of = {key: s for s, key in enumerate(shapes)}
    n, n_shapes, n_queues = len(workloads), len(shapes), len(names)
    w_shape = np.array([shape_of[key] for key in r.memo.keys], dtype=np.int64)
    arrival = np.array([w.arrival for w in workloads], dtype=np.float64)
    duration = np.array([w.duration for w in workloads], dtype=np.float64)
    priority = np.array([w.priority for w in workloads], dtype=np.int64)
    rank_w = np.lexsort((np.arange(n), arrival, -priority)).astype(np.int64)
    w_rank = np.empty(n, dtype=np.int64)
    w_rank[rank_w] = np.arange(n)
    s_queue = np.array([names.index(key[0]) for key in shapes], dtype=np.int64)
    q_off = _offsets(np.bincount(s_queue, minlength=n_queues))
    roots = [r.root[q] for q in names]
    k = max(len(tree.pairs), 1)
    groups = max(int(np.diff(plans[5]).max()), 1)
    items = max(int(np.diff(plans[8]).max(initial=0)) * groups, 1)
    queues = (
        np.array([r.queues[q].best_effort for q in names], dtype=np.bool_),
        q_off,
        s_queue,
        np.zeros(n_shapes, dtype=np.int64),
        np.zeros(n_queues, dtype=np.int64),
        np.full(n_shapes, -1, dtype=np.int64),
    )
    ranks = (_zeros(n), _offsets(np.bincount(w_shape, minlength=n_shapes)), _zeros(n_shapes))
    arrivals = np.lexsort((np.arange(n), arrival)).astype(np.int64)
    scratch = (_zeros(len(tree.names) + 1), np.zeros(n), _zeros(n), _zeros((n_queues, 3)), _zeros(k))
    work = (w_shape, w_rank, rank_w, arrival, duration, arrivals, *scratch)
    memo = (
        _zeros(n_shapes),
        _zeros((n_shapes, groups)),
        np.zeros((n_shapes, k), dtype=np.bool_),
        _zeros(n_shapes),
        np.zeros(n_shapes, dtype=np.bool_),
        _zeros((n_shapes, items + 1)),
        _zeros((n_shapes, items)),
    )
    root_of = np.array([roots.index(x) for x in roots], dtype=np.int64)
    flags = (np.zeros(n_shapes, dtype=np.bool_), np.zeros((n_shapes, k), dtype=np.bool_))
    aside = (*flags, q_off, _zeros(n_shapes), _zeros(n_queues), root_of)
    out = (np.full(n, np.nan), np.full((n, groups), -1, dtype=np.int64), _zeros(n), np.zeros(n))
    sample = (r.sample_at, r.step, np.zeros(capacity), _zeros((capacity, n_queues, 3)))
    arrays = (tree.parent, tree.subtree, tree.kept, tree.borrowing, tree.usage.copy())
    return arrays, plans, queues, ranks, work, memo, aside, out, sample


def _zeros(shape: int | tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, dtype=np.int64)


def _offsets(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def _plans(r: AdmissionReplay, shapes: list[Any]) -> tuple[tuple[np.ndarray, ...], list[Any]]:
    """The shapes' plans as flat arrays (see the kernel), and each option's (asked, flavor)."""
    node, cohort, stop_b, stop_p, uncovered, g0, o0, never, i0 = ([] for _ in range(9))
    it_k, it_need, it_pre, options = [], [], [], []
    g0.append(0)
    o0.append(0)
    i0.append(0)
    for key in shapes:
        plan = r.memo.plans[key]
        uncovered.append(isinstance(plan, Pending))
        p = plan if isinstance(plan, Plan) else None
        node.append(p.node if p else 0)
        cohort.append(bool(p and p.cohort))
        stop_b.append(bool(p and p.stop_when_borrowing))
        stop_p.append(bool(p and p.stop_when_preempting))
        for asked, flavors in p.groups if p else ():
            for flavor, entries, short in flavors:
                options.append((asked, flavor))
                never.append(short is not None)
                for _, k, need, preemptible in entries:
                    it_k.append(k)
                    it_need.append(need)
                    it_pre.append(preemptible)
                i0.append(len(it_k))
            o0.append(len(options))
        g0.append(len(o0) - 1)
    ints = [np.array(x, dtype=np.int64) for x in (node, cohort, stop_b, stop_p, uncovered, g0, o0)]
    flags = [a.astype(np.bool_) for a in ints[1:5]]
    rest = [np.array(never, dtype=np.bool_), np.array(i0, dtype=np.int64), np.array(it_k, dtype=np.int64)]
    rest += [np.array(it_need, dtype=np.int64), np.array(it_pre, dtype=np.bool_)]
    return (ints[0], *flags, ints[5], ints[6], *rest), options


def _outcome(
    r: AdmissionReplay,
    options: list[Any],
    usage: np.ndarray,
    out: tuple[np.ndarray, ...],
    runs: int,
    times: np.ndarray,
    counts: np.ndarray,
) -> Outcome:
    admitted, chosen, run_i, run_t = out
    outcome, names = r.outcome, list(r.queues)
    for i in np.flatnonzero(~np.isnan(admitted)).tolist():
        outcome.admitted[i] = float(admitted[i])
        picked = [options[o] for o in chosen[i].tolist() if o >= 0]
        outcome.flavors[i] = tuple((res, flavor) for asked, flavor in picked for res in asked)
    outcome.runs = [
        (i, float(admitted[i]), float(t), outcome.flavors[i])
        for i, t in zip(run_i[:runs].tolist(), run_t[:runs].tolist(), strict=True)
    ]
    outcome.waiting = [
        (float(t), {q: {KINDS[k]: int(c[j, k]) for k in range(3) if c[j, k]} for j, q in enumerate(names)})
        for t, c in zip(times.tolist(), counts, strict=True)
    ]
    r.tree.set_usage(usage)
    for i, when in enumerate(outcome.admitted):
        if when is None:
            r.enqueue(i)
    return r.finish()
