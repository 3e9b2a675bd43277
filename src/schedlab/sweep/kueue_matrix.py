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
ClusterQueue; NaN per LocalQueue): its settings and
:data:`~schedlab.sweep.kueue_runs.METRICS` (:mod:`schedlab.sweep.kueue_runs` runs them).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from schedlab.errors import ConfigError
from schedlab.kueue.load import load_config
from schedlab.policies import parse_policies
from schedlab.sweep.toml import numbers, read_matrix, seeds, string, strings

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
