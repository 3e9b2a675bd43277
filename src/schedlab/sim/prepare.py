"""Preparing a workload for a replay, in one order for the replay command and replay
sweeps: its clock (a time scale, or the one that offers a target load), a warm start,
then profiles for interference (``services``)."""

from __future__ import annotations

import logging

from schedlab.errors import ConfigError
from schedlab.interference import Profiles
from schedlab.interference.mix import with_profiles
from schedlab.trace.tables import Nodes
from schedlab.workload.load import gpu_load, scale_for_load, time_scaled
from schedlab.workload.synth import warm_started
from schedlab.workload.timed import TimedWorkload

log = logging.getLogger(__name__)


def prepare(
    workload: TimedWorkload,
    nodes: Nodes,
    *,
    seed: int,
    time_scale: float | None = None,
    target_load: float | None = None,
    warm_start: bool | None = None,
    services: float | None = None,
    profiles: Profiles | None = None,
) -> TimedWorkload:
    """``workload`` with its inter-arrival times scaled by ``time_scale`` (or by the scale
    that offers ``target_load`` x the GPU capacity of ``nodes``), begun warm (``warm_start``;
    None: warm exactly when a target load is given) and, with ``services``, that fraction
    made inference services with ``profiles``. Every draw is seeded by ``seed``."""
    if time_scale is not None and target_load is not None:
        raise ConfigError("give --time-scale or --target-load, not both")
    if target_load is not None:
        time_scale = scale_for_load(workload, nodes, target_load)
        log.info("time scale %.6g: offered GPU load %.3g x capacity", time_scale, target_load)
    if time_scale is not None:
        workload = time_scaled(workload, time_scale)
    if warm_start if warm_start is not None else target_load is not None:
        workload = warm_started(workload, nodes, gpu_load(workload, nodes), seed)
        log.info("warm start: %d tasks running at the start", int(workload.is_warmup.sum()))
    if services is not None:
        if workload.profile is not None:
            raise ConfigError(f"--services: {workload.source} has profiles already")
        if profiles is None:
            raise ConfigError("--services needs a profile directory")
        workload = with_profiles(workload, profiles, services, seed)
    return workload
