"""Which move a descheduling step makes: the policies, registered by name.

A step frees one node for the task at the head of the queue by moving running tasks (not
gang members) off it, each to wherever the placement policy puts it among the other nodes.
Each node where the head does not fit now offers one candidate set of moves (the rule is in
:mod:`schedlab.sim.defrag`); a policy orders the candidates by a key of three numbers, least
first (ties: the node's place in the tie order, then the lower first task index):
``least-moved`` the fewest GPU milli moved (the consolidation baseline: disturb as little
work as possible; a move's cost is its GPUs' restart time), then the fewest tasks; ``fgd``
the most fragmented node first by FGD's measure (its expected unusable GPU milli for the
workload's task mix), then the fewest GPU milli, then the fewest tasks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from schedlab.errors import ConfigError
from schedlab.registry import Registry


@dataclass(frozen=True)
class DefragSettings:
    """When and how much a replay may move: a descheduling step every ``every_s`` seconds
    (while tasks wait), at most ``moves_per_hour`` moves in any hour, each costing the moved
    task ``cost_s`` seconds on its new GPUs (checkpoint and restart: its work so far is kept);
    a step moves only while FGD's measure counts at least ``above_pct`` % of the free GPU
    capacity unusable (0: always)."""

    policy: str = "none"
    every_s: float = 300.0
    moves_per_hour: int = 12
    cost_s: float = 60.0
    above_pct: float = 0.0
    #: Whether running gangs may move too (whole); else only tasks alone move.
    gangs: bool = False

    def __post_init__(self) -> None:
        if self.policy != "none":
            DEFRAG_POLICIES.get(self.policy)  # unknown names: one clear error
        if not self.every_s > 0:
            raise ConfigError(f"--defrag-every must be above 0 seconds, got {self.every_s:g}")
        if self.moves_per_hour < 1:
            raise ConfigError(f"--defrag-moves must be at least 1 a hour, got {self.moves_per_hour}")
        if not self.cost_s >= 0:
            raise ConfigError(f"--defrag-cost must be 0 seconds or more, got {self.cost_s:g}")
        if not 0 <= self.above_pct <= 100:
            raise ConfigError(f"--defrag-above must be a percentage from 0 to 100, got {self.above_pct:g}")

    @property
    def on(self) -> bool:
        return self.policy != "none"


class DefragPolicy(ABC):
    """Orders candidate moves; ``kind`` names its compiled form (None: reference path only)."""

    name: ClassVar[str]
    kind: ClassVar[int | None] = None

    @abstractmethod
    def key(self, moves: int, moved_milli: int, node_frag: int) -> tuple[float, float, float]:
        """The order key of moving ``moves`` tasks holding ``moved_milli`` GPU milli in all
        off a node whose fragmentation numerator is ``node_frag`` now: least first."""


DEFRAG_POLICIES: Registry[type[DefragPolicy]] = Registry("defragmentation policy")
register = DEFRAG_POLICIES.register


@register
class LeastMoved(DefragPolicy):
    """The fewest GPU milli moved, then the fewest tasks."""

    name = "least-moved"
    kind = 0

    def key(self, moves: int, moved_milli: int, node_frag: int) -> tuple[float, float, float]:
        return float(moved_milli), float(moves), 0.0


@register
class MostFragmented(DefragPolicy):
    """The most fragmented node (FGD's measure), then the fewest GPU milli moved, then the
    fewest tasks."""

    name = "fgd"
    kind = 1

    def key(self, moves: int, moved_milli: int, node_frag: int) -> tuple[float, float, float]:
        return -float(node_frag), float(moved_milli), float(moves)
