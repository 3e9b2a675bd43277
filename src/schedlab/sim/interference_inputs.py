"""What the compiled kernels take from a run with interference: per task the largest
slowdown its SLO allows, and the progress-rate arrays of the group rule
(:mod:`schedlab.sim.kernels.rates`), built from the interference model's pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from schedlab.sim.model import ReplayModel

if TYPE_CHECKING:
    from schedlab.sim.kernels.rates import RateArrays


def safe_limits(model: ReplayModel) -> np.ndarray:
    """Per task: a service's or a sharing LLM replica's largest safe slowdown (infinite for
    another task)."""
    from schedlab.interference.colocation import largest_safe_slowdown

    w, interference = model.workload, model.interference
    assert interference is not None and w.profile is not None
    limits = np.full(len(w), np.inf)
    for t in np.flatnonzero(w.is_service & (w.profile != "")).tolist():
        assert w.rate_rps is not None and w.slo_ms is not None
        solo = interference.profiles.config(str(w.profile[t])).solo["p50_ms"]
        limits[t] = largest_safe_slowdown(float(solo), float(w.rate_rps[t]), float(w.slo_ms[t]))
    if model.llm_limits is not None:
        limits = np.where(np.isfinite(model.llm_limits), model.llm_limits, limits)
    return limits


def rate_inputs(model: ReplayModel) -> RateArrays | None:
    """The progress-rate arrays of an interference run, or None when its model does not
    follow the group rule of the base model (a plugin model with its own ``slowdowns`` runs on the
    reference path)."""
    from schedlab.interference import InterferenceModel
    from schedlab.sim.kernels.rates import rate_arrays
    from schedlab.sim.progress import solo_slowdown

    interference, w = model.interference, model.workload
    assert interference is not None
    if type(interference).slowdowns is not InterferenceModel.slowdowns:
        return None
    n = len(w)
    profile = w.profile if w.profile is not None else np.full(n, "", dtype=object)
    names = sorted({str(p) for p in profile if p})
    index = {name: i for i, name in enumerate(names)}
    config = np.array([index[str(p)] if p else -1 for p in profile], dtype=np.int64)
    sharing = model.sharing
    for name in names:
        interference.profiles.config(name)  # unknown names: the reference's clear error
    pair = np.array(
        [
            [[estimate(a, b, sharing) for b in names] for a in names]
            for estimate in (interference.pair, interference.group_pair)
        ]
    ).reshape(2, len(names), len(names))
    alone = np.array([interference.alone(a, sharing) for a in names], dtype=np.float64)
    milli = model.shapes.gpu_milli[model.shape_of[config >= 0]]
    sharing_milli = milli[(milli > 0) & (milli < 1000)]
    per_gpu = 1000 // int(sharing_milli.min()) if len(sharing_milli) else 1
    group_max = max(min(int((config >= 0).sum()), per_gpu), 1)
    services = int(w.serves_requests.sum())
    solo = np.array([[solo_slowdown(interference, a, share) for share in model.slice_share] for a in names])
    return rate_arrays(
        len(model.cluster),
        model.cluster.width,
        config,
        w.serves_requests,
        pair if names else np.ones((2, 1, 1)),
        alone if names else np.ones(1),
        np.array([interference.group_scale(m, sharing) for m in range(group_max + 2)]),
        interference.quadrature(sharing),
        group_max,
        4 * services + 16,
        solo if names else np.ones((1, max(len(model.slice_share), 1))),
        model.cluster.model,
    )
