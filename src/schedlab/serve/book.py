"""The extender's live cluster: nodes, per-GPU occupancy and the pods it placed or learned.

Nodes map to the same :class:`~schedlab.cluster.state.ClusterState` the simulator uses (in
name order, which is also the tie order), pods to the same shapes, and the placement policy
is the same object a replay would call, through the same :class:`~schedlab.scheduler.
placer.Placer`: prioritize ranks nodes with :meth:`Placer.keys` and bind takes the GPUs of
:meth:`Placer.choose`. Every method holds one lock: concurrent requests are safe.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from schedlab.cluster.fragmentation import Fragmentation, TypicalTasks
from schedlab.cluster.shapes import Shape, allowed_mask
from schedlab.cluster.state import ClusterState
from schedlab.policies import PolicyContext, make_policy
from schedlab.scheduler.placer import Placer
from schedlab.serve.fit import NO_GPU, PASS, ROOM, UNKNOWN, codes_of, reasons
from schedlab.serve.instances import build_rows, names_profiles, shape_spec, typical_for
from schedlab.serve.objects import NodeSpec, PodRequest
from schedlab.trace.tables import GPU_MILLI, IntArray, Tasks

log = logging.getLogger("schedlab")

#: Pods remembered between their filter/prioritize calls and their bind.
PENDING = 100_000


class BindError(Exception):
    """A bind that cannot be done; its message goes back in the answer's ``Error``."""


@dataclass(frozen=True)
class Held:
    """A pod holding resources: where, which GPUs, and its request."""

    node: str
    gpus: tuple[int, ...]
    pod: PodRequest
    stamp: int = 0  # the book's clock when this was last confirmed (see Book.forget_unlisted)
    started: float = 0.0  # seconds since the epoch (what an eviction loses is counted from it)

    @property
    def booked(self) -> bool:
        """Whether it holds GPUs in the cluster state (a pod on MIG instances: all it asks)."""
        return not self.pod.mig or len(self.gpus) == self.pod.num_gpu


