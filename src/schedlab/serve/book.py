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
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from schedlab.cluster.fragmentation import Fragmentation, TypicalTasks
from schedlab.cluster.shapes import Shape, allowed_mask
from schedlab.cluster.state import ClusterState
from schedlab.policies import PolicyContext, make_policy
from schedlab.scheduler.placer import NONE, Placer
from schedlab.serve.objects import NodeSpec, PodRequest
from schedlab.trace.tables import IntArray, Nodes, Tasks

log = logging.getLogger("schedlab")

#: Pods remembered between their filter/prioritize calls and their bind.
PENDING = 100_000
MAX_SCORE = 10  # kube-scheduler's MaxExtenderPriority
#: Filter codes: why a node does not take a pod (PASS: it does).
PASS, UNKNOWN, NO_GPU, WRONG_MODEL, TOO_FEW, ROOM = -1, 0, 1, 2, 3, 4


class BindError(Exception):
    """A bind that cannot be done; its message goes back in the answer's ``Error``."""


@dataclass(frozen=True)
class Held:
    """A pod holding resources: where, which GPUs, and its request."""

    node: str
    gpus: tuple[int, ...]
    pod: PodRequest


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
        self._build()

    # ----- nodes ------------------------------------------------------------------------------

    def upsert(self, specs: list[NodeSpec]) -> None:
        """Learn nodes (new, or changed); the state is rebuilt only when something changed."""
        with self.lock:
            changed = [s for s in specs if self.nodes.get(s.name) != s]
            if changed:
                for spec in changed:
                    self.nodes[spec.name] = spec
                self._build()

    def remove_node(self, name: str) -> None:
        with self.lock:
            if self.nodes.pop(name, None) is not None:
                self._build()

    def _build(self) -> None:
        """A fresh cluster state over the known nodes (by name), with every held pod back."""
        names = sorted(self.nodes)
        rows = [(n, s.cpu_milli, s.memory_mib, s.num_gpu, s.model) for n in names for s in [self.nodes[n]]]
        self.cluster = ClusterState(Nodes.build(rows, "kubernetes"))
        self.index = {name: i for i, name in enumerate(names)}
        frag = Fragmentation(self.typical, self.cluster.models)
        context = PolicyContext(frag, np.random.default_rng(self.seed))
        self.policy = make_policy(self.policy_name, context)
        self.placer = Placer(self.cluster, self.policy, np.arange(len(names), dtype=np.int64))
        self.names = names
        self.generation = getattr(self, "generation", 0) + 1  # answers cached per node set
        self.fragmentation = frag
        self._shapes: dict[tuple[int, int, int, int, str], Shape] = {}
        self._fit: dict[Shape, tuple[int, IntArray]] = {}
        for held in self.held.values():
            if held.node in self.index:
                self.cluster.place(self.index[held.node], self.shape(held.pod), held.gpus, check=False)

    def shape(self, pod: PodRequest) -> Shape:
        key = (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli, pod.gpu_spec)
        found = self._shapes.get(key)
        if found is None:
            allowed = allowed_mask(pod.gpu_spec, self.cluster.models) if pod.num_gpu else None
            found = self._shapes[key] = Shape(len(self._shapes), *key, allowed)
        return found

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
        reasons = self.reasons(pod)
        labels = np.array(names, dtype=object)
        never: dict[str, str] = {}
        for code in range(ROOM):
            never.update(dict.fromkeys(labels[codes == code].tolist(), reasons[code]))
        failed = dict.fromkeys(labels[codes == ROOM].tolist(), reasons[ROOM])
        return labels[codes == PASS].tolist(), failed, never

    def filter_codes(self, pod: PodRequest, at: IntArray) -> IntArray:
        """Per node (indices, -1: unknown): ``PASS``, or why ``pod`` does not fit there
        (an index into :meth:`reasons`; ``ROOM`` alone could be resolved by preemption)."""
        with self.lock:
            self.remember(pod)
            codes = np.full(len(at), PASS, dtype=np.int64)
            if not pod.wants_gpu:
                return codes
            known = at >= 0
            codes[~known] = UNKNOWN
            if len(self.cluster) and known.any():
                codes[known] = self._codes(self.shape(pod))[at[known]]
            return codes

    def _codes(self, shape: Shape) -> IntArray:
        """The filter code of every node for ``shape``, kept per shape and brought up to date
        on the nodes changed since (as the placer keeps its scores)."""
        c = self.cluster
        changes = len(c.changes)
        entry = self._fit.get(shape)
        if entry is None or changes - entry[0] > len(c) // 8:
            codes = self._codes_of(shape, np.arange(len(c)))
        else:
            position, codes = entry
            if position != changes:
                dirty = c.changed_since(position)
                codes[dirty] = self._codes_of(shape, dirty)
        self._fit[shape] = (changes, codes)
        return codes

    def _codes_of(self, shape: Shape, rows: IntArray) -> IntArray:
        c = self.cluster
        gpus = c.num_gpu[rows]
        has_gpu = gpus > 0
        model_ok = has_gpu & (shape.allowed[c.model[rows]] if shape.allowed is not None else True)
        enough = model_ok & (gpus >= shape.num_gpu)
        room = enough & ((c.gpu_free[rows] >= shape.gpu_milli).sum(axis=1) >= shape.num_gpu)
        codes = np.full(len(rows), PASS, dtype=np.int64)
        codes[~has_gpu] = NO_GPU
        codes[has_gpu & ~model_ok] = WRONG_MODEL
        codes[model_ok & ~enough] = TOO_FEW
        codes[enough & ~room] = ROOM
        return codes

    @staticmethod
    def reasons(pod: PodRequest) -> list[str]:
        """The reason of each :meth:`filter_codes` code, for this pod."""
        return [
            "schedlab: unknown node (give the service --kubeconfig to learn nodes)",
            "schedlab: node has no GPU",
            f"schedlab: pod wants gpu-card-model {pod.gpu_spec}",
            f"schedlab: pod wants {pod.num_gpu} GPUs, more than the node has",
            f"schedlab: no {pod.num_gpu} GPU(s) with {pod.gpu_milli} gpu-milli free",
        ]

    def lookup(self, names: list[str]) -> IntArray:
        """Node indices of ``names`` (-1: unknown)."""
        found = map(self.index.get, names, itertools.repeat(-1))
        return np.fromiter(found, dtype=np.int64, count=len(names))

    def prioritize(self, pod: PodRequest, names: list[str]) -> tuple[IntArray, IntArray]:
        """:meth:`scores` of ``names``: their node indices and scores."""
        at = self.lookup(names)
        return at, self.scores(pod, at)

    def scores(self, pod: PodRequest, known: IntArray) -> IntArray:
        """Scores 0-10: the node the policy would pick gets 10 alone (its tie order decides
        equal scores), the others their policy score scaled to 0-9; 0 where it does not fit.
        A pod that asks for no GPU gets 0 everywhere (neutral). ``known``: node indices
        (-1: unknown)."""
        with self.lock:
            self.remember(pod)
            if not pod.wants_gpu or not len(known):
                return np.zeros(len(known), dtype=np.int64)
            keys = np.full(len(known), NONE, dtype=np.int64)
            ok = known >= 0
            if ok.any():
                keys[ok] = self.placer.keys(self.shape(pod), known[ok])
            live = keys != NONE
            scores = np.zeros(len(known), dtype=np.int64)
            if live.any():
                n = max(len(self.cluster), 1)
                raw = (keys[live] - self.placer.tie[known[live]]) // n
                low, high = int(raw.min()), int(raw.max())
                scaled = (raw - low) * (MAX_SCORE - 1) // (high - low) if high > low else np.zeros_like(raw)
                scores[live] = scaled
                scores[int(np.argmax(np.where(live, keys, NONE)))] = MAX_SCORE
            return scores

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
            i = self.index.get(node)
            if i is None:
                raise BindError(f"schedlab: unknown node {node}")
            shape = self.shape(pod)
            if not self.cluster.feasible(shape, np.array([i]))[0]:
                raise BindError(f"schedlab: pod {pod.namespace}/{pod.name} no longer fits node {node}")
            gpus = self.placer.choose(shape, i) if pod.wants_gpu else ()
            self.cluster.place(i, shape, gpus)
            self.held[uid] = Held(node, gpus, pod)
            return pod, gpus

    def release(self, uid: str) -> bool:
        """Free what pod ``uid`` holds (it finished, was deleted, or its bind failed)."""
        with self.lock:
            held = self.held.pop(uid, None)
            if held is None:
                return False
            if held.node in self.index:
                self.cluster.release(self.index[held.node], self.shape(held.pod), held.gpus)
            return True

    def learn(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        """A pod already bound (seen through the API, e.g. after a restart): book its GPUs."""
        with self.lock:
            if pod.uid in self.held:
                return
            self.held[pod.uid] = Held(node, gpus, pod)
            i = self.index.get(node)
            if i is None:
                return
            shape = self.shape(pod)
            if any(g >= self.cluster.num_gpu[i] for g in gpus):
                log.warning(
                    "pod %s/%s: gpu-index %s beyond node %s's GPUs", pod.namespace, pod.name, gpus, node
                )
            self.cluster.place(i, shape, [g for g in gpus if g < self.cluster.num_gpu[i]], check=False)

    # ----- gauges ---------------------------------------------------------------------------

    def allocation(self) -> float:
        """Allocated share of the known GPUs (0-1)."""
        with self.lock:
            c = self.cluster
            return c.allocated_gpu_milli / c.gpu_capacity if c.gpu_capacity else 0.0

    def fragmentation_share(self) -> float:
        """FGD's fragmentation of the cluster as a share of its GPU capacity (0-1)."""
        with self.lock:
            c = self.cluster
            if not c.gpu_capacity or not len(c):
                return 0.0
            frag = self.fragmentation.node_frag(c.cpu_left, c.gpu_free, c.model).sum()
            return float(frag) / self.fragmentation.scale / c.gpu_capacity
