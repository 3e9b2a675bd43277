"""Replay sweeps: a matrix of replays (traces x policies x loads x seeds x queue, admission,
preemption, victim, speeds and interference settings) in the same resumable store as fill
sweeps.

A TOML file with ``kind = "replay"`` describes one (keys in :data:`KEYS`; every list key
takes one value or several, paths are relative to the file). Each trace is a job CSV or an
openb pod list (told apart by its header; ``default`` = the embedded openb default trace).
A run replays the trace time-scaled to its load (``loads``, x GPU capacity) or by a factor
(``time_scales``), begun warm unless ``warm_start = false``; with ``synth_tasks = N`` each run
instead draws N tasks from the trace's mix at its load with its seed (``schedlab synth``),
so that seeds vary the workload too. ``llm_requests`` (a request trace) serves the LLM replicas
of the traces (rows with ``llm_model``; ``gpu_cards``: ``["G2=A10", ...]`` for GPU models
without a card), and ``llm_slo_attainment`` is stored. A run stores one row: its configuration and the
numbers of :data:`METRICS`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from schedlab.defrag import DEFRAG_POLICIES
from schedlab.errors import ConfigError
from schedlab.eviction.victims import VICTIM_POLICIES
from schedlab.policies import parse_policies
from schedlab.registry import Registry
from schedlab.sim.admission import ADMISSION_POLICIES
from schedlab.sim.preemption import PREEMPTION_POLICIES
from schedlab.sim.queues import QUEUE_POLICIES
from schedlab.sweep.toml import numbers, read_matrix, seeds, string, strings

#: What a replay run reports, per run; summaries give mean, std, n and a 95 % CI of each.
METRICS = (
    "jct_mean",
    "jct_p50",
    "jct_p99",
    "wait_mean",
    "wait_p50",
    "wait_p99",
    "slowdown_mean",
    "slowdown_p50",
    "slowdown_p99",
    "alloc_mean_pct",
    "alloc_peak_pct",
    "preemptions",
    "lost_gpu_s",
    "wait_mean_multi_gpu",
    "compute_alloc_mean_pct",
    "defrag_moves",
    "defrag_lost_gpu_s",
    "slo_attainment",
    "llm_slo_attainment",
    "offered_load",
    "completed",
    "unfinished",
    "rejected",
)
#: Keys of a replay sweep's TOML file; the list keys (plural) form the matrix.
KEYS = (
    "kind",
    "traces",
    "nodes",
    "policies",
    "seeds",
    "loads",
    "time_scales",
    "queues",
    "admissions",
    "preemptions",
    "victims",
    "defrags",
    "sharing_modes",
    "speeds",
    "interference",
    "profiles",
    "services",
    "synth_tasks",
    "warm_start",
    "llm_requests",
    "gpu_cards",
    "defrag_every",
    "defrag_moves",
    "defrag_cost",
)
#: Keys that take one value or a list of them.
LIST_KEYS = frozenset(
    [
        "traces",
        "policies",
        "loads",
        "time_scales",
        "queues",
        "admissions",
        "preemptions",
        "victims",
        "defrags",
        "sharing_modes",
        "speeds",
        "interference",
    ]
)
DEFAULT_TRACE = "default"


@dataclass(frozen=True)
class ReplayMatrix:
    """What a replay sweep runs: the product of every list, on one node list."""

    traces: tuple[str, ...] = (DEFAULT_TRACE,)
    nodes: str = ""
    policies: tuple[str, ...] = ("fgd", "bestfit")
    seeds: tuple[int, ...] = (42,)
    loads: tuple[float, ...] = (0.9,)
    time_scales: tuple[float, ...] = ()
    queues: tuple[str, ...] = ("fifo",)
    admissions: tuple[str, ...] = ("backfill",)
    preemptions: tuple[str, ...] = ("none",)
    victims: tuple[str, ...] = ("least-lost",)
    defrags: tuple[str, ...] = ("none",)
    sharing_modes: tuple[str, ...] = ("time-slicing",)
    speeds: tuple[str, ...] = ("",)
    interference: tuple[str, ...] = ("none",)
    profiles: str = ""
    services: float | None = None
    synth_tasks: int = 0
    warm_start: bool = True
    llm_requests: str = ""
    gpu_cards: tuple[tuple[str, str], ...] = ()
    defrag_every: float = 300.0
    defrag_moves: int = 12
    defrag_cost: float = 60.0

    @classmethod
    def from_toml(cls, path: Path) -> ReplayMatrix:
        return read_matrix(path, KEYS, cls.from_doc)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], base: Path) -> ReplayMatrix:
        if doc.get("kind") != "replay":
            raise ConfigError(f'kind {doc.get("kind")!r}: a replay sweep needs kind = "replay"')
        doc = {k: [v] if k in LIST_KEYS and not isinstance(v, list) else v for k, v in doc.items()}
        values: dict[str, Any] = {}

        def path_of(text: str) -> str:
            return text if text in ("", DEFAULT_TRACE) else str((base / text).resolve())

        for key in ("traces", "speeds"):
            if key in doc:
                values[key] = tuple(path_of(t) for t in strings(doc, key))
        for key in ("nodes", "profiles", "llm_requests"):
            if key in doc:
                values[key] = path_of(string(doc, key))
        if "policies" in doc:
            values["policies"] = tuple(parse_policies(",".join(strings(doc, "policies"))))
        if "seeds" in doc:
            values["seeds"] = seeds(doc)
        for key in ("loads", "time_scales"):
            if key in doc:
                values[key] = numbers(doc, key)
        if "time_scales" in doc and "loads" not in doc:
            values["loads"] = ()
        for key, registry in (
            ("queues", QUEUE_POLICIES),
            ("admissions", ADMISSION_POLICIES),
            ("preemptions", PREEMPTION_POLICIES),
            ("victims", VICTIM_POLICIES),
        ):
            if key in doc:
                values[key] = tuple(strings(doc, key))
                for name in values[key]:
                    _known(registry, key, name)
        if "interference" in doc:
            values["interference"] = tuple(strings(doc, "interference"))
        if "sharing_modes" in doc:
            values["sharing_modes"] = tuple(strings(doc, "sharing_modes"))
            for mode in values["sharing_modes"]:
                _sharing_mode(mode)
        if "defrags" in doc:
            values["defrags"] = tuple(strings(doc, "defrags"))
            for name in values["defrags"]:
                if name != "none":
                    _known(DEFRAG_POLICIES, "defrags", name)
        for key, least in (("defrag_every", "a positive"), ("defrag_cost", "a non-negative")):
            if key in doc:
                value = doc[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                    raise ConfigError(f"key {key!r}: expected {least} number of seconds, got {value!r}")
                if key == "defrag_every" and value == 0:
                    raise ConfigError(f"key {key!r}: expected {least} number of seconds, got {value!r}")
                values[key] = float(value)
        if "defrag_moves" in doc:
            moves = doc["defrag_moves"]
            if isinstance(moves, bool) or not isinstance(moves, int) or moves < 1:
                raise ConfigError(f"key 'defrag_moves': expected a positive integer, got {moves!r}")
            values["defrag_moves"] = moves
        if "services" in doc:
            services = doc["services"]
            if isinstance(services, bool) or not isinstance(services, int | float) or not 0 <= services <= 1:
                raise ConfigError(f"key 'services': expected a fraction in [0, 1], got {services!r}")
            values["services"] = float(services)
        if "synth_tasks" in doc:
            tasks = doc["synth_tasks"]
            if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
                raise ConfigError(f"key 'synth_tasks': expected a positive integer, got {tasks!r}")
            values["synth_tasks"] = tasks
        if "gpu_cards" in doc:
            from schedlab.llm.cards import LlmError, gpu_card_pairs

            try:
                values["gpu_cards"] = gpu_card_pairs(strings(doc, "gpu_cards"), "key 'gpu_cards'")
            except LlmError as err:
                raise ConfigError(str(err)) from None
        if "warm_start" in doc:
            if not isinstance(doc["warm_start"], bool):
                raise ConfigError(f"key 'warm_start': expected true or false, got {doc['warm_start']!r}")
            values["warm_start"] = doc["warm_start"]
        return replace(cls(), **values)

    def validate(self) -> None:
        if self.loads and self.time_scales:
            raise ConfigError("give loads or time_scales, not both")
        if not (self.loads or self.time_scales):
            raise ConfigError("the matrix has no load and no time scale")
        if self.synth_tasks and not self.loads:
            raise ConfigError("synth_tasks draws workloads at a load: give loads, not time_scales")
        for name in self.interference:
            if name != "none":
                from schedlab.interference import INTERFERENCE_MODELS

                _known(INTERFERENCE_MODELS, "interference", name)
        paths = [t for t in self.traces if t != DEFAULT_TRACE]
        paths += [p for p in (self.nodes, *self.speeds, self.llm_requests) if p]
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise ConfigError(f"file(s) not found: {', '.join(missing)}")
        if self.profiles and not Path(self.profiles).is_dir():
            raise ConfigError(f"profile directory not found: {self.profiles}")

    def describe(self) -> dict[str, Any]:
        return {"kind": "replay"} | asdict(self)


def _sharing_mode(mode: str) -> None:
    """Check a ``sharing_modes`` entry: ``time-slicing``, ``mps`` or ``mig:MODEL=LAYOUT``
    (``;`` between models)."""
    from schedlab.cluster.mig import MigError, mig_model, parse_layout, place_layout

    if mode in ("time-slicing", "mps"):
        return
    if not mode.startswith("mig:"):
        raise ConfigError(f"key 'sharing_modes': {mode!r} is not time-slicing, mps or mig:MODEL=LAYOUT")
    for spec in mode.removeprefix("mig:").split(";"):
        model, _, layout = spec.partition("=")
        found = mig_model(model.strip())
        if found is None or not layout:
            raise ConfigError(f"key 'sharing_modes': {spec!r} is not MODEL=LAYOUT of a MIG-capable GPU model")
        try:
            place_layout(found, parse_layout(layout))
        except MigError as err:
            raise ConfigError(f"key 'sharing_modes': {err}") from None


def _known(registry: Registry[Any], key: str, name: str) -> None:
    try:
        registry.get(name)
    except ConfigError as err:
        raise ConfigError(f"key {key!r}: {err}") from None
