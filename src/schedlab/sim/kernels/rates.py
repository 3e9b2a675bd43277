"""Compiled progress rates: the mirror of :class:`schedlab.sim.progress.ProgressRates`.

Per GPU, the profiled tasks on it form a doubly linked list in start order (the reference's
group list). Whenever a group changes, each member's slowdown comes from the group rule of
:mod:`schedlab.interference.models.base` over pair matrices (a pair's slowdown in a pair and
in larger groups, as the model has them), an alone vector and a scale per number of
co-runners precomputed from the model (same operations, same order, so the same floats); a
batch job's work left is brought up to date and its departure pushed again (its key's epoch
bumped, so the earlier one is ignored); a service's span of constant slowdown is recorded.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from schedlab.arrays import BoolArray, FloatArray, IntArray
from schedlab.engine.kernels import EventHeap, push
from schedlab.jit import inline, step

#: The task joining a group in :func:`update` when none is (typed: no literal specialisation).
NO_TASK = np.int64(-1)
#: Departure keys: the attempt in the high bits, the epoch (reschedules) in the low ones.
EPOCH_BITS = 32


class RateArrays(NamedTuple):
    config: IntArray  # n: configuration index (-1: no profile)
    service: BoolArray  # n
    pair: FloatArray  # 2 x C x C: pair slowdowns under the run's sharing mode, in pairs, in larger groups
    alone: FloatArray  # C
    solo: FloatArray  # C x M: slowdown alone on a GPU of each model (a MIG slice: its compute)
    model: IntArray  # N: the node's GPU model
    scale: FloatArray  # co-runners -> factor on the sum of the pairs' extra delays
    squares: BoolArray  # 1: in groups of three or more, the extra delays combine in quadrature
    left: FloatArray  # n: work left, seconds at speed 1 alone
    speed: FloatArray  # n
    since: FloatArray  # n
    slowdown: FloatArray  # n
    epoch: IntArray  # n
    head: IntArray  # N x G: first task of the GPU's group (-1: none)
    tail: IntArray  # N x G
    changes: IntArray  # N x G: how often the GPU's group changed
    prev: IntArray  # n
    next: IntArray  # n
    scratch: FloatArray  # the largest group: its members' slowdowns
    seg_task: IntArray  # segments: (task, start, end, slowdown, speed) of services' spans
    seg_start: FloatArray
    seg_end: FloatArray
    seg_slowdown: FloatArray
    seg_speed: FloatArray
    segs: IntArray  # 1: segments recorded


def rate_arrays(
    nodes: int,
    width: int,
    config: IntArray,
    service: BoolArray,
    pair: FloatArray,
    alone: FloatArray,
    scale: FloatArray,
    squares: bool,
    group_max: int,
    segments: int,
    solo: FloatArray,
    model: IntArray,
) -> RateArrays:
    n = max(len(config), 1)
    return RateArrays(
        config=np.ascontiguousarray(config, dtype=np.int64),
        service=np.ascontiguousarray(service, dtype=np.bool_),
        pair=np.ascontiguousarray(pair, dtype=np.float64),
        alone=np.ascontiguousarray(alone, dtype=np.float64),
        solo=np.ascontiguousarray(solo, dtype=np.float64),
        model=np.ascontiguousarray(model, dtype=np.int64),
        scale=np.ascontiguousarray(scale, dtype=np.float64),
        squares=np.array([squares], dtype=np.bool_),
        left=np.zeros(n),
        speed=np.ones(n),
        since=np.zeros(n),
        slowdown=np.ones(n),
        epoch=np.zeros(n, dtype=np.int64),
        head=np.full((nodes, width), -1, dtype=np.int64),
        tail=np.full((nodes, width), -1, dtype=np.int64),
        changes=np.zeros((nodes, width), dtype=np.int64),
        prev=np.full(n, -1, dtype=np.int64),
        next=np.full(n, -1, dtype=np.int64),
        scratch=np.zeros(max(group_max, 1)),
        seg_task=np.zeros(segments, dtype=np.int64),
        seg_start=np.zeros(segments),
        seg_end=np.zeros(segments),
        seg_slowdown=np.zeros(segments),
        seg_speed=np.zeros(segments),
        segs=np.zeros(1, dtype=np.int64),
    )


def no_rates(n: int) -> RateArrays:
    """The arrays of a replay without interference: only the departure keys' epochs are per
    task (the kernels read the others only when ``RATES`` is set)."""
    one = np.ones(1)
    none = rate_arrays(
        0,
        1,
        np.full(1, -1),
        np.zeros(1, dtype=bool),
        np.ones((2, 1, 1)),
        one,
        one,
        False,
        1,
        0,
        np.ones((1, 1)),
        np.zeros(1),
    )
    return none._replace(epoch=np.zeros(max(n, 1), dtype=np.int64))


@inline
def term(extra: float, squares: bool) -> float:
    """One co-runner's extra delay as the group rule adds it: itself, or its signed square."""
    return extra * abs(extra) if squares else extra


