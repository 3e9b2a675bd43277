"""The placement-policy protocol and the registry of policies by name.

A policy scores the nodes that can host a task; the scheduler (:mod:`schedlab.scheduler`)
filters nodes, caches scores, breaks ties by the experiment's node order and commits the
placement. A policy never mutates the cluster.

To add a policy, subclass :class:`PlacementPolicy`, implement :meth:`~PlacementPolicy.score`
and decorate the class with :func:`register`; it is then available by name everywhere
(``schedlab fill --policy NAME``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from schedlab.cluster.fragmentation import Fragmentation
from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.registry import Registry
from schedlab.trace.tables import IntArray


@dataclass(frozen=True, eq=False)
class PolicyContext:
    """What a policy may use besides the cluster: the fragmentation model and its own RNG."""

    fragmentation: Fragmentation
    rng: np.random.Generator


class PlacementPolicy(ABC):
    """Scores feasible nodes for a task shape; the highest score wins.

    Subclasses set :attr:`name` and implement :meth:`score`. Set :attr:`node_local` to
    False when a node's score depends on anything but that node's state and the shape
    (or on randomness): the scheduler then scores every feasible node at every step
    instead of caching scores of nodes that did not change. Scores must stay within
    +/- 2**40 (the scheduler packs them with the tie order into one int64).
    """

    name: ClassVar[str]
    node_local: ClassVar[bool] = True
    rescales: ClassVar[bool] = False

    def __init__(self, context: PolicyContext) -> None:
        self.context = context

    @abstractmethod
    def score(self, cluster: ClusterState, shape: Shape, nodes: IntArray) -> tuple[IntArray, IntArray]:
        """Score ``nodes`` (all feasible for ``shape``), read-only on ``cluster``.

        Returns integer scores (higher is better) and, for a sharing shape, the GPU each node
        would give the task (for other shapes that array is ignored; return -1s).
        """

    def normalize(self, scores: IntArray) -> IntArray:
        """Rescale the scores of all feasible nodes at one step (default: unchanged).

        A policy that overrides this sets :attr:`rescales` and implements
        :meth:`order_preserved`.
        """
        return scores

    def order_preserved(self, low: int, high: int) -> bool:
        """Whether :meth:`normalize` keeps distinct scores distinct and in order when the
        feasible nodes' scores span ``low..high``; the scheduler may then pick the best raw
        score directly (a shortcut, not a change of result)."""
        return True


PLACEMENT_POLICIES: Registry[type[PlacementPolicy]] = Registry("placement policy")
#: Class decorator: make a policy available by its :attr:`~PlacementPolicy.name`.
register = PLACEMENT_POLICIES.register


def policy_names() -> list[str]:
    """Names of all registered placement policies, in registration order."""
    return PLACEMENT_POLICIES.names()


def make_policy(name: str, context: PolicyContext) -> PlacementPolicy:
    """Instantiate the policy registered as ``name``."""
    return PLACEMENT_POLICIES.get(name)(context)


def best_fit_gpu(free: IntArray, milli: int) -> IntArray:
    """Per row, the GPU with the least free amount that still fits ``milli`` (lowest index on ties)."""
    masked = np.where(free >= milli, free, np.iinfo(np.int64).max)
    result: IntArray = masked.argmin(axis=1)
    return result


def no_gpu(nodes: IntArray) -> IntArray:
    """The GPU choice for shapes whose GPUs the scheduler picks itself."""
    return np.full(len(nodes), -1, dtype=np.int64)
