"""Quota plus placement: an admitted workload's pods go on the nodes of its flavors.

A ResourceFlavor stands for the nodes whose labels match its ``nodeLabels``. A node list
knows one label per node, its GPU model, so a label whose key names a GPU model
(``...gpu-card-model``, ``nvidia.com/gpu.product``, ``...accelerator``, ``...gpu-model``...:
a key containing ``gpu`` or ``accelerator``) matches the nodes of that model; a flavor
without labels stands for every node; a label of another key cannot be matched and is one
error. A workload whose flavor assignment fits the quota is admitted only when a schedlab
placement policy places all its pods (a gang: all of them or none) on nodes that every
flavor of its assignment stands for; otherwise it waits, with its quota untaken, until a
workload on those flavors ends (Kueue with an admission check that places, as its
topology-aware scheduling does; plain Kueue would admit it and leave its pods pending).
"""

from __future__ import annotations

import numpy as np

from schedlab.cluster import ClusterState, Fragmentation, ShapeTable, TypicalTasks
from schedlab.errors import ConfigError
from schedlab.kueue.objects import KueueConfig
from schedlab.policies import PolicyContext, make_policy
from schedlab.scheduler import Placement, Placer
from schedlab.trace.tables import IntArray, Nodes, Tasks


def _matches(key: str) -> bool:
    """Whether a node label key names the node's GPU model."""
    low = key.lower()
    return "gpu" in low or "accelerator" in low


def flavor_nodes(config: KueueConfig, nodes: Nodes) -> dict[str, np.ndarray]:
    """Per ResourceFlavor, which nodes it stands for (a boolean mask)."""
    models = np.array([str(m).lower() for m in nodes.model], dtype=object)
    found: dict[str, np.ndarray] = {}
    for name, flavor in config.flavors.items():
        mask = np.ones(len(nodes), dtype=bool)
        for key, value in flavor.node_labels:
            if not _matches(key):
                raise ConfigError(
                    f"ResourceFlavor {name}: nodeLabels {key}={value}: a node list knows each node's GPU"
                    " model only (a label key with `gpu` or `accelerator` in it)"
                )
            mask &= models == value.lower()
        if not mask.any():
            raise ConfigError(f"ResourceFlavor {name}: no node of {nodes.source} has the labels it names")
        found[name] = mask
    return found


class Placements:
    """The cluster's nodes and a placement policy; places and frees workloads' pods."""

    def __init__(
        self,
        config: KueueConfig,
        nodes: Nodes,
        tasks: Tasks,
        first_task: IntArray,
        count: IntArray,
        policy: str,
        seed: int,
    ) -> None:
        self.cluster = ClusterState(nodes)
        tie_rng, policy_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        frag = Fragmentation(TypicalTasks.from_tasks(tasks), self.cluster.models)
        self.placer = Placer(
            self.cluster,
            make_policy(policy, PolicyContext(frag, policy_rng)),
            tie_rng.permutation(len(nodes)),
        )
        self.table = ShapeTable.build(tasks, self.cluster.models)
        self.first, self.count = first_task, count
        self.flavors = flavor_nodes(config, nodes)
        self.held: dict[int, list[tuple[int, Placement]]] = {}
        self._outside: dict[tuple[str, ...], np.ndarray] = {}
        self.empty = ClusterState(nodes)  # the nodes as they are when nothing runs

    def _outside_of(self, flavors: tuple[tuple[str, str], ...]) -> np.ndarray:
        """The nodes that some flavor of ``flavors`` ((resource, flavor) pairs) does not stand for."""
        names = tuple(sorted({f for _, f in flavors}))
        outside = self._outside.get(names)
        if outside is None:
            allowed = np.ones(len(self.cluster), dtype=bool)
            for name in names:
                allowed &= self.flavors[name]
            outside = self._outside[names] = np.flatnonzero(~allowed)
        return outside

    def ever(self, i: int, flavors: tuple[tuple[str, str], ...]) -> bool:
        """Whether each of workload ``i``'s pods fits some node of its flavors when empty."""
        allowed = np.ones(len(self.cluster), dtype=bool)
        allowed[self._outside_of(flavors)] = False
        nodes = np.flatnonzero(allowed)
        first = int(self.first[i])
        shapes = (
            self.table.shapes[int(self.table.of_task[t])] for t in range(first, first + int(self.count[i]))
        )
        return all(self.empty.feasible(shape, nodes).any() for shape in shapes)

    def place(self, i: int, flavors: tuple[tuple[str, str], ...]) -> bool:
        """Place workload ``i``'s pods on the nodes of its ``flavors`` ((resource, flavor)
        pairs), all or none; whether it did."""
        outside = self._outside_of(flavors)
        placed: list[tuple[int, Placement]] = []
        first = int(self.first[i])
        for task in range(first, first + int(self.count[i])):
            shape = self.table.shapes[int(self.table.of_task[task])]
            found = self.placer.place(shape, outside)
            if found is None:
                for t, p in placed:
                    self.placer.release(self.table.shapes[int(self.table.of_task[t])], p)
                return False
            placed.append((task, found))
        self.held[i] = placed
        return True

    def release(self, i: int) -> None:
        """Workload ``i`` ended or was evicted: its pods leave their nodes."""
        for task, placement in self.held.pop(i):
            self.placer.release(self.table.shapes[int(self.table.of_task[task])], placement)

    def place_without(self, i: int, flavors: tuple[tuple[str, str], ...], victims: list[int]) -> bool:
        """Whether ``i``'s pods would be placed once ``victims`` have left (a dry run:
        everything is put back as it was)."""
        held = [(v, self.held.pop(v)) for v in victims]
        for _, pods in held:
            for task, placement in pods:
                self.placer.release(self.table.shapes[int(self.table.of_task[task])], placement)
        fits = self.place(i, flavors)
        if fits:
            self.release(i)
        for v, pods in held:
            for task, placement in pods:
                shape = self.table.shapes[int(self.table.of_task[task])]
                self.cluster.place(placement.node, shape, placement.gpus, check=False)
            self.held[v] = pods
        return fits
