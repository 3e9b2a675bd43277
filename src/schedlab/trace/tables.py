"""Column-oriented tables of nodes and tasks, as loaded from a trace.

Both are frozen value types holding one numpy array per column; row ``i`` of every array
describes the same node (task). Nothing here knows about files: see :mod:`schedlab.trace.openb`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from schedlab.arrays import BoolArray as BoolArray
from schedlab.arrays import FloatArray as FloatArray
from schedlab.arrays import IntArray as IntArray
from schedlab.arrays import StrArray as StrArray

#: A CPU request of 0 counts as this many milli-cores (Kubernetes' default request).
DEFAULT_CPU_MILLI = 100
#: Capacity of one GPU in milli-GPU.
GPU_MILLI = 1000


def effective_cpu(cpu_milli: IntArray) -> IntArray:
    """CPU requests as scheduled: a request of 0 counts as :data:`DEFAULT_CPU_MILLI`."""
    return np.where(cpu_milli == 0, DEFAULT_CPU_MILLI, cpu_milli)


@dataclass(frozen=True, eq=False)
class Nodes:
    """Machines of a cluster: name, CPU (milli-cores), memory (MiB), GPU count and model;
    ``mig``: per node, the MIG layout its GPUs are partitioned into as the node list gives it
    ('': none; checked and applied by :mod:`schedlab.cluster.partition`), or None."""

    name: StrArray
    cpu_milli: IntArray
    memory_mib: IntArray
    num_gpu: IntArray
    model: StrArray
    source: str = "<memory>"
    mig: StrArray | None = None

    def __len__(self) -> int:
        return len(self.name)

    @property
    def gpu_capacity_milli(self) -> int:
        """Total GPU capacity of the cluster in milli-GPU."""
        return int(self.num_gpu.sum()) * GPU_MILLI

    @classmethod
    def build(
        cls,
        rows: list[tuple[str, int, int, int, str]],
        source: str = "<memory>",
    ) -> Nodes:
        """Build from ``(name, cpu_milli, memory_mib, num_gpu, model)`` tuples (tests, examples)."""
        name, cpu, mem, gpu, model = zip(*rows, strict=True) if rows else ((),) * 5
        return cls(
            name=np.array(name, dtype=object),
            cpu_milli=np.array(cpu, dtype=np.int64),
            memory_mib=np.array(mem, dtype=np.int64),
            num_gpu=np.array(gpu, dtype=np.int64),
            model=np.array(model, dtype=object),
            source=source,
        )

    def repeat(self, copies: int) -> Nodes:
        """This node list ``copies`` times over, names suffixed ``#i`` (scale experiments)."""
        names = np.array([f"{n}#{i}" for i in range(copies) for n in self.name], dtype=object)
        return Nodes(
            name=names,
            cpu_milli=np.tile(self.cpu_milli, copies),
            memory_mib=np.tile(self.memory_mib, copies),
            num_gpu=np.tile(self.num_gpu, copies),
            model=np.tile(self.model, copies),
            source=f"{self.source} x{copies}",
            mig=None if self.mig is None else np.tile(self.mig, copies),
        )


@dataclass(frozen=True, eq=False)
class Tasks:
    """Tasks (pods): resource requests, optional GPU-type constraint, QoS and timeline.

    ``gpu_spec`` holds the allowed GPU models separated by ``|`` (empty: any model).
    Times are seconds; a missing time is NaN.
    """

    name: StrArray
    cpu_milli: IntArray
    memory_mib: IntArray
    num_gpu: IntArray
    gpu_milli: IntArray
    gpu_spec: StrArray
    qos: StrArray
    pod_phase: StrArray
    creation_time: FloatArray
    deletion_time: FloatArray
    scheduled_time: FloatArray
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.name)

    @property
    def total_gpu_milli(self) -> IntArray:
        """GPU milli each task requests in all (GPU count x per-GPU milli)."""
        return self.num_gpu * self.gpu_milli

    def take(self, index: npt.ArrayLike) -> Tasks:
        """The tasks at ``index`` (in that order, repeats allowed)."""
        idx = np.asarray(index, dtype=np.int64)
        return Tasks(
            name=self.name[idx],
            cpu_milli=self.cpu_milli[idx],
            memory_mib=self.memory_mib[idx],
            num_gpu=self.num_gpu[idx],
            gpu_milli=self.gpu_milli[idx],
            gpu_spec=self.gpu_spec[idx],
            qos=self.qos[idx],
            pod_phase=self.pod_phase[idx],
            creation_time=self.creation_time[idx],
            deletion_time=self.deletion_time[idx],
            scheduled_time=self.scheduled_time[idx],
            source=self.source,
        )

    @classmethod
    def build(
        cls,
        rows: list[tuple[int, int, int, int, str]],
        source: str = "<memory>",
    ) -> Tasks:
        """Build from ``(cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec)`` tuples."""
        n = len(rows)
        cpu, mem, k, milli, spec = zip(*rows, strict=True) if rows else ((),) * 5
        nan = np.full(n, np.nan)
        return cls(
            name=np.array([f"task-{i}" for i in range(n)], dtype=object),
            cpu_milli=effective_cpu(np.array(cpu, dtype=np.int64)),
            memory_mib=np.array(mem, dtype=np.int64),
            num_gpu=np.array(k, dtype=np.int64),
            gpu_milli=np.array(milli, dtype=np.int64),
            gpu_spec=np.array(spec, dtype=object),
            qos=np.full(n, "", dtype=object),
            pod_phase=np.full(n, "", dtype=object),
            creation_time=nan,
            deletion_time=nan.copy(),
            scheduled_time=nan.copy(),
            source=source,
        )
