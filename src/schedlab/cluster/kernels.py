"""Compiled kernels of the cluster model: feasibility, fragmentation, placing and releasing.

Plain functions over the arrays of :class:`ClusterArrays`, :class:`ShapeArraysK` and
:class:`FragArrays` (NamedTuples, so numba passes them as structs and caches the code on
disk). They mirror :mod:`schedlab.cluster.feasibility`, :class:`~schedlab.cluster.Fragmentation`
and :class:`~schedlab.cluster.ClusterState` exactly; the tests assert it.

Fragmentation is kept per node, incrementally: for every distinct per-GPU threshold ``h`` of
the typical tasks, ``ge[n, h]`` counts the node's GPUs with at least that much free and
``big[n, h]`` sums their free milli, so a node's fragmentation (and that of a hypothetical
state one placement away) costs O(thresholds + typical tasks).
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np

from schedlab.arrays import BoolArray, IntArray
from schedlab.cluster.fragmentation import Fragmentation
from schedlab.cluster.shapes import ShapeArrays, intern
from schedlab.cluster.state import ClusterState
from schedlab.jit import inline, kernel, step

GPU_MILLI = 1000
T = TypeVar("T", bound=tuple)


class ClusterArrays(NamedTuple):
    """Node state (row = node), plus fragmentation bookkeeping and ``allocated[0]``. Integer
    types are as small as the values allow (see :func:`cluster_arrays`)."""

    cpu_left: IntArray
    mem_left: IntArray
    gpu_free: IntArray  # N x G
    class_count: IntArray  # N x (G + 1)
    num_gpu: IntArray
    model: IntArray
    frag: IntArray  # fragmentation numerator per node
    ge: IntArray  # N x H: GPUs with free >= threshold h
    big: IntArray  # N x H: their free milli
    allocated: IntArray  # [allocated GPU milli]
    kind: IntArray  # N: nodes of one kind started alike (same state and GPU model)
    pristine: BoolArray  # N: not changed since the start (so still like every node of its kind)
    up: BoolArray  # N: in service (node events take nodes out and back)


class ShapeArraysK(NamedTuple):
    """Task shapes as columns; ``cls`` is -1 (CPU-only), 0 (sharing) or k (k whole GPUs)."""

    cpu: IntArray
    mem: IntArray
    k: IntArray
    milli: IntArray
    total: IntArray
    cls: IntArray
    allowed: BoolArray  # S x M


class FragArrays(NamedTuple):
    """The typical tasks of the fragmentation measure; ``scratch`` rows hold temporaries."""

    cpu: IntArray
    k: IntArray
    gpu_task: IntArray
    weight: IntArray  # how many tasks of the trace each typical task stands for
    thresholds: IntArray  # H distinct per-GPU thresholds
    threshold_of: IntArray  # per typical task: its threshold
    allowed: BoolArray  # M x T
    scratch: IntArray  # 2 x H


def owned(arrays: T) -> T:
    """``arrays`` (a NamedTuple of arrays) with every array C-contiguous and writeable, as
    the compiled signatures require (arrays that already are stay shared, not copied)."""
    return type(arrays)(*(np.require(a, requirements=["C", "W"]) for a in arrays))


def cluster_arrays(state: ClusterState, frag: FragArrays) -> ClusterArrays:
    """The kernel form of ``state``: a copy in the smallest integer types that hold it (a node
    is read at random, so the fewer bytes per node, the more of a large cluster stays in
    cache: the whole hot state of 120,000 nodes takes a few MB)."""
    n, h = len(state), len(frag.thresholds)
    columns = (
        state.cpu_left,
        state.mem_left,
        state.num_gpu,
        state.model,
        *state.gpu_free.T,
        *state.class_count.T,
    )
    kind = intern(*columns)[0] if n else np.zeros(0)
    arrays = ClusterArrays(
        cpu_left=_compact(state.cpu_left, np.int32),
        mem_left=_compact(state.mem_left, np.int32),
        gpu_free=_compact(state.gpu_free, np.int16),
        class_count=_compact(state.class_count, np.int32),
        num_gpu=_compact(state.num_gpu, np.int16),
        model=_compact(state.model, np.int16),
        frag=np.zeros(n, dtype=np.int64),
        ge=np.zeros((n, h), dtype=np.int16),
        big=np.zeros((n, h), dtype=np.int32),
        allocated=np.array([state.allocated_gpu_milli], dtype=np.int64),
        kind=np.ascontiguousarray(kind, dtype=np.int32),
        pristine=state.up.copy(),  # a node out of service is unlike the others of its kind
        up=state.up.copy(),
    )
    refresh_all(arrays, frag)
    return arrays


def _compact(values: IntArray, dtype: type[np.signedinteger]) -> np.ndarray:
    """``values`` as ``dtype`` when they fit (else int64: the kernels take either)."""
    info = np.iinfo(dtype)
    fits = not len(values) or (int(values.min()) >= info.min and int(values.max()) <= info.max)
    return np.ascontiguousarray(values, dtype=dtype if fits else np.int64)


def shape_arrays(shapes: ShapeArrays) -> ShapeArraysK:
    k, milli = shapes.num_gpu, shapes.gpu_milli
    cls = np.where(k == 0, -1, np.where((k == 1) & (milli < GPU_MILLI), 0, k))
    return owned(
        ShapeArraysK(shapes.cpu, shapes.mem, k, milli, k * milli, cls.astype(np.int64), shapes.allowed)
    )


def frag_arrays(frag: Fragmentation) -> FragArrays:
    t = frag.typical
    gpu_task = t.num_gpu > 0
    thresholds, index = np.unique(np.where(gpu_task, t.gpu_milli, 1), return_inverse=True)
    return owned(
        FragArrays(
            cpu=t.cpu,
            k=np.where(gpu_task, t.num_gpu, 0).astype(np.int64),
            gpu_task=gpu_task.astype(np.int64),
            weight=t.count,
            thresholds=thresholds.astype(np.int64),
            threshold_of=index.reshape(-1).astype(np.int64),
            allowed=frag.allowed_by_model,
            scratch=np.zeros((2, len(thresholds)), dtype=np.int64),
        )
    )


@inline
def fits(c: ClusterArrays, sh: ShapeArraysK, s: int, n: int) -> bool:
    """Whether node ``n`` can host shape ``s`` now (the rule of ``cluster.feasibility``; a
    node out of service hosts nothing)."""
    if not c.up[n] or c.cpu_left[n] < sh.cpu[s] or c.mem_left[n] < sh.mem[s]:
        return False
    k = sh.k[s]
    if k == 0:
        return True
    if not sh.allowed[s, c.model[n]]:
        return False
    milli = sh.milli[s]
    have = 0
    for g in range(c.gpu_free.shape[1]):
        if c.gpu_free[n, g] >= milli:
            have += 1
    return have >= k


@inline
def frag_of(cpu_left: int, total: int, ge: IntArray, big: IntArray, model: int, f: FragArrays) -> int:
    """Fragmentation numerator of a node state given by its threshold counts and sums."""
    acc = 0
    for t in range(len(f.cpu)):
        h = f.threshold_of[t]
        if f.gpu_task[t] and cpu_left >= f.cpu[t] and ge[h] >= f.k[t] and f.allowed[model, t]:
            acc += (total - big[h]) * f.weight[t]
        else:
            acc += total * f.weight[t]
    return acc


@step
def refresh_node(c: ClusterArrays, f: FragArrays, n: int) -> None:
    """Recompute node ``n``'s threshold counts and fragmentation from its free GPUs."""
    total = 0
    for g in range(c.gpu_free.shape[1]):
        total += c.gpu_free[n, g]
    for h in range(len(f.thresholds)):
        count = 0
        amount = 0
        for g in range(c.gpu_free.shape[1]):
            free = c.gpu_free[n, g]
            if free >= f.thresholds[h]:
                count += 1
                amount += free
        c.ge[n, h] = count
        c.big[n, h] = amount
    c.frag[n] = frag_of(c.cpu_left[n], total, c.ge[n], c.big[n], c.model[n], f)


