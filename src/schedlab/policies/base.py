"""The placement-policy protocol and the registry of policies by name.

A placement decision has three steps, each a method of :class:`PlacementPolicy` (as the
Kubernetes scheduling framework's Score, NormalizeScore and, for devices, a reserve step):

1. :meth:`~PlacementPolicy.score_nodes` scores the nodes that can host a task. A node's
   score may depend only on that node's state, the task shape and the policy's fixed
   context, so the scheduler caches it and rescores a node only when the node changes.
2. :meth:`~PlacementPolicy.normalize` (optional) rescales the scores of all feasible nodes
   of one decision; it may look at all of them at once, or draw random numbers.
3. :meth:`~PlacementPolicy.choose_gpus` picks the GPUs the task takes on the chosen node,
   which decides which tasks share a GPU.

The scheduler (:mod:`schedlab.scheduler`) filters nodes, caches scores, breaks ties by the
experiment's node order (the earliest among the top scores wins), checks the GPU choice and
commits it. A policy sees only a read-only :class:`~schedlab.cluster.ClusterView`.

To add a policy, subclass :class:`PlacementPolicy`, implement ``score_nodes`` (and override
the other steps if needed), and decorate the class with :func:`register`; it is then
available by name everywhere (``schedlab fill --policy NAME``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from schedlab.cluster.fragmentation import Fragmentation
from schedlab.cluster.shapes import Shape
from schedlab.cluster.view import ClusterView, lowest_free_gpus
from schedlab.errors import ConfigError
from schedlab.registry import Registry
from schedlab.trace.tables import BoolArray, IntArray

log = logging.getLogger(__name__)

#: Scores must stay within +/- this bound (the scheduler packs them with the tie order).
SCORE_LIMIT = 2**40


@dataclass(frozen=True, eq=False)
class PolicyContext:
    """What a policy may use besides the cluster: the fragmentation model and its own RNG."""

    fragmentation: Fragmentation
    rng: np.random.Generator


@dataclass(frozen=True, eq=False)
class CompiledPolicy:
    """A policy's compiled form (:mod:`schedlab.policies.kernels`): its score kernel, the
    kernel's parameters, whether its normalise step draws random numbers, and whether it
    admits only nodes that keep every service's SLO (``slo-aware``'s admit step and GPU
    choice, :mod:`schedlab.sim.kernels.safety`)."""

    score: Any
    params: Any
    draws: bool = False
    rng: np.random.Generator | None = None
    admit: bool = False


class PlacementPolicy:
    """Scores feasible nodes for a task shape; the highest (normalised) score wins."""

    name: ClassVar[str]

    def __init__(self, context: PolicyContext) -> None:
        self.context = context

    def score_nodes(self, view: ClusterView, shape: Shape, nodes: IntArray) -> IntArray:
        """Integer scores (higher is better, within +/- :data:`SCORE_LIMIT`) of ``nodes``,
        all feasible for ``shape``. Must not depend on other nodes or on randomness."""
        raise NotImplementedError(f"policy {self.name!r} does not implement score_nodes")

    def normalize(self, view: ClusterView, shape: Shape, nodes: IntArray, scores: IntArray) -> IntArray:
        """Rescale the ``scores`` of all feasible ``nodes`` (ascending) of one decision.

        The default keeps them; a policy that overrides this step is asked at every decision.
        """
        return scores

    def admit(self, view: ClusterView, shape: Shape, nodes: IntArray) -> BoolArray:
        """Which of the feasible ``nodes`` this decision may use (optional, like
        ``normalize`` asked at every decision, so it may depend on the task being placed).

        The default admits all; a policy that overrides this step is asked at every decision,
        and a decision with no node admitted places nothing (the task waits). It must decide
        each node on its own: the placer may ask about the best-scored nodes first, in
        batches, and stop at the first admitted one.
        """
        return np.ones(len(nodes), dtype=bool)

    def choose_gpus(self, view: ClusterView, shape: Shape, node: int) -> IntArray:
        """GPUs ``shape`` takes on ``node`` (feasible): none for a CPU-only task, the
        best-fit GPU for a sharing task, the lowest-indexed free GPUs otherwise."""
        return default_gpus(view, shape, node)

    def compiled(self, view: ClusterView) -> CompiledPolicy | None:
        """This policy as a compiled kernel that gives exactly what the three steps give, or
        None (the default): the pure-Python placer runs it then. Only the class that defines
        this method is compiled; a subclass must define it again."""
        return None


def compiled_form(policy: PlacementPolicy, view: ClusterView) -> CompiledPolicy | None:
    """``policy``'s compiled form if its own class provides one."""
    return policy.compiled(view) if "compiled" in vars(type(policy)) else None


def default_gpus(view: ClusterView, shape: Shape, node: int) -> IntArray:
    """The default GPU step (see :meth:`PlacementPolicy.choose_gpus`)."""
    if shape.is_cpu_only:
        return np.zeros(0, dtype=np.int64)
    free = view.gpu_free[node]
    if shape.is_sharing:
        return best_fit_gpu(free[None, :], shape.gpu_milli)
    return lowest_free_gpus(free, shape.num_gpu)


def best_fit_gpu(free: IntArray, milli: int) -> IntArray:
    """Per row, the GPU with the least free amount that still fits ``milli`` (lowest index on ties)."""
    masked = np.where(free >= milli, free, np.iinfo(np.int64).max)
    result: IntArray = masked.argmin(axis=1)
    return result


def no_gpu(nodes: IntArray) -> IntArray:
    """Round-1 protocol helper: the GPU choice for shapes whose GPUs the scheduler picks."""
    return np.full(len(nodes), -1, dtype=np.int64)


PLACEMENT_POLICIES: Registry[type[PlacementPolicy]] = Registry("placement policy")


def register(cls: type[PlacementPolicy]) -> type[PlacementPolicy]:
    """Class decorator: make a policy available by its ``name``.

    A class written for the round-1 protocol (``score(cluster, shape, nodes)`` returning
    scores and GPU choices) still works, through an adapter, with a deprecation warning.
    """
    if "score" in vars(cls) and "score_nodes" not in vars(cls):
        log.warning(  # a line the user sees (a DeprecationWarning from a plugin is filtered out)
            "placement policy %r uses the round-1 protocol `score(cluster, shape, nodes)` (deprecated);"
            " implement `score_nodes` (and `choose_gpus`) instead",
            cls.name,
        )
    return PLACEMENT_POLICIES.register(cls)


def policy_names() -> list[str]:
    """Names of all registered placement policies, in registration order."""
    return PLACEMENT_POLICIES.names()


def make_policy(name: str, context: PolicyContext) -> PlacementPolicy:
    """Instantiate the policy registered as ``name`` (round-1 classes come adapted)."""
    from schedlab.policies.legacy import adapt

    return adapt(PLACEMENT_POLICIES.get(name)(context))


def parse_policies(text: str) -> list[str]:
    """Parse a comma list of placement-policy names, checking each is registered."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise ConfigError("no placement policy given")
    known = policy_names()
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown placement policy {name!r} (known: {', '.join(known)})")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"policy list {text!r} names {name!r} twice")
    return names
