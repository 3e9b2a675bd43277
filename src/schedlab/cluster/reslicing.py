"""GPUs whose MIG layout changes at run time (``schedlab replay --mig MODEL=LAYOUT
--mig-alt MODEL=LAYOUT ...``): dynamic re-partitioning.

Every GPU of the nodes of ``MODEL`` starts in the ``--mig`` layout and may be re-partitioned
into any of the ``--mig-alt`` layouts (or back) while it is idle. What is re-partitioned at
once, a *unit*, is one GPU (``--mig-scope gpu``, as dynamic-MIG schedulers do) or all the
GPUs of a node together (``--mig-scope node``, as the GPU operator's mig-manager applies a
node's MIG configuration). Each unit is replayed as one node per layout and profile,
``<node>/<gpu>/<layout>/<profile>`` (``<node>/<layout>/<profile>`` for a node), whose GPUs
are that profile's instances in the layout on the unit's GPUs, of GPU model
``<MODEL>/<profile>`` (as with a static layout: :mod:`schedlab.cluster.partition`); the
node's CPU and memory are split evenly among its GPUs (the last takes the remainder), and a
unit's share among the profiles of each layout in proportion to the compute slices of their
instances. Only the nodes of a unit's current layout are in service; a task asking for
several instances takes them on one unit (several GPUs of a node only with ``node``).

:class:`Reslicing` says which node belongs to which unit and layout; the rule that changes
layouts is the replay's (:mod:`schedlab.sim.reslice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from schedlab.cluster.mig import MigError, MigModel
from schedlab.cluster.node_layouts import cells, node_layouts
from schedlab.cluster.partition import (
    MAX_INSTANCES,
    Partition,
    parse_layouts,
    partition_nodes,
    split,
)
from schedlab.trace.tables import IntArray, Nodes

#: What is re-partitioned at once: one GPU, or all the GPUs of a node.
SCOPES = ("gpu", "node")


@dataclass(frozen=True)
class Reslicing:
    """Per replayed node, the unit (a physical GPU, or a node's GPUs together) it is part of
    (-1: a node whose layout never changes) and its layout's index (0: the initial one); per
    unit and layout, the range of its nodes (``lo`` to before ``hi``; empty where the unit's
    model has fewer layouts); per unit, its physical GPUs (``size``). The code calls a unit
    a GPU."""

    gpu: IntArray
    layout: IntArray
    lo: IntArray
    hi: IntArray
    size: IntArray

    @property
    def gpus(self) -> int:
        return int(self.lo.shape[0])

    def nodes_of(self, gpu: int, layout: int) -> range:
        return range(int(self.lo[gpu, layout]), int(self.hi[gpu, layout]))


def parse_alternatives(
    initial: dict[str, tuple[MigModel, list[str]]], alternatives: Sequence[str], nodes: Nodes
) -> dict[str, tuple[MigModel, list[list[str]]]]:
    """Per GPU model re-partitioned at run time, its MIG model and its ``--mig-alt`` layouts
    (checked as ``--mig`` layouts are); each GPU of the model that starts partitioned (by
    ``initial``, its ``--mig`` layout, or the node list's ``mig`` column) may take them."""
    found: dict[str, tuple[MigModel, list[list[str]]]] = {}
    starts = set(initial) | {str(m) for m, cell in zip(nodes.model, cells(nodes), strict=True) if cell}
    for spec in alternatives:
        ((model, (mig, names)),) = parse_layouts([spec], nodes, "--mig-alt").items()
        if model not in starts:
            raise MigError(
                f"--mig-alt {spec!r}: give {model}'s initial layout with --mig {model}=LAYOUT"
                " (or in the node list's mig column)"
            )
        layouts = found.setdefault(model, (mig, []))[1]
        if sorted(names) in [
            sorted(x) for x in [*layouts, *([initial[model][1]] if model in initial else [])]
        ]:
            raise MigError(f"--mig-alt {spec!r}: {model} has this layout already")
        layouts.append(names)
    return found


def reslice(
    nodes: Nodes,
    layouts: dict[str, tuple[MigModel, list[str]]],
    alternatives: dict[str, tuple[MigModel, list[list[str]]]],
    scope: str = "gpu",
) -> tuple[Partition, Reslicing]:
    """``nodes`` partitioned as ``layouts`` (``--mig``) and their ``mig`` column say; the
    GPUs that start partitioned of each model in ``alternatives`` replayed per unit
    (``scope``: ``gpu`` or ``node``) and layout (its initial one first, then each
    alternative it does not start in), the others partitioned for good
    (:func:`~schedlab.cluster.partition.partition_nodes`); and where each node belongs."""
    if scope not in SCOPES:
        raise MigError(f"--mig-scope {scope!r}: one of {', '.join(SCOPES)}")
    rows = _rows(nodes)
    per_node = node_layouts(nodes, layouts)
    moving = np.array(
        [x is not None and m in alternatives for x, m in zip(per_node, nodes.model, strict=True)]
    )
    fixed = np.flatnonzero(~moving)
    part = partition_nodes(Nodes.build([rows[i] for i in fixed], nodes.source), [per_node[i] for i in fixed])
    out = _rows(part.nodes)
    origin = fixed[part.origin].tolist()
    gpu_of, layout_of = [-1] * len(out), [-1] * len(out)
    ranges: list[list[tuple[int, int]]] = []
    sizes: list[int] = []
    profile, share = dict(part.profile), dict(part.share)
    for i in np.flatnonzero(moving).tolist():
        name, cpu, mem, gpus, model = rows[i]
        layout = per_node[i]
        assert layout is not None
        mig, per_gpu = layout
        for first, (prefix, unit_cpu, unit_mem, size) in zip(
            _initial(per_gpu, scope), _units(name, cpu, mem, gpus, scope), strict=True
        ):
            options = [first] + [
                names * size for names in alternatives[model][1] if sorted(names * size) != sorted(first)
            ]
            spans = []
            for k, names in enumerate(options):
                begin = len(out)
                for p, count, part_cpu, part_mem in split(mig, names, unit_cpu, unit_mem):
                    if count > MAX_INSTANCES:
                        raise MigError(
                            f"--mig-alt {model}: node {name} would have {count} {p} instances;"
                            f" at most {MAX_INSTANCES} per node and profile (--mig-scope gpu has fewer)"
                        )
                    virtual = f"{model}/{p}"
                    out.append((f"{prefix}/{k}/{p}", part_cpu, part_mem, count, virtual))
                    origin.append(i)
                    profile[virtual], share[virtual] = p, mig.share(mig.profile(p))
                    gpu_of.append(len(ranges))
                    layout_of.append(k)
                spans.append((begin, len(out)))
            ranges.append(spans)
            sizes.append(size)
    if not ranges:
        raise MigError("--mig-alt: no node has a GPU to re-partition")
    lo = np.zeros((len(ranges), max(len(spans) for spans in ranges)), dtype=np.int64)
    hi = np.zeros_like(lo)
    for g, spans in enumerate(ranges):
        for k, (a, b) in enumerate(spans):
            lo[g, k], hi[g, k] = a, b
    reslicing = Reslicing(
        np.array(gpu_of, dtype=np.int64),
        np.array(layout_of, dtype=np.int64),
        lo,
        hi,
        np.array(sizes, dtype=np.int64),
    )
    found = Partition(Nodes.build(out, nodes.source), nodes, profile, share, np.array(origin, dtype=np.int64))
    return found, reslicing


def _initial(per_gpu: list[list[str]], scope: str) -> list[list[str]]:
    """Per unit of a node, the instances it starts with (per GPU, or the node's together)."""
    return [[n for gpu in per_gpu for n in gpu]] if scope == "node" else per_gpu


def _units(name: str, cpu: int, mem: int, gpus: int, scope: str) -> list[tuple[str, int, int, int]]:
    """A node's units re-partitioned apart: ``(name prefix, CPU, memory, GPUs)``; per GPU,
    the node's CPU and memory split evenly (the last GPU takes the remainder)."""
    if scope == "node":
        return [(name, cpu, mem, gpus)]
    return [
        (
            f"{name}/{g}",
            cpu - cpu // gpus * (gpus - 1) if g == gpus - 1 else cpu // gpus,
            mem - mem // gpus * (gpus - 1) if g == gpus - 1 else mem // gpus,
            1,
        )
        for g in range(gpus)
    ]


def _rows(nodes: Nodes) -> list[tuple[str, int, int, int, str]]:
    """``nodes`` as ``(name, cpu_milli, memory_mib, num_gpu, model)`` rows."""
    columns = (nodes.name, nodes.cpu_milli, nodes.memory_mib, nodes.num_gpu, nodes.model)
    return [(str(a), int(b), int(c), int(d), str(e)) for a, b, c, d, e in zip(*columns, strict=True)]
