"""Sweeps: a matrix of fill runs (workloads x policies x seeds x tune ratios).

A sweep is resumable: every finished run is written to the results store at once
(:mod:`schedlab.sweep.store`), and a rerun skips the runs already there. Runs execute on a
backend (:mod:`schedlab.sweep.backends`): local processes or a Ray cluster; both give
identical results for the same matrix, since a run depends only on its configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab.errors import ConfigError
from schedlab.files import file_sha256
from schedlab.fill import CURVES, FillConfig, run_fill
from schedlab.options import check_ratios
from schedlab.policies import PAPER_POLICIES, parse_policies
from schedlab.policies.base import PLACEMENT_POLICIES
from schedlab.provenance import code_digest
from schedlab.sweep.toml import list_of, read_toml, seeds, string, strings
from schedlab.trace import Nodes, Tasks, load_nodes, load_tasks
from schedlab.trace.embedded import DEFAULT_NODES, embedded_path
from schedlab.version import __version__

ATC23_WORKLOADS = (
    "default",
    "cpu050",
    "cpu100",
    "cpu200",
    "cpu250",
    "gpushare40",
    "gpushare60",
    "gpushare80",
    "gpushare100",
    "gpuspec10",
    "gpuspec20",
    "gpuspec25",
    "gpuspec33",
    "multigpu20",
    "multigpu30",
    "multigpu40",
    "multigpu50",
)


def pod_file(name: str) -> str:
    """File name of the openb pod list of workload ``name``."""
    return f"openb_pod_list_{name}.csv"


@dataclass(frozen=True)
class SweepMatrix:
    """What a sweep runs: every workload x policy x seed x tune ratio, on one node list."""

    workloads: tuple[str, ...] = ("default",)
    policies: tuple[str, ...] = PAPER_POLICIES
    seeds: tuple[int, ...] = (42,)
    tune_ratios: tuple[float, ...] = (1.3,)
    data_dir: Path = field(default_factory=lambda: embedded_path(""))
    nodes: str = DEFAULT_NODES

    @classmethod
    def preset(cls, name: str, data_dir: Path | None = None) -> SweepMatrix:
        """A named matrix; ``atc23`` is the FGD paper's artifact (17 x 6 x 10 = 1020 runs)."""
        if name != "atc23":
            raise ConfigError(f"unknown preset {name!r} (known: atc23)")
        matrix = cls(workloads=ATC23_WORKLOADS, seeds=tuple(range(42, 52)))
        return matrix if data_dir is None else replace(matrix, data_dir=data_dir)

    @classmethod
    def from_toml(cls, path: Path) -> SweepMatrix:
        """Read a matrix from TOML: keys ``workloads``, ``policies``, ``seeds`` (list or
        ``"42-51"``), ``tune_ratios``, ``data_dir`` (relative to the file), ``nodes``."""
        doc = read_toml(path, {"kind", "workloads", "policies", "seeds", "tune_ratios", "data_dir", "nodes"})
        if doc.get("kind", "fill") != "fill":
            raise ConfigError(f"{path}: kind {doc['kind']!r} is not a fill sweep")
        matrix = cls()
        try:
            if "workloads" in doc:
                matrix = replace(matrix, workloads=tuple(strings(doc, "workloads")))
            if "policies" in doc:
                matrix = replace(matrix, policies=tuple(parse_policies(",".join(strings(doc, "policies")))))
            if "seeds" in doc:
                matrix = replace(matrix, seeds=seeds(doc))
            if "tune_ratios" in doc:
                ratios = tuple(float(r) for r in list_of(doc, "tune_ratios", (int, float)))
                matrix = replace(matrix, tune_ratios=check_ratios(ratios, str(doc["tune_ratios"])))
            if "data_dir" in doc:
                matrix = replace(matrix, data_dir=(path.parent / string(doc, "data_dir")).resolve())
            if "nodes" in doc:
                matrix = replace(matrix, nodes=string(doc, "nodes"))
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
        return matrix

    def validate(self) -> None:
        if not (self.workloads and self.policies and self.seeds and self.tune_ratios):
            raise ConfigError("the sweep matrix is empty (no workload, policy, seed or tune ratio)")
        if any(r <= 0 for r in self.tune_ratios):
            raise ConfigError("tune ratios must be positive")
        paths = [self.data_dir / self.nodes] + [self.data_dir / pod_file(w) for w in self.workloads]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ConfigError(
                f"trace file(s) not found: {', '.join(missing)} "
                "(set --data-dir; `schedlab data fetch openb-2023 --dest DIR` downloads them)"
            )

    def describe(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["data_dir"] = str(self.data_dir)
        return doc


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep, with everything its result depends on: its configuration, the
    digests of its input files, the schedlab version and the digest of the policy's source
    when it is a plugin (changed data or code = a new run)."""

    workload: str
    policy: str
    seed: int
    tune_ratio: float
    pods: str
    pods_sha256: str
    nodes: str
    nodes_sha256: str
    version: str = __version__
    code_sha256: str = ""

    @property
    def run_id(self) -> str:
        """Stable id of the run: a digest of all its fields but the file paths."""
        key = {k: v for k, v in asdict(self).items() if k not in ("pods", "nodes")}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]

    kind = "fill"

    @property
    def slot(self) -> str:
        """What the run measures (workload, policy, seed, tune ratio): a store keeps one
        run per slot, the one of the current inputs and code."""
        return json.dumps([self.workload, self.policy, self.seed, self.tune_ratio])

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id} | asdict(self)

    def inputs(self) -> dict[str, str]:
        return {self.pods: self.pods_sha256, self.nodes: self.nodes_sha256}


def expand(matrix: SweepMatrix) -> list[RunSpec]:
    """The runs of a matrix, in a fixed order (workload, policy, seed, tune ratio)."""
    matrix.validate()
    nodes = matrix.data_dir / matrix.nodes
    nodes_sha = file_sha256(nodes)
    code = {policy: code_digest(PLACEMENT_POLICIES.get(policy)) for policy in matrix.policies}
    specs = []
    for workload in matrix.workloads:
        pods = matrix.data_dir / pod_file(workload)
        pods_sha = file_sha256(pods)
        for policy in matrix.policies:
            for seed in matrix.seeds:
                for ratio in matrix.tune_ratios:
                    spec = RunSpec(workload, policy, seed, ratio, str(pods), pods_sha, str(nodes), nodes_sha)
                    specs.append(replace(spec, code_sha256=code[policy]))
    return specs


@dataclass(frozen=True)
class SweepData:
    """The loaded traces a sweep needs: every workload's tasks, and the node list."""

    tasks: dict[str, Tasks]
    nodes: Nodes

    def run(self, spec: RunSpec) -> pd.DataFrame:
        return run_one(spec, self.tasks[spec.workload], self.nodes)

    @classmethod
    def load(cls, specs: Iterable[RunSpec]) -> SweepData:
        pods: dict[str, str] = {}
        nodes = ""
        for spec in specs:
            pods.setdefault(spec.workload, spec.pods)
            nodes = spec.nodes
        if not pods:
            raise ConfigError("no run to load data for")
        return cls(tasks={w: load_tasks(p) for w, p in pods.items()}, nodes=load_nodes(nodes))


def run_one(spec: RunSpec, tasks: Tasks, nodes: Nodes) -> pd.DataFrame:
    """Run one fill experiment; return its row set: 131 rows (x = 0..130) with the curves,
    the run's counts and its full configuration in columns."""
    result = run_fill(tasks, nodes, FillConfig(spec.policy, spec.seed, spec.tune_ratio))
    n = len(result.curves[CURVES[0]])
    frame = pd.DataFrame({"x": range(n)} | {name: result.curves[name] for name in CURVES})
    config = {"run_id": spec.run_id, "kind": spec.kind, "slot": spec.slot, **asdict(spec)}
    counts = {
        "tasks": result.tasks,
        "placed": result.placed,
        "failed": result.failed,
        "wall_s": result.wall_s,
    }
    for key, value in (config | counts).items():
        frame[key] = value
    return frame
