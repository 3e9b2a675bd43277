"""The runs of a Kueue sweep (:mod:`schedlab.sweep.kueue_matrix`): one :class:`KueueSpec` per
point of the matrix, with everything its result depends on; loading the inputs once,
running a spec into its rows, and summarising the stored runs over seeds."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab.errors import ConfigError
from schedlab.files import file_sha256
from schedlab.kueue.admission import replay
from schedlab.kueue.compare import scaled
from schedlab.kueue.load import load_config
from schedlab.kueue.objects import KueueConfig
from schedlab.kueue.report import summary
from schedlab.kueue.workloads import workloads
from schedlab.metrics.stats import aggregate
from schedlab.sweep.kueue_matrix import KueueMatrix, label_of
from schedlab.sweep.replay_runs import check_runs
from schedlab.sweep.replay_specs import Identified
from schedlab.trace import default_nodes_path
from schedlab.trace.tables import Nodes
from schedlab.version import __version__
from schedlab.workload import TimedWorkload, load_jobs

#: What a Kueue run reports; summaries give mean, std, n and a 95 % CI of each over seeds.
METRICS: tuple[str, ...] = ("workloads", "admitted", "pending", "wait_mean_s", "wait_p50_s", "wait_p99_s")
METRICS += ("evictions", "lost_s")
#: The settings a summary groups by (those of a run but its seed).
GROUP_KEYS = ("configs", "scale", "trace", "placement", "synth_tasks", "load", "nodes", "level", "queue")


@dataclass(frozen=True)
class KueueSpec(Identified):
    """One run of a Kueue sweep, with everything its result depends on (input digests, the
    schedlab version)."""

    configs: tuple[str, ...]
    configs_sha256: str
    scale: float
    trace: str
    trace_sha256: str
    placement: str
    seed: int
    nodes: str
    nodes_sha256: str
    synth_tasks: int
    load: float | None
    durations: str
    version: str = __version__

    kind = "kueue"
    #: Fields that name files: left out of the run id (their digests count).
    PATHS = ("configs", "trace", "nodes")

    def labels(self) -> dict[str, Any]:
        return {
            "configs": label_of(self.configs),
            "scale": self.scale,
            "trace": Path(self.trace).name,
            "placement": self.placement,
            "synth_tasks": self.synth_tasks,
            "load": self.load,
            "nodes": Path(self.nodes).name,
        }

    def inputs(self) -> dict[str, str]:
        found = {f: file_sha256(Path(f)) for f in self.configs}
        return found | {self.trace: self.trace_sha256, self.nodes: self.nodes_sha256}


def expand_kueue(matrix: KueueMatrix) -> list[KueueSpec]:
    """The runs of a Kueue matrix, in a fixed order (alternative, scale, trace, placement, seed)."""
    matrix.validate()
    nodes = matrix.nodes or str(default_nodes_path())
    digest = {p: file_sha256(Path(p)) for p in (*itertools.chain(*matrix.configs), *matrix.traces, nodes)}
    product = itertools.product(matrix.configs, matrix.scales, matrix.traces, matrix.placements, matrix.seeds)
    return [
        KueueSpec(
            configs=files,
            configs_sha256=hashlib.sha256("".join(digest[f] for f in files).encode()).hexdigest(),
            scale=scale,
            trace=trace,
            trace_sha256=digest[trace],
            placement=placement,
            seed=seed,
            nodes=nodes,
            nodes_sha256=digest[nodes],
            synth_tasks=matrix.synth_tasks,
            load=matrix.load,
            durations=matrix.durations,
        )
        for files, scale, trace, placement, seed in product
    ]


@dataclass(frozen=True)
class KueueData:
    """The loaded inputs of a Kueue sweep: its configurations, traces and node list."""

    configs: dict[tuple[str, ...], KueueConfig]
    traces: dict[str, TimedWorkload]
    nodes: Nodes

    @classmethod
    def load(cls, specs: Sequence[KueueSpec]) -> KueueData:
        from schedlab.formats import read_nodes

        if not specs:
            raise ConfigError("no run to load data for")
        configs = {s.configs: load_config([Path(f) for f in s.configs]) for s in specs}
        traces = {s.trace: load_jobs(Path(s.trace)) for s in specs}
        return cls(configs, traces, read_nodes(specs[0].nodes))

    def run(self, spec: KueueSpec) -> pd.DataFrame:
        return run_kueue(spec, self)


def run_kueue(spec: KueueSpec, data: KueueData) -> pd.DataFrame:
    """One run's rows (overall, then per ClusterQueue and per LocalQueue: ``level`` and
    ``queue``): settings, seed, id, configuration, metrics and wall time."""
    import time

    from schedlab.workload.synth import synthesize

    began = time.perf_counter()
    config = scaled(data.configs[spec.configs], spec.scale)
    jobs = data.traces[spec.trace]
    if spec.synth_tasks:
        assert spec.load is not None, "synth_tasks needs a load (checked by the matrix)"
        jobs = synthesize(jobs, data.nodes, spec.synth_tasks, spec.load, spec.seed, durations=spec.durations)
    found = workloads(jobs, config)
    placements = None
    if spec.placement != "none":
        from schedlab.kueue.placement import Placements

        placements = Placements(
            config, data.nodes, jobs.tasks, found.first_task, found.tasks, spec.placement, spec.seed
        )
    outcome = replay(config, found.items, placements=placements)
    doc = summary(config, found, outcome)
    overall = _values(doc) | {"evictions": len(outcome.evictions)}
    overall["lost_s"] = sum(q["lost_s"] for q in doc["cluster_queues"].values())
    rows = [("all", "all", overall)]
    for name, q in doc["cluster_queues"].items():
        rows.append(
            (
                "ClusterQueue",
                name,
                _values(q) | {"evictions": sum(q["evicted"].values()), "lost_s": q["lost_s"]},
            )
        )
    rows += [("LocalQueue", name, _values(q)) for name, q in doc["local_queues"].items()]
    settings = spec.labels() | {"seed": spec.seed}
    extra = {"wall_s": round(time.perf_counter() - began, 4), "kind": spec.kind, "run_id": spec.run_id}
    extra |= {
        "slot": spec.slot,
        "version": spec.version,
        "config": json.dumps(spec.describe(), sort_keys=True),
    }
    return pd.DataFrame(
        [
            settings
            | {"level": level, "queue": name}
            | {m: float("nan") if values.get(m) is None else float(values[m]) for m in METRICS}
            | extra
            for level, name, values in rows
        ]
    )


def _values(doc: dict[str, Any]) -> dict[str, Any]:
    """The waits of a summary (overall, or one queue's)."""
    waits = doc["wait_s"]
    counts = {k: doc[k] for k in ("workloads", "admitted", "pending")}
    return counts | {"wait_mean_s": waits["mean"], "wait_p50_s": waits["p50"], "wait_p99_s": waits["p99"]}


def summarize_kueue(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting and queue (:data:`GROUP_KEYS`; overall first, then per ClusterQueue and
    per LocalQueue): ``runs`` (seeds) and, per metric, mean, std, n and the 95 % Student-t
    interval over seeds (:func:`check_runs` first)."""
    check_runs(runs)
    rank = runs["level"].map({"all": 0, "ClusterQueue": 1, "LocalQueue": 2})  # overall first
    keys = [*GROUP_KEYS[:-2], "_rank", "queue", "seed"]
    runs = runs.assign(_rank=rank).sort_values(keys, kind="stable", na_position="first")
    return aggregate(runs.drop(columns="_rank"), GROUP_KEYS, METRICS)
