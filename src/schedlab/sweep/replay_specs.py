"""The runs of a replay sweep: one :class:`ReplaySpec` per point of a
:class:`~schedlab.sweep.replays.ReplayMatrix`, with everything its result depends on."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from schedlab.files import file_sha256
from schedlab.policies.base import PLACEMENT_POLICIES
from schedlab.provenance import code_digest
from schedlab.sweep.replays import DEFAULT_TRACE, ReplayMatrix
from schedlab.trace import default_nodes_path, default_pods_path
from schedlab.version import __version__


class Identified:
    """A sweep run's id (a digest of its settings and input digests, not of its paths), its
    slot (what it measures: its labels and seed) and its description, for a dataclass with
    ``kind``, ``PATHS``, ``seed`` and :meth:`labels`."""

    kind: str
    PATHS: tuple[str, ...]
    seed: int

    def labels(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def run_id(self) -> str:
        key = {k: v for k, v in self._fields().items() if k not in self.PATHS}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]

    @property
    def slot(self) -> str:
        """What the run measures: its settings, with file names rather than paths."""
        return json.dumps([*self.labels().values(), self.seed])

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id} | self._fields()

    def _fields(self) -> dict[str, Any]:
        return asdict(cast(Any, self))  # the subclass is a dataclass


@dataclass(frozen=True)
class ReplaySpec(Identified):
    """One replay of a sweep, with everything its result depends on (input digests, the
    schedlab version, the policy's source when it is a plugin)."""

    trace: str
    trace_sha256: str
    nodes: str
    nodes_sha256: str
    policy: str
    seed: int
    load: float | None
    time_scale: float | None
    queue: str
    admission: str
    preemption: str
    victim: str
    speeds: str
    speeds_sha256: str
    interference: str
    profiles: str
    profiles_sha256: str
    services: float | None
    synth_tasks: int
    warm_start: bool
    version: str = __version__
    code_sha256: str = ""
    llm_requests: str = ""
    llm_requests_sha256: str = ""
    gpu_cards: tuple[tuple[str, str], ...] = ()
    defrag: str = "none"
    sharing_mode: str = "time-slicing"
    defrag_every: float = 300.0
    defrag_moves: int = 12
    defrag_cost: float = 60.0

    kind = "replay"
    #: Fields that name files: left out of the run id and the slot (their digests count).
    PATHS = ("trace", "nodes", "speeds", "profiles", "llm_requests")

    def labels(self) -> dict[str, Any]:
        """The settings that tell runs apart, but the seed (summaries group by these)."""
        return {
            "trace": trace_label(self.trace),
            "policy": self.policy,
            "load": self.load,
            "time_scale": self.time_scale,
            "queue": self.queue,
            "admission": self.admission,
            "preemption": self.preemption,
            "victim": self.victim,
            "defrag": self.defrag,
            "sharing_mode": self.sharing_mode,
            "speeds": trace_label(self.speeds),
            "interference": self.interference,
            "services": self.services,
            "synth_tasks": self.synth_tasks,
            "warm_start": self.warm_start,
            "nodes": trace_label(self.nodes),
            "profiles": trace_label(self.profiles),
        }

    def inputs(self) -> dict[str, str]:
        pairs = (
            (self.trace, self.trace_sha256),
            (self.nodes, self.nodes_sha256),
            (self.speeds, self.speeds_sha256),
            (self.llm_requests, self.llm_requests_sha256),
        )
        return {path: sha for path, sha in pairs if path}


def trace_label(path: str) -> str:
    """How a trace (or other input) is named in summaries: its file name."""
    return Path(path).name if path else ""


def profile_digest(directory: str) -> str:
    """SHA-256 over a profile directory's two files ("" for the embedded profiles)."""
    if not directory:
        return ""
    root = Path(directory)
    files = [root / name for name in ("configs.csv", "measurements.csv")]
    parts = [file_sha256(path) for path in files if path.is_file()]
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def expand_replays(matrix: ReplayMatrix) -> list[ReplaySpec]:
    """The runs of a replay matrix, in a fixed order (trace, policy, load, settings, seed)."""
    matrix.validate()
    traces = {t: str(default_pods_path()) if t == DEFAULT_TRACE else t for t in matrix.traces}
    nodes = matrix.nodes or str(default_nodes_path())
    digest = {p: file_sha256(Path(p)) for p in (*traces.values(), nodes, *(s for s in matrix.speeds if s))}
    digest[""] = ""
    code = {policy: code_digest(PLACEMENT_POLICIES.get(policy)) for policy in matrix.policies}
    scales: list[tuple[float | None, float | None]] = [(load, None) for load in matrix.loads]
    scales += [(None, scale) for scale in matrix.time_scales]
    rules = list(
        itertools.product(
            matrix.queues,
            matrix.admissions,
            matrix.preemptions,
            matrix.victims,
            matrix.defrags,
            matrix.sharing_modes,
        )
    )
    product = itertools.product(
        traces.values(), matrix.policies, scales, rules, matrix.speeds, matrix.interference, matrix.seeds
    )
    common: dict[str, Any] = {
        "nodes": nodes,
        "nodes_sha256": digest[nodes],
        "profiles": matrix.profiles,
        "profiles_sha256": profile_digest(matrix.profiles),
        "services": matrix.services,
        "synth_tasks": matrix.synth_tasks,
        "warm_start": matrix.warm_start,
        "llm_requests": matrix.llm_requests,
        "llm_requests_sha256": file_sha256(Path(matrix.llm_requests)) if matrix.llm_requests else "",
        "gpu_cards": matrix.gpu_cards,
        "defrag_every": matrix.defrag_every,
        "defrag_moves": matrix.defrag_moves,
        "defrag_cost": matrix.defrag_cost,
    }
    return [
        ReplaySpec(  # rule: queue, admission, preemption, victim, defrag, sharing mode
            trace=trace,
            trace_sha256=digest[trace],
            policy=policy,
            seed=seed,
            load=load,
            time_scale=scale,
            queue=rule[0],
            admission=rule[1],
            preemption=rule[2],
            victim=rule[3],
            defrag=rule[4],
            sharing_mode=rule[5],
            speeds=speeds,
            speeds_sha256=digest[speeds],
            interference=model,
            code_sha256=code[policy],
            **common,
        )
        for trace, policy, (load, scale), rule, speeds, model, seed in product
    ]
