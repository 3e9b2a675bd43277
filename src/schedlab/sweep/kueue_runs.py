"""Kueue sweeps: alternative Kueue configurations x quota scalings x placement x seeds, in the
same resumable store (and on the same backends, local or Ray) as fill and replay sweeps.

A TOML file with ``kind = "kueue"`` describes one (keys in :data:`KEYS`; paths are relative
to the file): ``configs`` the alternatives (each one YAML file, or a list of files applied
together), ``scales`` quota scalings (every quota of every ClusterQueue and Cohort x the
factor, as ``kueue compare --scale``), ``traces`` job CSVs with ``queue`` and ``priority``
columns, ``placements`` (``none``: quota only, Kueue's view; a placement policy: quota plus
placement on ``nodes``, the embedded openb GPU nodes by default) and ``seeds``. With
``synth_tasks = N`` each run draws N jobs of the trace's mix, their queue and priority kept,
arriving at ``load`` x the GPU capacity of ``nodes`` with its seed (``schedlab synth``,
``durations`` as there), so that seeds vary the workload and the summary's intervals are
over workloads; without it a run replays the trace as it is and its seed only orders ties
between nodes under placement. A run stores one row overall (``level`` and ``queue``
``all``), one per ClusterQueue and one per LocalQueue (evictions and lost run time per
ClusterQueue; NaN per LocalQueue): its settings and :data:`METRICS`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
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
from schedlab.policies import parse_policies
from schedlab.sweep.replay_runs import check_runs
from schedlab.sweep.replay_specs import Identified
from schedlab.sweep.toml import numbers, read_matrix, seeds, string, strings
from schedlab.trace import default_nodes_path
from schedlab.trace.tables import Nodes
from schedlab.version import __version__
from schedlab.workload import TimedWorkload, load_jobs

KEYS = (
    "kind",
    "configs",
    "scales",
    "traces",
    "placements",
    "seeds",
    "nodes",
    "synth_tasks",
    "load",
    "durations",
)
#: What a Kueue run reports; summaries give mean, std, n and a 95 % CI of each over seeds.
METRICS: tuple[str, ...] = ("workloads", "admitted", "pending", "wait_mean_s", "wait_p50_s", "wait_p99_s")
METRICS += ("evictions", "lost_s")
#: The settings a summary groups by (those of a run but its seed).
GROUP_KEYS = ("configs", "scale", "trace", "placement", "synth_tasks", "load", "nodes", "level", "queue")


@dataclass(frozen=True)
class KueueMatrix:
    """What a Kueue sweep runs: the product of its alternatives, scalings, traces,
    placements and seeds."""

    configs: tuple[tuple[str, ...], ...]
    traces: tuple[str, ...]
    scales: tuple[float, ...] = (1.0,)
    placements: tuple[str, ...] = ("none",)
    seeds: tuple[int, ...] = (42,)
    nodes: str = ""
    synth_tasks: int = 0
    load: float | None = None
    durations: str = "trace"

    @classmethod
    def from_toml(cls, path: Path) -> KueueMatrix:
        return read_matrix(path, KEYS, cls.from_doc)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], base: Path) -> KueueMatrix:
        if doc.get("kind") != "kueue":
            raise ConfigError(f'kind {doc.get("kind")!r}: a Kueue sweep needs kind = "kueue"')
        for key in ("configs", "traces"):
            if key not in doc:
                raise ConfigError(f"key {key!r} is missing")

        def path_of(text: str) -> str:
            return str((base / text).resolve())

        configs = _listed(doc["configs"])
        if not configs:
            raise ConfigError("key 'configs': expected at least one configuration")
        alternatives = []
        for item in configs:
            files = item if isinstance(item, list) else [item]
            if not files or any(not isinstance(f, str) or not f.strip() for f in files):
                raise ConfigError(f"key 'configs': expected file names or lists of them, got {item!r}")
            alternatives.append(tuple(path_of(f) for f in files))
        listed = {k: _listed(v) for k, v in doc.items() if k in ("traces", "placements")}
        values: dict[str, Any] = {
            "configs": tuple(alternatives),
            "traces": tuple(path_of(t) for t in strings(listed, "traces")),
        }
        if "placements" in listed:
            names = strings(listed, "placements")
            values["placements"] = tuple(n if n == "none" else _policy(n) for n in names)
        if "scales" in doc:
            values["scales"] = numbers({"scales": _listed(doc["scales"])}, "scales")
        if "seeds" in doc:
            values["seeds"] = seeds(doc)
        if "nodes" in doc:
            values["nodes"] = path_of(string(doc, "nodes"))
        if "synth_tasks" in doc:
            tasks = doc["synth_tasks"]
            if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
                raise ConfigError(f"key 'synth_tasks': expected a positive integer, got {tasks!r}")
            values["synth_tasks"] = tasks
        if "load" in doc:
            values["load"] = numbers({"load": [doc["load"]]}, "load")[0]
        if "durations" in doc:
            values["durations"] = string(doc, "durations")
        return replace(cls((), ()), **values)

    def validate(self) -> None:
        labels = [label_of(files) for files in self.configs]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"key 'configs': two alternatives have the same file names ({labels})")
        paths = (*itertools.chain(*self.configs), *self.traces, self.nodes)
        missing = [p for p in paths if p and not Path(p).is_file()]
        if missing:
            raise ConfigError(f"file(s) not found: {', '.join(missing)}")
        if self.synth_tasks and self.load is None:
            raise ConfigError("synth_tasks draws jobs at a load: give load")
        if self.load is not None and not self.synth_tasks:
            raise ConfigError("load is the load synth_tasks draws jobs at: give synth_tasks too")
        for files in self.configs:
            load_config([Path(f) for f in files])  # every alternative is valid before anything runs

    def describe(self) -> dict[str, Any]:
        return {"kind": "kueue"} | asdict(self)


def _policy(name: str) -> str:
    found = parse_policies(name)
    if len(found) != 1:
        raise ConfigError(f"key 'placements': {name!r} is not one placement policy or none")
    return found[0]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def label_of(files: tuple[str, ...]) -> str:
    """How an alternative is named in summaries: its file names, ``+`` between them."""
    return "+".join(Path(f).name for f in files)


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
