"""Compiled fragmentation over the nodes in service: the mirror of
:func:`schedlab.sim.recorder.in_service`."""

from __future__ import annotations

from schedlab.cluster.partition import SHARE_UNITS
from schedlab.jit import step
from schedlab.sim.kernels.state import CAPACITY, SLICED, State


@step
def in_service(st: State) -> tuple[int, int, int, int]:
    """Over the nodes in service: the fragmentation numerators' sum and the free GPU milli,
    then both with each node's GPUs weighted by their compute in ``SHARE_UNITS``. A node's
    free milli is summed only when it is out of service or MIG instances weigh less than a
    GPU (``SLICED``); otherwise the free milli is the cluster's less what is allocated."""
    c, units = st.c, st.m.node_units
    sliced = st.ints[SLICED] != 0
    frag, free, frag_compute, free_compute = 0, st.ints[CAPACITY] - c.allocated[0], 0, 0
    for n in range(len(c.frag)):
        if sliced or not c.up[n]:
            node_free = 0
            for g in range(c.num_gpu[n]):
                node_free += c.gpu_free[n, g]
            if not c.up[n]:
                free -= node_free
                continue
            frag_compute += c.frag[n] * units[n]
            free_compute += node_free * units[n]
        frag += c.frag[n]
    if not sliced:
        frag_compute, free_compute = frag * SHARE_UNITS, free * SHARE_UNITS
    return frag, free, frag_compute, free_compute
