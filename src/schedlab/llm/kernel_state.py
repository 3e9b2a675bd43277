"""The replica simulator's state (:mod:`schedlab.llm.kernels`): the fields of its request and
replica arrays, and the steps that change them: KV-cache blocks taken and freed, waiting
queues (a linked list per replica), admission, preemption by recomputation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from schedlab import jit
from schedlab.arrays import FloatArray, IntArray

INF = np.inf
# Integer parameters.
REPLICAS, MAX_SEQS, MAX_TOKENS, BLOCK, CHUNKED = range(5)
# Integer fields of a request: lengths, progress, KV blocks held, this iteration's work
# (a prompt chunk > 0, a decode -1, none 0), the next request in its queue, its replica,
# times preempted, where its token gaps go, its state.
PROMPT, OUTPUT, GEN, COMPUTED, TARGET, HELD, WORK, NEXT, REPLICA, PREEMPTED, GOFF, STATE = range(12)
N_REQ = 12
# Request states (DROPPED: its replica stopped before it finished, or none ran at its arrival).
PENDING, WAITING, RUNNING, DONE, REJECTED, DROPPED = 0, 1, 2, 3, 4, 5
# Float fields of a request: arrival, first token, last token, finish.
ARRIVAL, FIRST, LAST, FINISH = range(4)
N_REQF = 4
# Integer fields of a replica: free blocks, phase (idle, iterating, waking, closed), running
# count, requests outstanding, queue head and tail, iterations, most blocks used, preemptions,
# its KV-cache blocks and the watermark it keeps free, and its slowdown steps: the one in
# force and the end of its own (indices into the step arrays).
FREE, PHASE, NRUN, OUTSTANDING, HEAD, TAIL, ITERS, PEAK, PREEMPTS, CAP, WMARK, STEP, STEP_END = range(13)
N_REP = 13
IDLE, ITERATING, WAKING, CLOSED = 0, 1, 2, 3
# Float fields of a replica: when it next acts, last KV-use change, KV block-seconds, busy s,
# and the window it runs in (from OPEN, until before CLOSE).
UNTIL, CHANGED, KV_SECONDS, BUSY, OPEN, CLOSE = range(6)
N_REPF = 6


def jitted(kind: str) -> Callable[[Any], Any]:
    """The jit decorator called ``kind``, or nothing when compiled kernels are off."""
    return getattr(jit, kind) if jit.enabled() else (lambda function: function)


@jitted("inline")
def use_kv(rep: IntArray, repf: FloatArray, r: int, t: float, blocks: int, change: int) -> None:
    """Account KV use up to ``t``, then take (``change`` > 0) or free blocks."""
    used = blocks - rep[r, FREE]
    repf[r, KV_SECONDS] += used * (t - repf[r, CHANGED])
    repf[r, CHANGED] = t
    rep[r, FREE] -= change
    if used + change > rep[r, PEAK]:
        rep[r, PEAK] = used + change


@jitted("inline")
def push(req: IntArray, rep: IntArray, r: int, i: int, front: bool) -> None:
    """Put request ``i`` in replica ``r``'s waiting queue, at its head or tail."""
    req[i, STATE] = WAITING
    req[i, NEXT] = -1
    if rep[r, HEAD] < 0:
        rep[r, HEAD] = i
        rep[r, TAIL] = i
    elif front:
        req[i, NEXT] = rep[r, HEAD]
        rep[r, HEAD] = i
    else:
        req[rep[r, TAIL], NEXT] = i
        rep[r, TAIL] = i


@jitted("inline")
def pop(req: IntArray, rep: IntArray, r: int) -> int:
    i = rep[r, HEAD]
    rep[r, HEAD] = req[i, NEXT]
    if rep[r, HEAD] < 0:
        rep[r, TAIL] = -1
    return i


@jitted("inline")
def preempt_last(
    req: IntArray, rep: IntArray, repf: FloatArray, run: IntArray, r: int, t: float, blocks: int
) -> int:
    """Preempt replica ``r``'s most recently admitted running request; return it."""
    rep[r, NRUN] -= 1
    v = run[r, rep[r, NRUN]]
    use_kv(rep, repf, r, t, blocks, -req[v, HELD])
    req[v, HELD] = 0
    req[v, WORK] = 0
    req[v, COMPUTED] = 0
    req[v, TARGET] = req[v, PROMPT] + req[v, GEN]
    req[v, PREEMPTED] += 1
    rep[r, PREEMPTS] += 1
    push(req, rep, r, v, True)
    return v


@jitted("inline")
def decode_slot(
    req: IntArray, rep: IntArray, repf: FloatArray, run: IntArray, r: int, k: int, t: float, params: IntArray
) -> bool:
    """Give running request ``run[r, k]`` the KV slot for its next token, preempting from
    the tail while no block is free; False when it preempted itself."""
    i = run[r, k]
    block = params[BLOCK]
    need = (req[i, PROMPT] + req[i, GEN] + block - 1) // block
    while req[i, HELD] < need:
        if rep[r, FREE] > 0:
            use_kv(rep, repf, r, t, rep[r, CAP], 1)
            req[i, HELD] += 1
        elif preempt_last(req, rep, repf, run, r, t, rep[r, CAP]) == i:
            return False
    return True


@jitted("inline")
def admit(
    req: IntArray,
    rep: IntArray,
    repf: FloatArray,
    run: IntArray,
    r: int,
    t: float,
    params: IntArray,
    budget: int,
) -> int:
    """Admit the head of replica ``r``'s queue if it fits (sequences, blocks less the
    watermark and, without chunking, its whole prompt in ``budget``); the request or -1."""
    i = rep[r, HEAD]
    if i < 0 or rep[r, NRUN] >= params[MAX_SEQS]:
        return -1
    need = (req[i, TARGET] + params[BLOCK] - 1) // params[BLOCK]
    if rep[r, FREE] - need < rep[r, WMARK]:
        return -1
    if params[CHUNKED] == 0 and req[i, TARGET] > budget:
        return -1
    pop(req, rep, r)
    use_kv(rep, repf, r, t, rep[r, CAP], need)
    req[i, HELD] = need
    req[i, STATE] = RUNNING
    run[r, rep[r, NRUN]] = i
    rep[r, NRUN] += 1
    return i


@jitted("inline")
def close(req: IntArray, rep: IntArray, repf: FloatArray, run: IntArray, r: int) -> None:
    """Replica ``r``'s window ends: the requests it holds or queues are DROPPED."""
    for k in range(rep[r, NRUN]):
        req[run[r, k], STATE] = DROPPED
    while rep[r, HEAD] >= 0:
        req[pop(req, rep, r), STATE] = DROPPED
    rep[r, NRUN] = 0
    rep[r, OUTSTANDING] = 0
    rep[r, PHASE] = CLOSED
    repf[r, UNTIL] = INF


@jitted("inline")
def slowdown(rep: IntArray, step_t: FloatArray, step_f: FloatArray, r: int, t: float) -> float:
    """Replica ``r``'s slowdown at ``t``: its last step begun by then (steps in time order)."""
    s = rep[r, STEP]
    while s + 1 < rep[r, STEP_END] and step_t[s + 1] <= t:
        s += 1
    rep[r, STEP] = s
    return step_f[s]
