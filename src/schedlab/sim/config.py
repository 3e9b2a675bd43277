"""How a replay simulates: its policies by name, the seed and the sampling density."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplayConfig:
    """Placement, queue, admission, preemption and victim policies (registry names), the
    seed of the node tie order (and of random-fit), and fragmentation samples per span.

    ``compiled`` chooses the compiled fast path when every policy has a kernel (the
    default); False forces the pure-Python reference path. Both give identical results.
    """

    policy: str = "fgd"
    queue: str = "fifo"
    admission: str = "backfill"
    preemption: str = "none"
    victim: str = "least-lost"
    seed: int = 42
    samples: int = 200
    compiled: bool = True
