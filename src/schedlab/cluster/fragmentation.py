"""GPU fragmentation as defined by the FGD paper (ATC'23), measured against typical tasks.

For node n and typical task m, f_n(m) is the free GPU milli of n that m cannot use: all of
it when m is CPU-only, excluded by m's GPU-type constraint, or does not fit (CPU, or fewer
than k GPUs with enough free); otherwise the free milli of the GPUs whose free amount is
below m's per-GPU milli. Node fragmentation F_n = sum_m p_m f_n(m).

Arithmetic is exact: p_m = count_m / total, and we keep the integer numerator
``sum_m count_m f_n(m)``; divide by :attr:`Fragmentation.scale` to get milli-GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from schedlab.cluster.shapes import allowed_mask, intern
from schedlab.trace.tables import BoolArray, IntArray, Tasks


@dataclass(frozen=True, eq=False)
class TypicalTasks:
    """The target workload: the most frequent task keys covering ``coverage`` of all tasks."""

    cpu: IntArray
    gpu_milli: IntArray
    num_gpu: IntArray
    gpu_spec: tuple[str, ...]
    count: IntArray
    covered: float

    def __len__(self) -> int:
        return len(self.cpu)

    @classmethod
    def from_tasks(cls, tasks: Tasks, coverage: float = 0.95) -> TypicalTasks:
        """Key tasks by (CPU, per-GPU milli, GPU count, GPU spec); keep the most frequent.

        Keys are ordered by count, descending, ties by the key descending; keys are kept until
        their cumulative count reaches ``coverage`` of all tasks.
        """
        spec_code, specs = pd.factorize(tasks.gpu_spec)
        ids, first = intern(tasks.cpu_milli, tasks.gpu_milli, tasks.num_gpu, spec_code)
        counts = pd.DataFrame(
            {
                "cpu": tasks.cpu_milli[first],
                "milli": tasks.gpu_milli[first],
                "k": tasks.num_gpu[first],
                "spec": np.asarray(specs, dtype=object)[spec_code[first]],
                "n": np.bincount(ids, minlength=len(first)),
            }
        )
        counts = counts.sort_values(["n", "cpu", "milli", "k", "spec"], ascending=False, kind="stable")
        cum = counts["n"].cumsum().to_numpy()
        keep = int(np.searchsorted(cum, coverage * len(tasks) - 1e-9)) + 1
        kept = counts.iloc[:keep]
        return cls(
            cpu=kept["cpu"].to_numpy(np.int64),
            gpu_milli=kept["milli"].to_numpy(np.int64),
            num_gpu=kept["k"].to_numpy(np.int64),
            gpu_spec=tuple(kept["spec"]),
            count=kept["n"].to_numpy(np.int64),
            covered=float(cum[keep - 1]) / len(tasks),
        )


class Fragmentation:
    """Vectorised node fragmentation for one cluster's GPU models and a typical workload."""

    def __init__(self, typical: TypicalTasks, models: tuple[str, ...]) -> None:
        self.typical = typical
        self.scale = int(typical.count.sum())
        gpu_task = typical.num_gpu > 0
        self._cpu = typical.cpu
        self._k = np.where(gpu_task, typical.num_gpu, 0)
        self._gpu_task = gpu_task
        self._count = typical.count
        # Distinct per-GPU thresholds, so GPU comparisons are done once per threshold.
        self._thresholds, self._tindex = np.unique(
            np.where(gpu_task, typical.gpu_milli, 1), return_inverse=True
        )
        masks = [allowed_mask(spec, models) for spec in typical.gpu_spec]
        allowed: BoolArray = np.ones((len(typical), max(len(models), 1)), dtype=bool)
        for t, mask in enumerate(masks):
            if mask is not None:
                allowed[t, : len(models)] = mask
        self.allowed_by_model = np.ascontiguousarray(allowed.T)  # models x T

    def node_frag(self, cpu_left: IntArray, gpu_free: IntArray, model: IntArray) -> IntArray:
        """Integer fragmentation numerators of nodes in the given states (rows).

        ``cpu_left`` (d,), ``gpu_free`` (d, G) with 0 for absent GPUs, ``model`` (d,) ids.
        """
        total = gpu_free.sum(axis=1)
        ge = gpu_free[:, :, None] >= self._thresholds[None, None, :]
        count = ge.sum(axis=1)
        below = total[:, None] - (gpu_free[:, :, None] * ge).sum(axis=1)
        ti = self._tindex
        fits = (
            self._gpu_task[None, :]
            & (cpu_left[:, None] >= self._cpu[None, :])
            & (count[:, ti] >= self._k[None, :])
            & self.allowed_by_model[model]
        )
        frag = np.where(fits, below[:, ti], total[:, None])
        result: IntArray = frag @ self._count
        return result


class NodeStates(Protocol):
    """What :class:`NodeFragmentation` reads: a :class:`~schedlab.cluster.ClusterState` or its
    read-only :class:`~schedlab.cluster.ClusterView` (``version``: each node's change count)."""

    cpu_left: IntArray
    gpu_free: IntArray
    model: IntArray
    version: IntArray


class NodeFragmentation:
    """Each node's fragmentation numerator as the node is now, recomputed only for nodes
    changed since it was last asked for (the cluster bumps a node's ``version`` at every
    change), so that scoring a new task shape, or sampling, reuses every unchanged node's."""

    def __init__(self, frag: Fragmentation, n: int) -> None:
        self.frag = frag
        self._value: IntArray = np.zeros(n, dtype=np.int64)
        self._seen: IntArray = np.full(n, -1, dtype=np.int64)

    def of(self, states: NodeStates, nodes: IntArray | None = None) -> IntArray:
        """The numerators of ``nodes`` in their order, or of every node (read-only)."""
        if nodes is None:
            stale = np.flatnonzero(self._seen != states.version)
        else:
            stale = nodes[self._seen[nodes] != states.version[nodes]]
        if len(stale):
            self._value[stale] = self.frag.node_frag(
                states.cpu_left[stale], states.gpu_free[stale], states.model[stale]
            )
            self._seen[stale] = states.version[stale]
        if nodes is not None:
            picked: IntArray = self._value[nodes]
            return picked
        every = self._value.view()
        every.flags.writeable = False
        return every
