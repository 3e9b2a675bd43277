"""The replica simulator: continuous batching at token level, as vLLM schedules it.

Each replica keeps a FIFO of waiting requests and a list of running ones (in admission
order). When an iteration ends, every request in it that finished its prompt or decoded
emits one token; requests that reached their output length leave and free their KV-cache
blocks. Then the next iteration is formed:

- without chunked prefill (vLLM's default scheduler): waiting requests are admitted from
  the head while their whole prompt fits the token budget (``max_tokens``), the sequence
  cap (``max_seqs``) and the free blocks less a watermark; if any is admitted the iteration
  prefills them alone; otherwise every running request decodes one token;
- with chunked prefill: every decoding request takes one token of the budget, then running
  requests with prompt left take chunks of what remains, then waiting requests are admitted
  (blocks for their whole prompt) with a first chunk of it, while budget is left.

A decoding request whose next token starts a new block takes one; with none free, the most
recently admitted running request is preempted (possibly itself): its blocks are freed and
it goes back to the head of the queue, to prefill its prompt and the tokens it had generated
again (recomputation) before it continues. A request is routed on arrival to the replica
with the fewest requests outstanding (the lowest index on ties) among those whose window
(``OPEN`` to before ``CLOSE``: always, for ``llm simulate``) holds its arrival; with none, it
is DROPPED. When a replica's window closes with requests outstanding, they are DROPPED and
the replica serves nothing more (a replica of a cluster replay stopped or evicted).

Everything is numpy arrays and integers, so the same code runs compiled (numba) or, when
kernels are off, as plain Python with the same results.
"""

from __future__ import annotations

from schedlab.arrays import FloatArray, IntArray
from schedlab.llm.kernel_state import (
    ARRIVAL,
    BUSY,
    CAP,
    CHUNKED,
    CLOSE,
    CLOSED,
    COMPUTED,
    DONE,
    DROPPED,
    FINISH,
    FIRST,
    GEN,
    GOFF,
    HELD,
    IDLE,
    INF,
    ITERATING,
    ITERS,
    LAST,
    MAX_TOKENS,
    NRUN,
    OPEN,
    OUTPUT,
    OUTSTANDING,
    PENDING,
    PHASE,
    PROMPT,
    REPLICA,
    REPLICAS,
    STATE,
    TARGET,
    UNTIL,
    WAKING,
    WORK,
    admit,
    close,
    decode_slot,
    jitted,
    push,
    slowdown,
    use_kv,
)  # fmt: skip


@jitted("inline")
def iteration_time(
    coef: FloatArray, tp: float, pairs: float, pkv: float, decodes: float, dkv: float, sampled: float
) -> float:
    """Seconds of one iteration: ``tp`` prompt tokens with ``pairs`` causal query-key pairs
    and ``pkv`` cached tokens read, ``decodes`` decoding requests reading ``dkv`` cached
    tokens, ``sampled`` tokens through the output head (coefficients: roofline.py)."""
    tokens = tp + decodes
    total = coef[14]
    if tokens > 0:
        total += max(coef[0] * tokens, coef[1] + coef[2] * tokens) + coef[12] * tokens + coef[13]
    if tp > 0:
        total += max(coef[3] * pairs, coef[4] * pkv + coef[5] * tp)
    if decodes > 0:
        total += max(coef[6] * dkv, coef[7] * dkv + coef[8] * decodes)
    if sampled > 0:
        total += max(coef[9] * sampled, coef[10] + coef[11] * sampled)
    return total


@jitted("inline")
def _admit_prompts(
    req: IntArray,
    rep: IntArray,
    repf: FloatArray,
    run: IntArray,
    r: int,
    t: float,
    params: IntArray,
    budget: int,
) -> tuple[int, float, int, int, int]:
    """Admit waiting requests while they fit, each with as much of its prompt as ``budget``
    leaves (all of it without chunking: :func:`admit` checks); the prompt tokens, causal
    pairs, KV read and tokens sampled they add, and the budget left."""
    tp = 0
    pairs = 0.0
    pkv = 0
    sampled = 0
    while budget > 0:
        i = admit(req, rep, repf, run, r, t, params, budget)
        if i < 0:
            break
        c = min(req[i, TARGET], budget)
        req[i, WORK] = c
        tp += c
        pairs += c * (c + 1) / 2
        pkv += c
        sampled += 1 if c == req[i, TARGET] else 0
        budget -= c
    return tp, pairs, pkv, sampled, budget


