"""Filter codes: why a node does not take a pod, per node, for the extender's filter verb."""

from __future__ import annotations

import numpy as np

from schedlab.cluster.shapes import Shape
from schedlab.cluster.state import ClusterState
from schedlab.serve.objects import PodRequest
from schedlab.trace.tables import IntArray

#: Filter codes: why a node does not take a pod (PASS: it does). Below ROOM a node can
#: never take the pod; ROOM alone could be resolved by preemption.
PASS, UNKNOWN, NO_GPU, WRONG_MODEL, TOO_FEW, ROOM = -1, 0, 1, 2, 3, 4


def codes_of(c: ClusterState, shape: Shape, rows: IntArray) -> IntArray:
    """The filter code of ``shape`` on each node of ``rows`` (GPUs only: kube-scheduler's
    own plugins check CPU and memory)."""
    gpus = c.num_gpu[rows]
    has_gpu = gpus > 0
    model_ok = has_gpu & (shape.allowed[c.model[rows]] if shape.allowed is not None else True)
    enough = model_ok & (gpus >= shape.num_gpu)
    room = enough & ((c.gpu_free[rows] >= shape.gpu_milli).sum(axis=1) >= shape.num_gpu)
    codes = np.full(len(rows), PASS, dtype=np.int64)
    codes[~has_gpu] = NO_GPU
    codes[has_gpu & ~model_ok] = WRONG_MODEL
    codes[model_ok & ~enough] = TOO_FEW
    codes[enough & ~room] = ROOM
    return codes


def reasons(pod: PodRequest) -> list[str]:
    """The reason of each filter code, for this pod."""
    return [
        "schedlab: unknown node (give the service --kubeconfig to learn nodes)",
        "schedlab: node has no GPU",
        f"schedlab: pod wants gpu-card-model {pod.gpu_spec}",
        f"schedlab: pod wants {pod.num_gpu} GPUs, more than the node has",
        f"schedlab: no {pod.num_gpu} GPU(s) with {pod.gpu_milli} gpu-milli free",
    ]
