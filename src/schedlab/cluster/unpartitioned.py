"""Tasks that ask for MIG instances on GPUs that are not partitioned: replayed by their
compute share when GPUs are shared whole (``schedlab mig compare``'s time-sliced and MPS
runs), and one warning when a replay partitions nothing for them."""

from __future__ import annotations

import logging
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd

from schedlab.cluster.mig import mig_model
from schedlab.trace.openb import mig_profiles
from schedlab.trace.tables import GPU_MILLI, Nodes
from schedlab.workload.timed import TimedWorkload

log = logging.getLogger(__name__)


def shared_asks(workload: TimedWorkload, nodes: Nodes) -> TimedWorkload:
    """``workload`` for GPUs shared whole (time-slicing, MPS): a task asking for ``k``
    instances of a profile asks for their compute share on a GPU of a node-list model that
    has the profile (``k x g/7`` of a GPU, rounded down to the milli so that the instances of
    one GPU fit it whole: one 3g, 428; whole GPUs, rounded up, when over one), so that the
    sharing modes replay the same work."""
    t = workload.tasks
    models = sorted(set(nodes.model[nodes.num_gpu > 0].tolist()))
    spec, milli, count = t.gpu_spec.astype(object).copy(), t.gpu_milli.copy(), t.num_gpu.copy()
    codes, specs = pd.factorize(t.gpu_spec)
    for code, text in enumerate(specs.tolist()):
        asked = mig_profiles(str(text))
        having: dict[str, Fraction] = {}
        for model in models:
            mig = mig_model(model)
            offered = {q.name: q for q in mig.profiles} if mig is not None else {}
            for name in asked:
                if mig is not None and name in offered:
                    share = Fraction(offered[name].compute, mig.compute_slices)
                    having[model] = min(having.get(model, share), share)
        if not having:
            continue  # no model has it: left as asked (no node fits it)
        rows = codes == code
        least = min(having.values())
        total = count[rows] * (least.numerator * GPU_MILLI) // least.denominator
        spec[rows] = "|".join(having)
        count[rows] = np.where(total <= GPU_MILLI, 1, -(-total // GPU_MILLI))
        milli[rows] = np.where(total <= GPU_MILLI, total, GPU_MILLI)
    tasks = replace(t, gpu_spec=spec, gpu_milli=milli, num_gpu=count)
    return replace(workload, tasks=tasks)


def warn_unpartitioned(workload: TimedWorkload) -> None:
    """One warning when tasks ask for MIG instances and no node is partitioned: they fit
    nowhere (a ``mig-<profile>`` constraint names no GPU model)."""
    specs = workload.tasks.gpu_spec
    asking = [text for text in pd.unique(specs).tolist() if mig_profiles(str(text))]
    if asking:  # counted only then: a plain replay pays one pass over the specs
        log.warning(
            "%d task(s) of %s ask for MIG instances (gpu_spec %s) but no node is partitioned: give"
            " --mig MODEL=LAYOUT or a node list with a mig column (they fit no node)",
            int(np.isin(specs, asking).sum()),
            workload.source,
            asking[0],
        )
