"""Everything a replay fixes before its first event, shared by the reference and the
compiled path: the cluster, the policies by name, task shapes, speeds and seeds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schedlab.cluster import ClusterState, Fragmentation, ShapeArrays, ShapeTable, TypicalTasks
from schedlab.cluster.partition import SHARE_UNITS, slice_share
from schedlab.cluster.reslicing import Reslicing
from schedlab.cluster.shapes import intern
from schedlab.cluster.speeds import SpeedTable, class_index
from schedlab.defrag import DEFRAG_POLICIES, DefragPolicy
from schedlab.errors import ConfigError
from schedlab.eviction.victims import VICTIM_POLICIES, VictimPolicy
from schedlab.interference import InterferenceModel, Sharing, load_profiles, make_model
from schedlab.policies import PlacementPolicy, PolicyContext, make_policy
from schedlab.sim.admission import ADMISSION_POLICIES, AdmissionPolicy
from schedlab.sim.config import ReplayConfig
from schedlab.sim.gangs import gangs_that_fit
from schedlab.sim.nodes import NodeEvent, random_failures
from schedlab.sim.preemption import PREEMPTION_POLICIES
from schedlab.sim.queues import QueueContext, QueuePolicy, make_queue_policy
from schedlab.trace.tables import BoolArray, FloatArray, IntArray, Nodes
from schedlab.workload.gangs import gang_layout
from schedlab.workload.timed import TimedWorkload


@dataclass(eq=False)
class ReplayModel:
    """The fixed facts and the policies of one replay (the cluster state starts empty)."""

    workload: TimedWorkload
    config: ReplayConfig
    cluster: ClusterState
    frag: Fragmentation
    node_order: IntArray
    rank: IntArray
    table: ShapeTable
    shapes: ShapeArrays
    speed_by_model: FloatArray  # GPU models x task classes (cpu, sharing, whole)
    speed_class: IntArray  # per shape: its task class
    schedulable: BoolArray  # per shape: fits the empty cluster
    is_ls: BoolArray
    policy: PlacementPolicy
    queue: QueuePolicy
    admission: AdmissionPolicy
    preemptors: BoolArray
    preemptible: BoolArray
    victims: VictimPolicy
    interference: InterferenceModel | None = None  # None: sharing a GPU is free
    sharing: Sharing = field(default_factory=Sharing)
    #: Gangs: per task, its gang's leader (itself when alone), its gang's size, and whether
    #: its gang fits the empty cluster at all.
    leader: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gang_size: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gang_fits: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Node failures, drains, repairs and additions, by time (:mod:`schedlab.sim.nodes`).
    node_events: list[NodeEvent] = field(default_factory=list)
    #: The descheduling policy (None: nothing moves; :mod:`schedlab.sim.defrag`).
    defrag: DefragPolicy | None = None
    #: Per GPU model of the cluster: the compute share of one GPU (a MIG instance's g/7; 1).
    slice_share: FloatArray = field(default_factory=lambda: np.ones(1))
    #: Dynamic MIG: which node is which GPU's layout (None: layouts never change).
    reslicing: Reslicing | None = None
    #: LLM replicas sharing a GPU: per task, its largest safe slowdown (:mod:`schedlab.sim.llm_limits`).
    llm_limits: FloatArray | None = None

    @classmethod
    def build(
        cls,
        workload: TimedWorkload,
        nodes: Nodes,
        config: ReplayConfig,
        speeds: SpeedTable | None = None,
        interference: InterferenceModel | None = None,
        node_events: list[NodeEvent] | None = None,
        reslicing: Reslicing | None = None,
        llm_limits: FloatArray | None = None,
        origin: IntArray | None = None,
    ) -> ReplayModel:
        """``origin``: per node of ``nodes``, the node of the node list it is part of (MIG:
        a partitioned node is several), which ``node_events`` and ``config.mtbf_h`` name."""
        cluster = ClusterState(nodes)
        tie_rng, policy_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(2))
        frag = Fragmentation(TypicalTasks.from_tasks(workload.tasks), cluster.models)
        policy = make_policy(config.policy, PolicyContext(frag, policy_rng))
        node_order = tie_rng.permutation(len(cluster))
        rank = np.empty(len(cluster), dtype=np.int64)
        rank[node_order] = np.arange(len(cluster))
        table = ShapeTable.build(workload.tasks, cluster.models)
        shapes = ShapeArrays.build(table.shapes, len(cluster.models))
        models = np.arange(len(cluster.models), dtype=np.int64)
        speed_by_model = (speeds or SpeedTable()).node_factors(models, cluster.models).reshape(-1, 3)
        # whether each shape fits the empty cluster: one node of each kind tells
        kinds = intern(nodes.cpu_milli, nodes.memory_mib, nodes.num_gpu, cluster.model)[1]
        schedulable = np.array([bool(cluster.feasible(s, kinds).any()) for s in table.shapes], dtype=bool)
        is_ls = workload.is_ls
        context = QueueContext(
            workload.arrival,
            workload.duration,
            table.of_task,
            workload.user,
            is_ls,
            gpu_milli=shapes.total_gpu_milli[table.of_task],
            cpu_milli=shapes.cpu[table.of_task],
            capacity=(cluster.gpu_capacity, cluster.cpu_capacity),
            weights=dict(config.quotas),
        )
        preemption = PREEMPTION_POLICIES.get(config.preemption)(is_ls)
        leader, gang_size = gang_layout(workload)
        uses_model = config.interference != "none" or interference is not None
        if config.reserve_after is not None and (uses_model or workload.is_service.any()):
            raise ConfigError("--reserve-after needs fixed run times: not with interference or services")
        defrag = _defrag(config, uses_model or bool(workload.is_service.any()))
        return cls(
            workload=workload,
            config=config,
            cluster=cluster,
            frag=frag,
            node_order=node_order,
            rank=rank,
            table=table,
            shapes=shapes,
            speed_by_model=speed_by_model,
            speed_class=np.array([class_index(s) for s in table.shapes], dtype=np.int64),
            schedulable=schedulable,
            is_ls=is_ls,
            policy=policy,
            queue=make_queue_policy(config.queue, context),
            admission=ADMISSION_POLICIES.get(config.admission)(),
            preemptors=np.asarray(preemption.preemptors(), dtype=bool),
            preemptible=np.asarray(preemption.preemptible(), dtype=bool),
            victims=VICTIM_POLICIES.get(config.victim)(),
            interference=_interference(workload, config, interference),
            sharing=Sharing(config.sharing, config.mps_pct),
            leader=leader,
            gang_size=gang_size,
            gang_fits=gangs_that_fit(cluster, table.shapes, table.of_task, leader, gang_size),
            node_events=_node_events(workload, len(cluster), config, node_events, origin),
            defrag=defrag,
            slice_share=np.array([slice_share(name) for name in cluster.models] or [1.0]),
            reslicing=reslicing,
            llm_limits=llm_limits,
        )

    def speed(self, shape: int, node: int) -> float:
        """How fast a task of ``shape`` runs on ``node`` (its run time is divided by this)."""
        return float(self.speed_by_model[self.cluster.model[node], self.speed_class[shape]])

    @property
    def shape_of(self) -> IntArray:
        return self.table.of_task

    @property
    def node_units(self) -> IntArray:
        """Per node: one GPU's compute in ``SHARE_UNITS`` (whole: 28; a MIG instance its share)."""
        units: IntArray = np.rint(self.slice_share * SHARE_UNITS).astype(np.int64)[self.cluster.model]
        return units

    @property
    def preempts(self) -> bool:
        """Whether any task may preempt (otherwise nothing about victims is kept)."""
        return bool(self.preemptors.any() and self.preemptible.any())