@jitted("inline")
def _schedule(
    req: IntArray,
    rep: IntArray,
    repf: FloatArray,
    run: IntArray,
    r: int,
    t: float,
    params: IntArray,
    coef: FloatArray,
) -> float:
    """Form replica ``r``'s next iteration at ``t`` (marking each request's WORK); its
    duration, or -1 when there is nothing to do."""
    budget = params[MAX_TOKENS]
    decodes = 0
    dkv = 0
    chunked = params[CHUNKED] == 1
    tp, pairs, pkv, sampled = 0, 0.0, 0, 0
    if not chunked:
        tp, pairs, pkv, sampled, budget = _admit_prompts(req, rep, repf, run, r, t, params, budget)
        if tp > 0:
            return iteration_time(coef, tp, pairs, pkv, decodes, dkv, sampled)
    k = 0
    while k < rep[r, NRUN] and budget > 0:
        i = run[r, k]
        if req[i, COMPUTED] == req[i, TARGET]:
            if decode_slot(req, rep, repf, run, r, k, t, params):
                req[i, WORK] = -1
                decodes += 1
                dkv += req[i, PROMPT] + req[i, GEN]
                sampled += 1
                budget -= 1
            else:
                break
        k += 1
    if chunked:
        for k in range(rep[r, NRUN]):
            i = run[r, k]
            left = req[i, TARGET] - req[i, COMPUTED]
            if left > 0 and budget > 0:
                c = min(left, budget)
                s = req[i, COMPUTED]
                req[i, WORK] = c
                tp += c
                pairs += c * s + c * (c + 1) / 2
                pkv += s + c
                sampled += 1 if c == left else 0
                budget -= c
        more = _admit_prompts(req, rep, repf, run, r, t, params, budget)
        tp, pairs, pkv, sampled = tp + more[0], pairs + more[1], pkv + more[2], sampled + more[3]
    if tp + decodes == 0:
        return -1.0
    return iteration_time(coef, tp, pairs, pkv, decodes, dkv, sampled)


@jitted("inline")
def _complete(
    req: IntArray,
    reqf: FloatArray,
    rep: IntArray,
    repf: FloatArray,
    run: IntArray,
    gaps: FloatArray,
    r: int,
    t: float,
    blocks: int,
) -> None:
    """End replica ``r``'s iteration at ``t``: emit tokens, let finished requests go."""
    kept = 0
    for k in range(rep[r, NRUN]):
        i = run[r, k]
        work = req[i, WORK]
        req[i, WORK] = 0
        emits = work == -1
        if work > 0:
            req[i, COMPUTED] += work
            emits = req[i, COMPUTED] == req[i, TARGET]
        if emits:
            req[i, GEN] += 1
            if req[i, GEN] == 1:
                reqf[i, FIRST] = t
            else:
                gaps[req[i, GOFF] + req[i, GEN] - 2] = t - reqf[i, LAST]
            reqf[i, LAST] = t
        if req[i, GEN] == req[i, OUTPUT]:
            reqf[i, FINISH] = t
            req[i, STATE] = DONE
            use_kv(rep, repf, r, t, blocks, -req[i, HELD])
            req[i, HELD] = 0
            rep[r, OUTSTANDING] -= 1
        else:
            run[r, kept] = i
            kept += 1
    rep[r, NRUN] = kept


@jitted("kernel")
def simulate(
    req: IntArray,
    reqf: FloatArray,
    rep: IntArray,
    repf: FloatArray,
    run: IntArray,
    gaps: FloatArray,
    params: IntArray,
    coef: FloatArray,
    step_t: FloatArray,
    step_f: FloatArray,
) -> None:
    """Serve every PENDING request (sorted by arrival) on ``params[REPLICAS]`` replicas
    (``coef``: a row of iteration-time coefficients per replica), filling in the request and
    replica fields; REJECTED requests are skipped. An iteration takes its roofline time
    times the replica's slowdown where it begins (``step_f[s]`` from ``step_t[s]`` on, the
    replica's steps ``STEP`` to before ``STEP_END``: GPU time shared with co-located tasks)."""
    n = req.shape[0]
    replicas = params[REPLICAS]
    a = 0
    while True:
        while a < n and req[a, STATE] != PENDING:
            a += 1
        r = -1
        until = INF
        for q in range(replicas):
            at = min(repf[q, UNTIL], repf[q, CLOSE])  # its next iteration, or its window's end
            if rep[q, PHASE] != IDLE and rep[q, PHASE] != CLOSED and at < until:
                until = at
                r = q
        if a < n and reqf[a, ARRIVAL] <= until:
            t = reqf[a, ARRIVAL]
            best = -1
            for q in range(replicas):
                up = repf[q, OPEN] <= t < repf[q, CLOSE] and rep[q, PHASE] != CLOSED
                if up and (best < 0 or rep[q, OUTSTANDING] < rep[best, OUTSTANDING]):
                    best = q
            if best < 0:
                req[a, STATE] = DROPPED
                a += 1
                continue
            req[a, REPLICA] = best
            req[a, TARGET] = req[a, PROMPT]
            rep[best, OUTSTANDING] += 1
            push(req, rep, best, a, False)
            if rep[best, PHASE] == IDLE:
                rep[best, PHASE] = WAKING
                repf[best, UNTIL] = reqf[a, ARRIVAL]
            a += 1
            continue
        if r < 0:
            break
        t = until
        if rep[r, PHASE] == ITERATING and repf[r, UNTIL] <= t:  # not one cut short by CLOSE
            _complete(req, reqf, rep, repf, run, gaps, r, t, rep[r, CAP])
        if t >= repf[r, CLOSE]:
            close(req, rep, repf, run, r)
            continue
        dt = _schedule(req, rep, repf, run, r, t, params, coef[r])
        if dt > 0:
            dt *= slowdown(rep, step_t, step_f, r, t)
        if dt < 0:
            rep[r, PHASE] = IDLE
            repf[r, UNTIL] = INF
        else:
            rep[r, PHASE] = ITERATING
            repf[r, UNTIL] = t + dt
            repf[r, BUSY] += dt
            rep[r, ITERS] += 1
