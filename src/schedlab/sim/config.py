"""How a replay simulates: its policies by name, the seed and the sampling density."""

from __future__ import annotations

from dataclasses import dataclass

from schedlab.defrag import DefragSettings

#: A replay of fewer tasks runs on the pure-Python path unless the compiled kernels are
#: loaded in the process already: starting numba and loading them (about 0.8 s; minutes
#: when they must be compiled first) costs more than the reference path takes for it.
AUTO_COMPILED_TASKS = 2000


@dataclass(frozen=True)
class ReplayConfig:
    """Placement, queue, admission, preemption and victim policies (registry names), the
    seed of the node tie order (and of random-fit), and fragmentation samples per span.

    ``compiled``: None (the default) runs the compiled kernels, when every policy and
    feature has a compiled form, for a replay of :data:`AUTO_COMPILED_TASKS` tasks or more
    (or once they are loaded in the process) and the pure-Python reference path for a smaller
    one, which starting the kernels would only slow down; True always asks for the kernels,
    False forces the reference path. Both give identical results.
    ``interference`` names the interference model (``none``: sharing a GPU is free), with the
    ``sharing`` mode and the MPS SM share ``mps_pct``; the model itself, fitted to a profile
    directory, is given to :func:`~schedlab.sim.replay`. ``requests_exact`` simulates every
    request of the services instead of the analytic M/D/1 latency.
    """

    policy: str = "fgd"
    queue: str = "fifo"
    admission: str = "backfill"
    preemption: str = "none"
    victim: str = "least-lost"
    seed: int = 42
    samples: int = 200
    compiled: bool | None = None
    interference: str = "none"
    sharing: str = "time-slicing"
    mps_pct: int = 100
    requests_exact: bool = False
    #: Fair-share weights by user (``--quotas``; users not listed weigh 1).
    quotas: tuple[tuple[str, float], ...] = ()
    #: Random node failures: mean time between failures and to repair, in hours (None: none).
    mtbf_h: float | None = None
    mttr_h: float = 4.0
    #: Starvation guard: seconds of waiting after which a task goes first and may hold a
    #: reservation (``docs/replay.md``).
    reserve_after: float | None = None
    #: With the guard: whether a task that starved may still be preempted once it runs.
    evict_starved: bool = False
    #: LLM replicas: the GPU card of each node-list GPU model schedlab has no card for
    #: (``--gpu-card G2=A10``).
    gpu_cards: tuple[tuple[str, str], ...] = ()
    #: LLM replicas: ``round-robin`` routes each service's requests among its running
    #: replicas (``none``: each replica serves its own).
    llm_router: str = "none"
    #: Defragmentation (``docs/sharing.md``): the descheduling policy (``none``: nothing
    #: moves), seconds between its steps, moves allowed in any hour, seconds each costs.
    #: MIG (``docs/sharing.md``): ``MODEL=LAYOUT`` partitions of node-list GPU models, and
    #: whether tasks of one GPU or less ask for the smallest instance that covers them.
    mig: tuple[str, ...] = ()
    mig_fit: bool = False
    #: Dynamic MIG: other layouts an idle GPU of a ``mig`` model may be re-partitioned into
    #: (``MODEL=LAYOUT``), seconds a re-partitioned GPU serves nothing, seconds between steps,
    #: and how many GPUs may be drained at once (0: a quarter of those re-partitioned, at least 1);
    #: what is re-partitioned at once (``gpu``, or ``node``: all the GPUs of a node together,
    #: the units the drain limit counts).
    mig_alt: tuple[str, ...] = ()
    mig_reconfig: float = 60.0
    mig_every: float = 60.0
    mig_drains: int = 0
    mig_scope: str = "gpu"
    defrag: str = "none"
    defrag_every: float = 300.0
    defrag_moves: int = 12
    defrag_cost: float = 60.0
    defrag_above: float = 0.0
    defrag_gangs: bool = False

    @property
    def defrag_settings(self) -> DefragSettings:
        return DefragSettings(
            self.defrag,
            self.defrag_every,
            self.defrag_moves,
            self.defrag_cost,
            self.defrag_above,
            self.defrag_gangs,
        )
