"""The fill experiment on the compiled kernels (the same records as the reference loop)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from schedlab import jit
from schedlab.cluster import ClusterState, Fragmentation, Shape, ShapeArrays
from schedlab.cluster.kernels import cluster_arrays, frag_arrays, shape_arrays
from schedlab.fill.kernel import fill_tasks
from schedlab.policies.base import CompiledPolicy
from schedlab.policies.kernels.random_fit import pcg64_words, set_pcg64_state
from schedlab.policies.kernels.table import kernel_id
from schedlab.scheduler.kernels import placer_arrays
from schedlab.trace.tables import IntArray

CHUNK = 1000
_ready: list[float] = []


def ready() -> float:
    """Load the kernels (compiling them the first time on this machine) by filling a
    one-node cluster; the seconds spent compiling now (0 if cached, or loaded earlier in this
    process: only the run that triggered the compilation counts it)."""
    if not _ready:
        from schedlab.cluster import Fragmentation, ShapeTable, TypicalTasks
        from schedlab.policies import PolicyContext, make_policy
        from schedlab.scheduler import Placer
        from schedlab.trace import Nodes, Tasks

        jit.compile_notice("fill_tasks")
        start = time.perf_counter()
        tasks = Tasks.build([(1000, 1000, 1, 500, "")])
        cluster = ClusterState(Nodes.build([("n", 8000, 8000, 1, "T4")]))
        frag = Fragmentation(TypicalTasks.from_tasks(tasks), cluster.models)
        placer = Placer(
            cluster,
            make_policy("bestfit", PolicyContext(frag, np.random.default_rng(0))),
            np.zeros(1, dtype=np.int64),
        )
        form = placer.policy.compiled(placer.view)
        assert form is not None
        table = ShapeTable.build(tasks, cluster.models)
        place_compiled(form, cluster, frag, placer.tie, table.shapes, table.of_task, None)
        compiled = any(fill_tasks.stats.cache_misses.values())  # type: ignore[attr-defined]
        _ready.append(time.perf_counter() - start if compiled else 0.0)
        return _ready[0]
    return 0.0


def place_compiled(
    form: CompiledPolicy,
    cluster: ClusterState,
    frag: Fragmentation,
    tie: IntArray,
    shapes: tuple[Shape, ...],
    shape_of: IntArray,
    progress: Callable[[int, int], None] | None,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Per task its node, GPU mask, the allocated GPU milli and the fragmentation numerator
    after it; ``progress`` is told every 1000 tasks and at the end."""
    f = frag_arrays(frag)
    c = cluster_arrays(cluster, f)
    sh = shape_arrays(ShapeArrays.build(shapes, len(cluster.models)))
    pl = placer_arrays(len(shapes), tie, int(c.kind.max(initial=0)) + 1)
    n = len(shape_of)
    node = np.full(n, -1, dtype=np.int64)
    mask = np.zeros(n, dtype=np.int64)
    allocated = np.zeros(n, dtype=np.int64)
    frag_num = np.zeros(n, dtype=np.int64)
    total = np.array([int(c.frag.sum())], dtype=np.int64)
    order = np.ascontiguousarray(shape_of, dtype=np.int64)
    words = pcg64_words(form)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        fill_tasks(
            kernel_id(form.score),
            form.draws,
            words,
            c,
            sh,
            f,
            form.params,
            pl,
            order,
            node,
            mask,
            allocated,
            frag_num,
            start,
            stop,
            total,
        )
        if progress is not None and stop % CHUNK == 0:
            progress(stop, n)
    if progress is not None:
        progress(n, n)
    if form.rng is not None:
        set_pcg64_state(form.rng, words)
    return node, mask, allocated, frag_num
