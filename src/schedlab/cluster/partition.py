"""MIG-partitioned nodes in a replay (``schedlab replay --mig MODEL=LAYOUT``).

Every GPU of the nodes of ``MODEL`` is partitioned into ``LAYOUT``'s GPU instances, checked
by :func:`schedlab.cluster.mig.place_layout` (a layout the GPU cannot hold is one error);
a node list's ``mig`` column may give a node, or each of its GPUs, its own layout
(:mod:`schedlab.cluster.node_layouts`). A partitioned node is replayed as one node per
profile of its layouts, ``<node>/<profile>``, whose GPUs are that profile's instances on
all its GPUs, of GPU model
``<MODEL>/<profile>``, with the node's CPU and memory split in proportion to the compute
slices of those instances. An instance is held whole by one task: isolation (no sharing,
so no co-location and no interference); placement policies choose among free instances as
among GPUs, FGD's fragmentation measure counting unusable instances.

A task asks for instances by naming a profile in ``gpu_spec`` (``mig-1g.10gb`` or
``nvidia.com/mig-1g.10gb``, ``num_gpu`` instances, ``gpu_milli`` 1000) and may run on any
node of that profile. Tasks that do not ask for MIG keep to the GPUs that are not
partitioned (the GPU operator's ``mixed`` strategy advertises a partitioned GPU only as
its instances). ``fit`` (``--mig-fit``) makes every task of one GPU or less ask, on each
partitioned model, for the smallest instance whose compute share covers its GPU milli and
whose node holds its CPU and memory (none: it keeps to the whole GPUs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from schedlab.cluster.mig import MigError, MigModel, mig_model, parse_layout, place_layout
from schedlab.cluster.node_layouts import NodeLayouts, node_layouts
from schedlab.trace.openb import mig_profiles
from schedlab.trace.tables import GPU_MILLI, IntArray, Nodes
from schedlab.workload.timed import TimedWorkload

#: The most instances one partitioned node's profile may have (the replay's GPUs per node).
MAX_INSTANCES = 64
#: The GPU constraint of a task left no GPU it may take (no whole GPU is left): rejected.
NO_WHOLE_GPU = "no-whole-gpu-left"


@dataclass(frozen=True)
class Partition:
    """The node list as replayed and, per GPU model of a partitioned node (``<MODEL>/<p>``),
    its profile and the compute share of one instance (of one GPU)."""

    nodes: Nodes
    physical: Nodes
    profile: dict[str, str]
    share: dict[str, float]
    #: Per replayed node, the index of the node of ``physical`` it is part of.
    origin: IntArray

    @property
    def whole_models(self) -> list[str]:
        """The GPU models of the nodes left whole."""
        models = self.nodes.model[self.nodes.num_gpu > 0]
        return [m for m in pd.unique(models).tolist() if m not in self.profile]

    def models_of(self, profile: str) -> list[str]:
        return [m for m, p in self.profile.items() if p == profile]


def parse_layouts(
    specs: Sequence[str], nodes: Nodes, flag: str = "--mig"
) -> dict[str, tuple[MigModel, list[str]]]:
    """``MODEL=LAYOUT`` options (``flag``): per node-list GPU model, its MIG model and instances."""
    models = set(nodes.model[nodes.num_gpu > 0].tolist())
    layouts: dict[str, tuple[MigModel, list[str]]] = {}
    for spec in specs:
        model, sep, layout = spec.partition("=")
        model = model.strip()
        if not sep or not model or not layout.strip():
            example = "A100-80GB=3g.40gb,2g.20gb,2x1g.10gb"
            raise MigError(f"{flag} {spec!r}: expected MODEL=LAYOUT, e.g. {example}")
        if model not in models:
            raise MigError(f"{flag} {spec!r}: no node of {nodes.source} has GPU model {model!r}")
        mig = mig_model(model)
        if mig is None:
            raise MigError(f"{flag} {spec!r}: {model} has no MIG (MIG-capable: A100, H100, H200, A30)")
        if model in layouts:
            raise MigError(f"{flag} {spec!r}: {model} is partitioned twice")
        try:
            names = [p.name for p, _ in place_layout(mig, parse_layout(layout))]
        except MigError as err:
            raise MigError(f"{flag} {spec!r}: {err}") from None
        layouts[model] = (mig, names)
    return layouts


def partition(nodes: Nodes, layouts: dict[str, tuple[MigModel, list[str]]]) -> Partition:
    """``nodes`` with the GPUs of each model in ``layouts`` partitioned, and those of the
    nodes the node list's ``mig`` column names a layout for."""
    return partition_nodes(nodes, node_layouts(nodes, layouts))