@kernel
def refresh_all(c: ClusterArrays, f: FragArrays) -> None:
    for n in range(len(c.cpu_left)):
        refresh_node(c, f, n)


@inline
def frag_after(c: ClusterArrays, f: FragArrays, n: int, cpu: int, gpu: int, take: int, whole: int) -> int:
    """Fragmentation of node ``n`` after taking ``cpu`` and either ``take`` milli from GPU
    ``gpu`` (``gpu >= 0``) or ``whole`` completely free GPUs (``gpu < 0``)."""
    ge, big = f.scratch[0], f.scratch[1]
    total = 0
    for g in range(c.gpu_free.shape[1]):
        total += c.gpu_free[n, g]
    before = c.gpu_free[n, gpu] if gpu >= 0 else GPU_MILLI
    after = before - take if gpu >= 0 else 0
    times = 1 if gpu >= 0 else whole
    for h in range(len(f.thresholds)):
        ge[h] = c.ge[n, h]
        big[h] = c.big[n, h]
        threshold = f.thresholds[h]
        if before >= threshold:
            ge[h] -= times
            big[h] -= before * times
        if after >= threshold:
            ge[h] += times
            big[h] += after * times
    total -= (before - after) * times
    return frag_of(c.cpu_left[n] - cpu, total, ge, big, c.model[n], f)


@step
def apply(c: ClusterArrays, sh: ShapeArraysK, f: FragArrays, s: int, n: int, mask: int, sign: int) -> None:
    """Place (``sign = -1``) or release (``+1``) shape ``s`` on node ``n``, GPUs in ``mask``."""
    c.cpu_left[n] += sign * sh.cpu[s]
    c.mem_left[n] += sign * sh.mem[s]
    c.pristine[n] = False
    if sh.k[s] > 0:
        for g in range(c.gpu_free.shape[1]):
            if mask >> g & 1:
                c.gpu_free[n, g] += sign * sh.milli[s]
        c.class_count[n, sh.cls[s]] -= sign
        c.allocated[0] -= sign * sh.total[s]
    refresh_node(c, f, n)


@inline
def best_fit_gpu(c: ClusterArrays, n: int, milli: int) -> int:
    """The GPU of node ``n`` with the least free amount that fits ``milli`` (lowest index)."""
    best, best_free = -1, GPU_MILLI + 1
    for g in range(c.gpu_free.shape[1]):
        free = c.gpu_free[n, g]
        if milli <= free < best_free:
            best, best_free = g, free
    return best


@inline
def whole_gpus_mask(c: ClusterArrays, n: int, k: int) -> int:
    """Bit mask of the ``k`` lowest-indexed completely free GPUs of node ``n``."""
    mask = 0
    for g in range(c.gpu_free.shape[1]):
        if k == 0:
            break
        if c.gpu_free[n, g] == GPU_MILLI:
            mask |= 1 << g
            k -= 1
    return mask