def _interference(
    workload: TimedWorkload, config: ReplayConfig, model: InterferenceModel | None
) -> InterferenceModel | None:
    """The interference model of a replay (None for ``none`` without services: the exact old
    behaviour), fitted to the embedded profiles unless one is given; every task's profile
    must be known."""
    if config.interference == "none" and not workload.is_service.any():
        return None
    if model is None:  # services without interference: their latency alone still counts
        model = make_model(config.interference, load_profiles())
    if workload.profile is not None:
        for name in pd.unique(workload.profile):
            if not name:
                continue
            try:
                model.profiles.config(str(name))
            except ConfigError as err:  # which file and task, then the profiles' own message
                task = workload.tasks.name[int(np.flatnonzero(workload.profile == name)[0])]
                raise ConfigError(f"{workload.source}: field 'profile' of task '{task}': {err}") from None
    return model


def _defrag(config: ReplayConfig, rates: bool) -> DefragPolicy | None:
    """The descheduling policy of a replay (its settings checked), None for ``none``."""
    settings = config.defrag_settings
    if not settings.on:
        return None
    if rates:
        raise ConfigError("--defrag needs fixed run times: not with interference or services")
    return DEFRAG_POLICIES.get(settings.policy)()


def _node_events(
    workload: TimedWorkload,
    nodes: int,
    config: ReplayConfig,
    given: list[NodeEvent] | None,
    origin: IntArray | None,
) -> list[NodeEvent]:
    """The events given, and random failures when ``config.mtbf_h`` is set (of the node
    list's nodes), by time; with ``origin``, each on every replayed node of its node."""
    events = list(given or [])
    listed = nodes if origin is None else int(origin.max()) + 1 if len(origin) else 0
    if config.mtbf_h is not None and len(workload):
        start, end = float(workload.arrival[0]), float(workload.arrival[-1])
        events += random_failures(listed, start, end, config.mtbf_h, config.mttr_h, config.seed)
    if origin is not None:
        members = np.split(
            np.argsort(origin, kind="stable"), np.cumsum(np.bincount(origin, minlength=listed))[:-1]
        )
        events = [NodeEvent(e.time, int(v), e.kind) for e in events for v in members[e.node]]
    return sorted(events, key=lambda e: e.time)