def partition_nodes(nodes: Nodes, per_node: NodeLayouts) -> Partition:
    """``nodes`` with each node's GPUs partitioned as ``per_node`` says."""
    rows: list[tuple[str, int, int, int, str]] = []
    origin: list[int] = []
    profile: dict[str, str] = {}
    share: dict[str, float] = {}
    for i, (name, cpu, mem, gpus, model) in enumerate(
        zip(nodes.name, nodes.cpu_milli, nodes.memory_mib, nodes.num_gpu, nodes.model, strict=True)
    ):
        layout = per_node[i]
        if layout is None:
            rows.append((name, int(cpu), int(mem), int(gpus), model))
            origin.append(i)
            continue
        mig, per_gpu = layout
        for p, count, part_cpu, part_mem in split(
            mig, [n for gpu in per_gpu for n in gpu], int(cpu), int(mem)
        ):
            if count > MAX_INSTANCES:
                raise MigError(
                    f"{model}: node {name} would have {count} {p} instances; at most"
                    f" {MAX_INSTANCES} per node and profile"
                )
            virtual = f"{model}/{p}"
            rows.append((f"{name}/{p}", part_cpu, part_mem, count, virtual))
            origin.append(i)
            profile[virtual], share[virtual] = p, mig.share(mig.profile(p))
    return Partition(Nodes.build(rows, nodes.source), nodes, profile, share, np.array(origin, dtype=np.int64))


def split(mig: MigModel, names: list[str], cpu: int, mem: int) -> list[tuple[str, int, int, int]]:
    """Per profile of a layout (in order of first mention): its instances, and its CPU and
    memory of ``cpu`` and ``mem`` in proportion to the compute slices of those instances."""
    counts = Counter(names)
    weight = {p: counts[p] * mig.profile(p).compute for p in counts}
    total = sum(weight.values())
    found, cpu_left, mem_left = [], cpu, mem
    for k, p in enumerate(counts):
        last = k == len(counts) - 1
        part_cpu = cpu_left if last else cpu * weight[p] // total
        part_mem = mem_left if last else mem * weight[p] // total
        cpu_left, mem_left = cpu_left - part_cpu, mem_left - part_mem
        found.append((p, counts[p], part_cpu, part_mem))
    return found


def _smallest(part: Partition, milli: int, cpu: int, mem: int) -> list[str]:
    """Per partitioned model, the instance model of least compute share covering ``milli``
    of which some node holds ``cpu`` and ``mem``."""
    best: dict[str, tuple[float, str]] = {}
    nodes = part.nodes
    for virtual, share in part.share.items():
        physical = virtual.rsplit("/", 1)[0]
        if share * GPU_MILLI < milli or (physical in best and best[physical] < (share, virtual)):
            continue
        of = nodes.model == virtual
        if ((nodes.cpu_milli[of] >= cpu) & (nodes.memory_mib[of] >= mem)).any():
            best[physical] = (share, virtual)
    return [virtual for _, virtual in best.values()]


