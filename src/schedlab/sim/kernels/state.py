"""The state of the compiled replay: what the kernels read and write, as NamedTuples of
arrays (built by :mod:`schedlab.sim.kernels.build`), and where things are in ``ints`` and
``floats``. A feature a run does not use keeps arrays of length one."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from schedlab.arrays import BoolArray, FloatArray, IntArray
from schedlab.cluster.kernels import ClusterArrays, FragArrays, ShapeArraysK
from schedlab.engine.kernels import EventHeap
from schedlab.policies.kernels import PolicyParams
from schedlab.scheduler.kernels import PlacerArrays
from schedlab.sim.kernels.evict import EvictArrays
from schedlab.sim.kernels.rates import RateArrays
from schedlab.sim.kernels.waiting import WaitingArrays

WAITING, RUNNING, DONE, REJECTED = 0, 1, 2, 3
# Integer state: where things are in ``ints``.
NEXT, EVENTS, RUNNING_NOW, ATTEMPTS, SERIES, SAMPLES_DONE, SAMPLE_I, SAMPLE_ON = range(8)
STRICT, ESTIMATE, PREEMPTS, SAMPLES, CAPACITY, RATES, GROUP_MAX = range(8, 15)
GANGS, SPREAD, GUARD, FAIR, ADMIT = range(15, 20)  # which features the run uses
NODE_NEXT, CAP_ROWS, RESTARTS, CAP_UP, QUEUED, GANG_MAX, TRACKED = range(20, 27)
DEFRAG, MOVES, MOVE_ROOM = range(27, 30)  # defragmentation: policy kind + 1 (0: off), moves, budget
RESLICE, RECONFIGS, DRAINS = range(30, 33)  # dynamic MIG: on, GPUs re-partitioned, drain limit
DEFRAG_GANGS, SLICED = 33, 34  # defragmentation moves gangs; some GPUs are MIG instances
INTS = 35
# Float state: where things are in ``floats``.
NOW, DT, SAMPLE_AT, LOST, FAIL_LOST = range(5)
DEFRAG_AT, DEFRAG_EVERY, DEFRAG_COST, DEFRAG_ORIGIN, MOVE_LOST, DEFRAG_ABOVE, FRAG_SCALE = range(5, 12)
RESLICE_AT, READY_AT, RESLICE_EVERY, RECONFIG_S = range(12, 16)  # dynamic MIG: next step, next ready
FLOATS = 16
# Why run_events returned.
FINISHED, GROW, BUDGET = 0, 1, 2
# Arguments as typed constants: numba compiles a function once more for every literal value
# passed to it (``f(x, True)`` and ``f(x, False)`` are two compilations), not for these.
YES, NO = np.bool_(True), np.bool_(False)
EVERY = np.int64(-1)  # no node: every node (backfill), a GPU of its own (safety)
ONE = np.int64(1)
UP, DOWN = np.int64(1), np.int64(-1)  # a task started or stopped; resources released or placed


class Model(NamedTuple):
    """What the loop reads (and the sjf-est estimates it learns)."""

    arrival: FloatArray
    duration: FloatArray
    shape_of: IntArray
    preemptor: BoolArray
    preemptible: BoolArray  # cleared for the tasks the starvation guard spares
    schedulable: BoolArray  # per shape
    speed: FloatArray  # per model x speed class
    speed_class: IntArray  # per shape
    rank: IntArray  # per node: position in the tie order
    key0: FloatArray  # per task: the queue policy's fixed key (two parts)
    key1: FloatArray
    groups: IntArray  # n x 3: sjf-est estimate groups
    est_total: FloatArray
    est_count: IntArray
    leader: IntArray  # per task: its gang's first task (itself when alone)
    gang_size: IntArray  # per task: its gang's size (1 when alone)
    gang_fits: BoolArray  # per task: its gang fits the empty cluster
    node_cpu: IntArray  # per node: CPU, memory when empty
    node_mem: IntArray
    node_units: IntArray  # per node: one GPU's compute in SHARE_UNITS (a MIG instance: its share)


class Outcome(NamedTuple):
    """Per task: what happened to it (as the reference's :class:`TaskOutcome`)."""

    status: IntArray
    start: FloatArray
    end: FloatArray
    node: IntArray
    mask: IntArray
    preemptions: IntArray
    ran: FloatArray
    attempt: IntArray


class Records(NamedTuple):
    """Output buffers: attempts, the series after each event, fragmentation samples."""

    task: IntArray
    node: IntArray
    mask: IntArray
    start: FloatArray
    end: FloatArray
    attempt: IntArray
    time: FloatArray
    allocated: IntArray
    queued: npt.NDArray[np.int32]
    running: npt.NDArray[np.int32]
    sample_time: FloatArray
    sample_frag: IntArray
    sample_free: IntArray
    sample_frag_compute: IntArray  # in SHARE_UNITS
    sample_free_compute: IntArray


class Running(NamedTuple):
    """Running tasks per node (in start order), their end times, and scratch lists."""

    head: IntArray  # N: first running task of the node (-1: none)
    tail: IntArray  # N
    prev: IntArray  # n
    next: IntArray  # n
    end: FloatArray  # n: when the task's run (its gang's) ends, as known at its start
    finished: BoolArray  # n: a gang member whose work is done (with progress rates)
    done: IntArray  # n: per gang leader, its members whose work is done
    nodes: IntArray  # N scratch: distinct nodes, in order
    node_mark: IntArray  # N
    tasks: IntArray  # n scratch: tasks stopped together, in order
    task_mark: IntArray  # n
    order: IntArray  # n scratch: the tasks of a failed node, by index
    gang_node: IntArray  # the largest gang: where its members go
    gang_mask: IntArray
    marks: IntArray  # [node mark, task mark]


class GangRoom(NamedTuple):
    """Per slot (a shape), the tasks of the shape each node holds now and their total
    (:mod:`schedlab.sim.kernels.gangs`)."""

    shape: IntArray  # slots: the shape (-1: none)
    seen: IntArray  # slots: the placer's change count when last brought up to date
    used: IntArray  # slots: when last used
    total: IntArray  # slots
    copies: npt.NDArray[np.int32]  # slots x N
    stamp: IntArray  # N: nodes seen (marked)
    scal: IntArray  # [clock, mark]


class Spread(NamedTuple):
    """Anti-affinity: each capped task's service and cap, and its service's running tasks."""

    service: IntArray  # n: -1 for a task without a cap
    cap: IntArray  # n
    head: IntArray  # per service: a running capped task (-1: none)
    prev: IntArray  # n
    next: IntArray  # n
    tally: IntArray  # N scratch (zeros between uses)


class Exclusions(NamedTuple):
    """The nodes the task being placed may not take (each once), and their saved tree keys."""

    nodes: IntArray  # N
    saved: npt.NDArray[np.int32]  # N
    mark: IntArray  # N
    scal: IntArray  # [count, current mark]


class Outages(NamedTuple):
    """Node events by time, and the GPU capacity in service after each."""

    time: FloatArray
    node: IntArray
    kind: IntArray
    cap_time: FloatArray  # events + 1
    cap_milli: IntArray


class Fair(NamedTuple):
    """``drf``: what each user holds, its weight, and its waiting tasks by (user, shape)
    group (:mod:`schedlab.sim.kernels.groups`)."""

    user: IntArray  # n
    gpu: IntArray  # n: GPU milli the task holds
    cpu: IntArray  # n
    held_gpu: IntArray  # per user
    held_cpu: IntArray
    weight: FloatArray
    total: IntArray  # [cluster GPU milli, CPU milli] (at least 1)
    group: IntArray  # n: the task's (user, shape) group
    slots: IntArray  # n: each group's waiting tasks, a heap by task index, in its slots
    offset: IntArray  # groups + 1
    size: IntArray  # groups
    gpos: IntArray  # n: place in its group's heap
    ghead: IntArray  # per user: a group with waiting tasks (-1: none)
    gprev: IntArray  # groups
    gnext: IntArray  # groups
    hidden: IntArray  # [waiting tasks not in their shape's heap: not first of their group]


class GuardArrays(NamedTuple):
    """The starvation guard (:mod:`schedlab.sim.kernels.guard`)."""

    since: FloatArray  # n: when the task's wait began (infinite: not guarded)
    starving: BoolArray  # n: waits with a starving key
    heap: IntArray  # 2 x n: guarded waiting tasks by (since, task), not yet promoted | promoted
    hpos: IntArray  # n: place in its heap
    which: IntArray  # n: its heap (-1: none)
    size: IntArray  # 2
    ints: IntArray  # see the guard's indices
    floats: FloatArray  # [after, promoted]
    starving_now: IntArray  # the tasks holding reservations: the longest waits
    before: IntArray  # the list at the last update
    held_node: IntArray  # reservations: node, holder, value (earliest start)
    held_task: IntArray
    held_value: FloatArray
    slot_shape: IntArray  # K: per slot, the shape whose earliest starts it keeps (-1: none)
    slot_seen: IntArray  # K: the placer's change count when it was last brought up to date
    slot_used: IntArray  # K: when it was last used
    value: FloatArray  # K x N: earliest start of the shape per node
    tree: npt.NDArray[np.int32]  # K x 2P: per slot, the node of least (value, rank) below
    could: BoolArray  # K x N: the node could host the shape when empty
    pick: IntArray  # scratch: heap positions
    order: IntArray  # n scratch: tasks of a node
    ends: FloatArray  # n scratch
    free: IntArray  # G scratch
    stamp: IntArray  # N: nodes already seen in one update


class Safety(NamedTuple):
    """The admit step of ``slo-aware``: each service's largest safe slowdown, and scratch."""

    limit: FloatArray  # n: infinite for a task that is not a service
    members: IntArray  # scratch: a group (the largest one, plus one)
    free: IntArray  # G scratch: a node's free GPU milli without some victims
    skip: IntArray  # n: victims left out of a dry run (marked)
    mark: IntArray  # [dry-run mark, node mark]
    failed: IntArray  # n: the placer's change count when the task last found no node (-1: no)
    stamp: IntArray  # N: nodes seen (marked)
    seen: IntArray  # N x G x C: 1 + the GPU's group changes when the verdict for a configuration
    ok: BoolArray  # was taken: whether the others stay within their limits,
    own: FloatArray  # and the joining configuration's slowdown


class Defrag(NamedTuple):
    """Defragmentation (:mod:`schedlab.sim.kernels.defrag`)."""

    kept: FloatArray  # n: the work a task kept from runs it was moved off
    ring: FloatArray  # the budget's moves an hour: the times of the latest moves
    room: IntArray  # 2S: how many nodes a shape fits now (when ``seen`` is the search's mark),
    seen: IntArray  # 2S: then how many tasks of it (a gang's room)
    mark: IntArray  # [the current search]
    cand: IntArray  # n: scratch, a node's movable tasks in the set's order
    cur: IntArray  # scratch (moves an hour): a node's candidate set
    pick: IntArray  # scratch (moves an hour): the plan's sets, node after node
    free: IntArray  # scratch (GPUs per node): a node's GPU milli free as the set grows
    stamp: IntArray  # N: nodes where the head fits now (``mark``)
    set_size: IntArray  # N: the units of each node's candidate set (0: none, -1: taken)
    set_moves: IntArray  # N: and the moves they take (a gang's: its size)
    keys: FloatArray  # N x 3: each candidate set's order key
    firsts: IntArray  # N: each candidate set's first task
    nodes: IntArray  # N: the plan's nodes, in order
    sizes: IntArray  # N: the plan's set sizes
    others: IntArray  # scratch (moves an hour): the nodes gangs moved off


SERVING, DRAINING, RECONFIGURING = 0, 1, 2  # a re-partitioned GPU's phase (as the reference's)


class Reslice(NamedTuple):
    """Dynamic MIG (:mod:`schedlab.sim.kernels.reslice`; :class:`~schedlab.cluster.reslicing.Reslicing`)."""

    lo: IntArray  # G x L: each GPU's nodes of each layout, lo to before hi
    hi: IntArray
    current: IntArray  # G: its layout
    target: IntArray  # G: the layout it is being re-partitioned into
    ready_at: FloatArray  # G: when that is done (infinite: not being re-partitioned)
    phase: IntArray  # G: serving, draining or being re-partitioned
    asks: BoolArray  # S: the shape may take a node of some GPU's layouts
    order: IntArray  # S scratch: the waiting shapes that ask, in queue order
    gpu: IntArray  # N: the GPU a node is a layout's part of (-1: none)
    layout: IntArray  # N: which of its layouts
    away: BoolArray  # G: its node failed or drained (node events)
    size: IntArray  # G: the physical GPUs it re-partitions (a unit: a GPU, or a node's GPUs)


class State(NamedTuple):
    c: ClusterArrays
    sh: ShapeArraysK
    f: FragArrays
    p: PolicyParams
    pl: PlacerArrays
    m: Model
    o: Outcome
    w: WaitingArrays
    e: EvictArrays
    h: EventHeap
    r: Records
    q: RateArrays
    x: Exclusions
    run: Running
    gr: GangRoom
    sp: Spread
    ne: Outages
    fa: Fair
    gd: GuardArrays
    sf: Safety
    dg: Defrag
    rz: Reslice
    ints: IntArray
    floats: FloatArray
    rng: IntArray