@inline
def combined(extra: float, squares: bool) -> float:
    """The mirror of :func:`schedlab.interference.models.base.combined`."""
    return math.copysign(math.sqrt(abs(extra)), extra) if squares else extra


@step
def key(q: RateArrays, attempt: int, t: int) -> int:
    """The departure key of task ``t`` now: stale keys mark cancelled departures."""
    return (attempt << EPOCH_BITS) | q.epoch[t]


@step
def reschedule(q: RateArrays, h: EventHeap, attempt: int, t: int, end: float) -> None:
    q.epoch[t] += 1
    push(h, end, t, key(q, attempt, t))


@step
def close(q: RateArrays, t: int, now: float) -> None:
    """End service ``t``'s current span of constant slowdown at ``now``."""
    if q.service[t] and now > q.since[t]:
        i = q.segs[0]
        q.seg_task[i], q.seg_start[i], q.seg_end[i] = t, q.since[t], now
        q.seg_slowdown[i], q.seg_speed[i] = q.slowdown[t], q.speed[t]
        q.segs[0] += 1
    q.since[t] = now


@step
def update(q: RateArrays, h: EventHeap, attempt: IntArray, n: int, g: int, now: float, new: int) -> None:
    """New slowdowns for every member of GPU ``g`` of node ``n`` (the reference's ``_update``)."""
    others = -1
    u = q.head[n, g]
    while u >= 0:
        others += 1
        u = q.next[u]
    scale = q.scale[min(max(others, 0), len(q.scale) - 1)]
    pair = q.pair[1 if others > 1 else 0]
    squares = others > 1 and q.squares[0]
    size = 0
    u = q.head[n, g]
    while u >= 0:  # the group rule, in group order
        ci = q.config[u]
        extra = 0.0
        v = q.head[n, g]
        while v >= 0:
            if v != u:
                extra += term(pair[ci, q.config[v]] - 1.0, squares)
            v = q.next[v]
        q.scratch[size] = q.alone[ci] * max(1.0 + combined(extra, squares) * scale, 1e-3)
        size += 1
        u = q.next[u]
    if size == 1:  # alone: no sharing, no slowdown (but a MIG slice's own)
        q.scratch[0] = q.solo[q.config[q.head[n, g]], q.model[n]]
    i = 0
    u = q.head[n, g]
    while u >= 0:
        slowdown = q.scratch[i]
        i += 1
        if q.service[u]:
            close(q, u, now)
            q.slowdown[u] = slowdown
        else:
            if u != new:  # the work done since the last change, at the rate of then
                done = (now - q.since[u]) * q.speed[u] / q.slowdown[u]
                q.left[u] = max(q.left[u] - done, 0.0)
            q.since[u] = now
            q.slowdown[u] = slowdown
            reschedule(q, h, attempt[u], u, now + q.left[u] * q.slowdown[u] / q.speed[u])
        u = q.next[u]


@step
def single_gpu(mask: int) -> int:
    """The GPU index when ``mask`` holds exactly one GPU, else -1."""
    if mask == 0 or (mask & (mask - 1)) != 0:
        return -1
    g = 0
    while (mask >> g) & 1 == 0:
        g += 1
    return g


@step
def start(
    q: RateArrays,
    h: EventHeap,
    attempt: IntArray,
    t: int,
    n: int,
    mask: int,
    work: float,
    speed: float,
    now: float,
) -> None:
    """Task ``t`` starts on ``mask`` of node ``n`` with ``work`` seconds to do at ``speed``."""
    q.left[t], q.speed[t], q.since[t], q.slowdown[t] = work, speed, now, 1.0
    if q.service[t]:
        reschedule(q, h, attempt[t], t, now + work)  # a service lives its run time
    g = single_gpu(mask)
    if q.config[t] < 0 or g < 0:
        if not q.service[t]:
            reschedule(q, h, attempt[t], t, now + work / speed)
        return
    q.prev[t], q.next[t] = q.tail[n, g], -1
    if q.tail[n, g] >= 0:
        q.next[q.tail[n, g]] = t
    else:
        q.head[n, g] = t
    q.tail[n, g] = t
    q.changes[n, g] += 1
    update(q, h, attempt, n, g, now, t)


@step
def stop(q: RateArrays, h: EventHeap, attempt: IntArray, t: int, n: int, mask: int, now: float) -> None:
    """Task ``t`` leaves (finished or evicted): its GPU's others speed up."""
    close(q, t, now)
    g = single_gpu(mask)
    if q.config[t] < 0 or g < 0:
        return
    before, after = q.prev[t], q.next[t]
    if before >= 0:
        q.next[before] = after
    else:
        q.head[n, g] = after
    if after >= 0:
        q.prev[after] = before
    else:
        q.tail[n, g] = before
    q.changes[n, g] += 1
    q.prev[t] = q.next[t] = -1
    update(q, h, attempt, n, g, now, NO_TASK)