def mig_tasks(workload: TimedWorkload, part: Partition, fit: bool) -> TimedWorkload:
    """``workload`` with its GPU tasks kept to the whole GPUs, or to instances: those naming
    a profile, and with ``fit`` those of one GPU or less."""
    t = workload.tasks
    whole = "|".join(part.whole_models)
    spec = t.gpu_spec.astype(object).copy()
    milli, count = t.gpu_milli.copy(), t.num_gpu
    codes, specs = pd.factorize(t.gpu_spec)
    for code, text in enumerate(specs.tolist()):
        rows = codes == code
        tokens = [x for x in str(text).split("|") if x]
        asked = mig_profiles(str(text))
        if asked:
            virtual = [m for p in dict.fromkeys(asked) for m in part.models_of(p)]
            if not virtual:
                first, more = str(t.name[int(np.argmax(rows))]), int(rows.sum()) - 1
                raise MigError(
                    f"{workload.source}: gpu_spec {text!r} (id {first!r}"
                    f"{f' and {more} more' if more else ''}): no partitioned GPU has {', '.join(asked)}"
                )
            spec[rows] = "|".join(virtual)
            milli[rows] = GPU_MILLI
            continue
        gpu = rows & (count > 0)
        if fit and not tokens:
            one = gpu & (count == 1)
            for m, cpu, mem in sorted(
                set(
                    zip(
                        milli[one].tolist(),
                        t.cpu_milli[one].tolist(),
                        t.memory_mib[one].tolist(),
                        strict=True,
                    )
                )
            ):
                chosen = _smallest(part, m, cpu, mem)
                pick = one & (milli == m) & (t.cpu_milli == cpu) & (t.memory_mib == mem)
                if chosen:
                    spec[pick], milli[pick] = "|".join(chosen), GPU_MILLI
                    gpu &= ~pick
        spec[gpu] = "|".join(tokens) if tokens else (whole or NO_WHOLE_GPU)
    tasks = replace(t, gpu_spec=spec, gpu_milli=milli)
    return replace(workload, tasks=tasks)


def compute_asked(workload: TimedWorkload, part: Partition) -> TimedWorkload:
    """``workload`` (after :func:`mig_tasks`) with each task on instances asking for their
    compute: its GPU milli times the least compute share among the instance models it may
    take (the offered load of a MIG run, comparable with a run on whole GPUs)."""
    t = workload.tasks
    codes, specs = pd.factorize(t.gpu_spec)
    share = np.ones(max(len(specs), 1))
    for code, text in enumerate(specs.tolist()):
        shares = [part.share[m] for m in str(text).split("|") if m in part.share]
        share[code] = min(shares, default=1.0)
    milli = np.rint(t.gpu_milli * share[codes]).astype(np.int64)
    return replace(workload, tasks=replace(t, gpu_milli=milli))


def compute_alloc_pct(
    part: Partition, attempts: pd.DataFrame, tasks: pd.DataFrame, start: float, until: float
) -> float:
    """The time-averaged share of the physical GPUs' compute that the attempts held from
    ``start`` to ``until``: an instance counts its compute share of a GPU, a whole-GPU
    task its GPU milli."""
    gpus = int(part.physical.num_gpu.sum())
    if until <= start or gpus <= 0 or not len(attempts):
        return 0.0
    task = attempts["task"].to_numpy()
    model = part.nodes.model[attempts["node"].to_numpy()]
    share = np.array([part.share.get(str(m), -1.0) for m in model])
    count = tasks["num_gpu"].to_numpy()[task]
    milli = tasks["gpu_milli"].to_numpy()[task]
    shares = np.where(share >= 0, share * count, milli / GPU_MILLI * count)
    begin = np.clip(attempts["start"].to_numpy(dtype=np.float64), start, until)
    end = np.clip(attempts["end"].to_numpy(dtype=np.float64), start, until)
    held = float(((end - begin) * shares).sum())
    return 100.0 * held / ((until - start) * gpus)


#: A GPU's compute in units that count every MIG instance's share whole (g/7, g/4 on an A30).
SHARE_UNITS = 28


def slice_share(model: str) -> float:
    """The compute share of one GPU of a node-list GPU model: a partitioned node's
    ``<MODEL>/<profile>`` instance has g/7 (g/4 on an A30), any other GPU 1."""
    physical, sep, name = model.rpartition("/")
    mig = mig_model(physical) if sep else None
    if mig is None:
        return 1.0
    try:
        profile = mig.profile(name)
    except MigError:
        return 1.0
    return mig.share(profile)