class Book:
    """The cluster as the extender knows it. ``typical`` is the task mix of FGD's
    fragmentation measure; ``seed`` seeds policies that draw random numbers."""

    def __init__(self, policy: str, typical: Tasks, seed: int = 0) -> None:
        self.policy_name = policy
        self.typical = TypicalTasks.from_tasks(typical)
        self.seed = seed
        self.lock = threading.RLock()
        self.nodes: dict[str, NodeSpec] = {}
        self.held: dict[str, Held] = {}  # pod uid: what it holds
        self.pending: OrderedDict[str, PodRequest] = OrderedDict()
        self.inflight: set[str] = set()  # pods whose bind's API writes are under way
        self.clock = 0  # ticks at every change of what a pod holds
        self.warned_mix = False  # said that the typical mix names no MIG profile
        self._build()

    # ----- nodes ------------------------------------------------------------------------------

    def upsert(self, specs: list[NodeSpec]) -> None:
        """Learn nodes (new, or changed); the state is rebuilt only when something changed."""
        self._update(specs, [])

    def remove_node(self, name: str) -> None:
        self._update([], [name])

    def replace_nodes(self, specs: list[NodeSpec], keep: frozenset[str] = frozenset()) -> int:
        """Make the known nodes exactly ``specs`` (a full listing) plus those named in
        ``keep``: the others are dropped, changed ones updated; one rebuild. The number dropped."""
        with self.lock:
            listed = {s.name for s in specs}
            gone = [name for name in self.nodes if name not in listed and name not in keep]
            self._update(specs, gone)
            return len(gone)

    def _update(self, specs: list[NodeSpec], gone: list[str]) -> None:
        """Drop the nodes ``gone``, learn ``specs``; one rebuild if anything changed."""
        with self.lock:
            dropped = [name for name in gone if self.nodes.pop(name, None) is not None]
            changed = [s for s in specs if self.nodes.get(s.name) != s]
            for spec in changed:
                self.nodes[spec.name] = spec
            if dropped or changed:
                self._build()

    def _build(self) -> None:
        """A fresh cluster state over the known nodes (by name, and their MIG instances:
        :mod:`~schedlab.serve.instances`), with every held pod back."""
        self.rows = rows = build_rows(self.nodes)
        self.cluster = ClusterState(rows.nodes)
        self.names, self.index = rows.names, rows.index
        if len(rows.nodes) > len(rows.names) and not self.warned_mix and not names_profiles(self.typical):
            self.warned_mix = True
            log.warning(
                "the typical task mix (--pods) names no MIG profile: FGD's measure counts every"
                " free MIG instance as a fragment (give a mix whose gpu_spec names them: mig-1g.10gb)"
            )
        frag = Fragmentation(typical_for(self.typical, rows), self.cluster.models)
        context = PolicyContext(frag, np.random.default_rng(self.seed))
        self.policy = make_policy(self.policy_name, context)
        self.placer = Placer(self.cluster, self.policy, np.arange(len(rows.nodes), dtype=np.int64))
        self.generation = getattr(self, "generation", 0) + 1  # answers cached per node set
        self.fragmentation = frag
        self._shapes: dict[tuple[int, int, int, int, str, str], Shape] = {}
        self._fit: dict[Shape, tuple[int, IntArray]] = {}
        for uid, held in self.held.items():
            row = rows.row(held.node, held.pod)
            if row >= 0 and held.pod.mig:  # its node's instances may have changed: take free ones
                held = self.held[uid] = replace(held, gpus=self._free_instances(row, held.pod))
            if row >= 0 and held.booked:
                self.cluster.place(row, self.shape(held.pod), held.gpus, check=False)

    def _free_instances(self, row: int, pod: PodRequest) -> tuple[int, ...]:
        """Free instances of ``row`` for ``pod``, the first ones; none when too few are free
        (the API has it there, the book cannot: it is not booked, with a warning)."""
        found = tuple(np.flatnonzero(self.cluster.gpu_free[row] >= GPU_MILLI)[: pod.num_gpu].tolist())
        if len(found) < pod.num_gpu:
            where = self.rows.node_of[row]
            log.warning("pod %s/%s: too few free %s on %s", pod.namespace, pod.name, pod.resource, where)
            return ()
        return found

    def shape(self, pod: PodRequest) -> Shape:
        key = (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli, pod.gpu_spec, pod.mig)
        found = self._shapes.get(key)
        if found is None:
            spec = shape_spec(pod, self.rows)
            allowed = allowed_mask(spec, self.cluster.models) if pod.num_gpu else None
            found = self._shapes[key] = Shape(len(self._shapes), *key[:4], spec, allowed)
        return found

    def shapes(self) -> tuple[Shape, ...]:
        """Every shape made so far, in id order."""
        return tuple(self._shapes.values())

    # ----- the verbs -----------------------------------------------------------------------

    def remember(self, pod: PodRequest) -> None:
        """Keep a pod's request for its bind (the bind call carries names only)."""
        with self.lock:
            self.pending[pod.uid] = pod
            self.pending.move_to_end(pod.uid)
            while len(self.pending) > PENDING:
                self.pending.popitem(last=False)

    def filter(self, pod: PodRequest, names: list[str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """Nodes where ``pod`` fits per GPU; the others with a reason: those that could free
        room (FailedNodes) and those that never can (FailedAndUnresolvableNodes)."""
        codes = self.filter_codes(pod, self.lookup(names))
        why = reasons(pod)
        labels = np.array(names, dtype=object)
        never: dict[str, str] = {}
        for code in range(ROOM):
            never.update(dict.fromkeys(labels[codes == code].tolist(), why[code]))
        failed = dict.fromkeys(labels[codes == ROOM].tolist(), why[ROOM])
        return labels[codes == PASS].tolist(), failed, never

    def filter_codes(self, pod: PodRequest, at: IntArray) -> IntArray:
        """Per node (indices, -1: unknown): ``PASS``, or why ``pod`` does not fit there
        (an index into :func:`~schedlab.serve.fit.reasons`; ``ROOM`` alone could be resolved
        by preemption)."""
        with self.lock:
            self.remember(pod)
            codes = np.full(len(at), PASS, dtype=np.int64)
            if not pod.wants_gpu:
                return codes
            rows = self.rows.at(pod, at)
            codes[at < 0] = UNKNOWN
            codes[(at >= 0) & (rows < 0)] = NO_GPU  # no instances of its profile there
            known = rows >= 0
            if known.any():
                codes[known] = self._codes(self.shape(pod))[rows[known]]
            return codes

    def _codes(self, shape: Shape) -> IntArray:
        """The filter code of every node for ``shape``, kept per shape and brought up to date
        on the nodes changed since (as the placer keeps its scores)."""
        c = self.cluster
        changes = len(c.changes)
        entry = self._fit.get(shape)
        if entry is None or changes - entry[0] > len(c) // 8:
            codes = codes_of(c, shape, np.arange(len(c)))
        else:
            position, codes = entry
            if position != changes:
                dirty = c.changed_since(position)
                codes[dirty] = codes_of(c, shape, dirty)
        self._fit[shape] = (changes, codes)
        return codes

    def lookup(self, names: list[str]) -> IntArray:
        """Node indices of ``names`` (-1: unknown)."""
        found = map(self.index.get, names, itertools.repeat(-1))
        return np.fromiter(found, dtype=np.int64, count=len(names))

    def bind(self, uid: str, node: str) -> tuple[PodRequest, tuple[int, ...]] | None:
        """Take GPUs on ``node`` for pod ``uid`` (the policy picks them); None if the pod is
        already bound there (a repeated bind); :class:`BindError` if it cannot be."""
        with self.lock:
            held = self.held.get(uid)
            if held is not None:
                if held.node == node:
                    return None
                raise BindError(f"schedlab: pod {uid} is already bound to {held.node}")
            pod = self.pending.get(uid)
            if pod is None:
                raise BindError(f"schedlab: no filter or prioritize call seen for pod {uid}")
            i = self.rows.row(node, pod)
            if i < 0:
                what = f"node {node} has no {pod.resource}" if node in self.index else f"unknown node {node}"
                raise BindError(f"schedlab: {what}")
            shape = self.shape(pod)
            if not self.cluster.feasible(shape, np.array([i]))[0]:
                raise BindError(f"schedlab: pod {pod.namespace}/{pod.name} no longer fits node {node}")
            gpus = self.placer.choose(shape, i) if pod.wants_gpu else ()
            self.cluster.place(i, shape, gpus)
            self.held[uid] = Held(node, gpus, pod, self._tick(), time.time())
            self.inflight.add(uid)
            return pod, gpus

    def confirm(self, uid: str) -> None:
        """The bind's API writes of pod ``uid`` are done: it now holds its GPUs as any
        listed pod does."""
        with self.lock:
            self.inflight.discard(uid)
            held = self.held.get(uid)
            if held is not None:
                self.held[uid] = Held(held.node, held.gpus, held.pod, self._tick(), held.started)

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def release(self, uid: str) -> bool:
        """Free what pod ``uid`` holds (it finished, was deleted, or its bind failed)."""
        with self.lock:
            self.inflight.discard(uid)
            held = self.held.pop(uid, None)
            if held is None:
                return False
            row = self.rows.row(held.node, held.pod)
            if row >= 0 and held.booked:
                self.cluster.release(row, self.shape(held.pod), held.gpus)
            return True

    def learn(self, pod: PodRequest, node: str, gpus: tuple[int, ...], started: float | None = None) -> None:
        """A pod already bound (seen through the API, e.g. after a restart): book its GPUs.
        Where the API says otherwise than the book (another node or GPUs), the API wins,
        except for a pod whose bind is under way. A pod on MIG instances takes free ones
        (``gpus`` unread: the device plugin chose, and instances of a profile are alike)."""
        with self.lock:
            held = self.held.get(pod.uid)
            if held is not None:
                same = held.node == node and (pod.mig != "" or held.gpus == gpus)
                if pod.uid in self.inflight or same:
                    return
                self.release(pod.uid)
            i = self.rows.row(node, pod)
            if i >= 0 and pod.mig:
                gpus = self._free_instances(i, pod)
            self.held[pod.uid] = Held(node, gpus, pod, self._tick(), started or time.time())
            if i < 0 or not self.held[pod.uid].booked:
                return
            if any(g >= self.cluster.num_gpu[i] for g in gpus):
                log.warning(
                    "pod %s/%s: gpu-index %s beyond node %s's GPUs", pod.namespace, pod.name, gpus, node
                )
            within = [g for g in gpus if g < self.cluster.num_gpu[i]]
            self.cluster.place(i, self.shape(pod), within, check=False)

    def forget_unlisted(self, listed: set[str], stamp: int) -> int:
        """After a full listing of the pods holding GPUs (``listed``: their uids), begun
        when the clock read ``stamp``: free every pod the listing no longer has, except
        those booked or confirmed since it began (their writes may postdate it) and binds
        under way. The number freed."""
        with self.lock:
            gone = [
                uid
                for uid, held in self.held.items()
                if uid not in listed and uid not in self.inflight and held.stamp <= stamp
            ]
            for uid in gone:
                self.release(uid)
            return len(gone)
