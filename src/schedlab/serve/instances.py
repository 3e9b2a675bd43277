"""The book's rows: each known node as one row of whole GPUs and, for each MIG profile it
advertises (``nvidia.com/mig-<profile>`` in its capacity, the GPU operator's ``mixed``
strategy), one row ``<node>/<profile>`` whose GPUs are those instances, of GPU model
``<MODEL>/<profile>``, as a replay's partitioned node (:mod:`schedlab.cluster.partition`).

Whole rows come first, in name order (the tie order of the nodes as before); instance rows
follow. An instance is held whole by one pod: no sharing, so no co-location. A pod asking
for instances of a profile is looked up only on the rows of that profile, a pod asking for
GPUs only on whole rows. Each row keeps its node's CPU and memory (kube-scheduler's own
plugins check those; the extender books GPUs). In FGD's typical task mix, tasks that name
no profile keep to the whole GPUs and those that name one (``mig-1g.10gb``) to its
instances, as in a replay.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from schedlab.cluster.fragmentation import TypicalTasks
from schedlab.cluster.mig import MigError, mig_model
from schedlab.cluster.node_layouts import node_layouts
from schedlab.cluster.partition import NO_WHOLE_GPU
from schedlab.serve.objects import NodeSpec, PodRequest
from schedlab.trace.openb import mig_profiles
from schedlab.trace.tables import IntArray, Nodes

#: The constraint of a typical task naming a profile that no node offers: fits nothing.
NO_INSTANCE = "no-mig-instance"


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows of a node set (see the module's text)."""

    names: list[str]  # the nodes, in name order: row i is node i's whole GPUs
    index: dict[str, int]  # a node's whole row
    nodes: Nodes  # every row, as the cluster state is built from it
    node_of: list[str]  # per row, the name of its node
    by_profile: dict[str, IntArray]  # per profile, per node (in name order) its row (-1: none)
    share: np.ndarray  # per row, the compute share of one of its GPUs (1; g/7 for instances)

    def at(self, pod: PodRequest, nodes: IntArray) -> IntArray:
        """The rows of ``pod`` on ``nodes`` (indices in name order, -1: unknown): the nodes
        themselves, or for a pod asking for MIG instances their rows of its profile (-1: none)."""
        if not pod.mig:
            return nodes
        rows = self.by_profile.get(pod.mig)
        if rows is None:
            return np.full(len(nodes), -1, dtype=np.int64)
        return np.where(nodes >= 0, rows[np.maximum(nodes, 0)], -1)

    def row(self, node: str, pod: PodRequest) -> int:
        """The row where ``pod`` holds its GPUs on ``node`` (-1: unknown, or no such profile)."""
        i = self.index.get(node, -1)
        if i < 0 or not pod.mig:
            return i
        rows = self.by_profile.get(pod.mig)
        return -1 if rows is None else int(rows[i])


def build_rows(specs: dict[str, NodeSpec]) -> Rows:
    """The rows of the nodes ``specs`` (by name)."""
    names = sorted(specs)
    rows = [(n, s.cpu_milli, s.memory_mib, s.num_gpu, s.model) for n in names for s in [specs[n]]]
    node_of, share = list(names), [1.0] * len(names)
    by_profile: dict[str, IntArray] = {}
    for i, name in enumerate(names):
        spec = specs[name]
        for profile, count in spec.mig:
            column = by_profile.setdefault(profile, np.full(len(names), -1, dtype=np.int64))
            column[i] = len(rows)
            model = f"{spec.model}/{profile}"
            rows.append((f"{name}/{profile}", spec.cpu_milli, spec.memory_mib, count, model))
            node_of.append(name)
            share.append(instance_share(spec.model, profile))
    return Rows(
        names,
        {name: i for i, name in enumerate(names)},
        Nodes.build(rows, "kubernetes"),
        node_of,
        by_profile,
        np.array(share),
    )


def instance_share(model: str, profile: str) -> float:
    """The compute share of one GPU that an instance of ``profile`` has (g/7, g/4 on an A30);
    by the profile's name alone (g/7) when ``model`` is not a MIG model schedlab knows."""
    mig = mig_model(model)
    if mig is not None:
        try:
            return mig.share(mig.profile(profile))
        except MigError:
            pass
    compute = profile.split("g.", 1)[0]
    return min(int(compute), 7) / 7 if compute.isdigit() else 1.0


def shape_spec(pod: PodRequest, rows: Rows) -> str:
    """The GPU-model constraint of ``pod``'s shape: for instances, the instance models of
    the GPU models it names (none: any)."""
    if not pod.mig:
        return pod.gpu_spec
    named = [m for m in pod.gpu_spec.split("|") if m]
    return "|".join(f"{m}/{pod.mig}" for m in named) if named else ""


def names_profiles(typical: TypicalTasks) -> bool:
    """Whether some task of a typical mix asks for MIG instances."""
    return any(mig_profiles(spec) for spec in typical.gpu_spec)


def typical_for(typical: TypicalTasks, rows: Rows) -> TypicalTasks:
    """FGD's typical task mix over ``rows``: unchanged without instance rows; else a task
    naming a profile may take its instances, one naming none the whole GPUs."""
    if len(rows.nodes) == len(rows.names):
        return typical
    models, is_whole = rows.nodes.model, np.arange(len(rows.nodes)) < len(rows.names)
    whole = "|".join(dict.fromkeys(m for m in models[is_whole & (rows.nodes.num_gpu > 0)].tolist()))
    instances = [str(m) for m in dict.fromkeys(models[~is_whole].tolist())]
    specs = []
    for spec in typical.gpu_spec:
        asked = mig_profiles(spec)
        if asked:
            chosen = [m for m in instances if m.rsplit("/", 1)[-1] in asked]
            specs.append("|".join(chosen) or NO_INSTANCE)
        else:
            specs.append(spec or whole or NO_WHOLE_GPU)
    return replace(typical, gpu_spec=tuple(specs))


def node_specs(table: Nodes) -> list[NodeSpec]:
    """The nodes of an openb node list; a node its ``mig`` column partitions offers its
    GPUs' instances instead of the GPUs (as the ``mixed`` strategy advertises them)."""
    layouts = node_layouts(table, {})
    specs = []
    for (name, cpu, mem, gpus, model), layout in zip(
        zip(table.name, table.cpu_milli, table.memory_mib, table.num_gpu, table.model, strict=True),
        layouts,
        strict=True,
    ):
        counts = Counter(p for gpu in layout[1] for p in gpu) if layout is not None else Counter()
        whole = 0 if layout is not None else int(gpus)
        mig = tuple(sorted(counts.items()))
        specs.append(NodeSpec(str(name), int(cpu), int(mem), whole, str(model) if gpus else "", mig))
    return specs
