"""Giving a workload profiles: which tasks are inference services and which are training
jobs, so that interference models know what shares a GPU.

The rule (seeded): among the GPU-sharing tasks (one GPU, a fraction of it), ``fraction`` x
all tasks become inference services, preferring latency-sensitive ones (QoS LS or
Guaranteed) first; each gets an inference configuration of the profile directory drawn
uniformly, a request rate that keeps one replica alone busy a fraction u ~ U[0.2, 0.6] of
the time (rate = u / solo p50), and an SLO of k x the latency one replica alone meets for
99.9 % of its requests at that rate (k ~ U[1.5, 3]; M/D/1), so a service alone always meets
its SLO. Every other GPU-sharing task becomes a training job with a training configuration
drawn uniformly. Whole-GPU and CPU-only tasks get no profile (they share no GPU).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from schedlab.errors import ConfigError
from schedlab.interference.profiles import Profiles
from schedlab.metrics.md1 import latency_quantile
from schedlab.workload import TimedWorkload

log = logging.getLogger(__name__)


def with_profiles(workload: TimedWorkload, profiles: Profiles, fraction: float, seed: int) -> TimedWorkload:
    """``workload`` with profiles, ``fraction`` of its tasks made inference services (of the
    tasks that share a GPU, LLM replicas aside)."""
    if not 0 <= fraction <= 1:
        raise ConfigError(f"--services must be a fraction in [0, 1], not {fraction}")
    rng = np.random.default_rng([seed, 0x5E4])
    infer = [n for n, c in profiles.configs.items() if c.kind == "infer"]
    train = [n for n, c in profiles.configs.items() if c.kind == "train"]
    if not infer or not train:
        raise ConfigError(f"{profiles.source} needs inference and training configurations")
    t = workload.tasks
    n = len(workload)
    sharing = np.flatnonzero(
        (t.num_gpu == 1) & (t.gpu_milli < 1000) & ~workload.is_llm
    )  # LLM replicas: their own
    wanted = round(fraction * n)
    if wanted > len(sharing):
        log.warning(
            "only %d of %d tasks share a GPU: %d services instead of %d",
            len(sharing),
            n,
            len(sharing),
            wanted,
        )
        wanted = len(sharing)
    ls = workload.is_ls[sharing]
    order = np.concatenate([rng.permutation(sharing[ls]), rng.permutation(sharing[~ls])])
    services = np.sort(order[:wanted])
    profile = np.full(n, "", dtype=object)
    profile[sharing] = np.asarray(train, dtype=object)[rng.integers(0, len(train), len(sharing))]
    rate, slo = np.full(n, np.nan), np.full(n, np.nan)
    picks = rng.integers(0, len(infer), len(services))
    busy, k = rng.uniform(0.2, 0.6, len(services)), rng.uniform(1.5, 3.0, len(services))
    for i, task in enumerate(services.tolist()):
        name = infer[int(picks[i])]
        solo_ms = profiles.configs[name].solo["p50_ms"]
        profile[task] = name
        rate[task] = busy[i] / (solo_ms / 1000.0)
        slo[task] = k[i] * latency_quantile(float(busy[i]), solo_ms, 0.999)
    qos = t.qos.copy()
    qos[services] = "LS"
    return replace(workload, tasks=replace(t, qos=qos), profile=profile, rate_rps=rate, slo_ms=slo)
