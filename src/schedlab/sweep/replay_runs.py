"""Running the replays of a sweep, and summarising them over seeds.

A run's row set is one row: the run's settings (:meth:`ReplaySpec.labels`), its seed, id
and configuration, and the numbers of :data:`~schedlab.sweep.replays.METRICS` from the
replay summary. The summary over seeds (:func:`summarize_replays`) gives each metric's mean,
sample std, n and a 95 % Student-t interval (:mod:`schedlab.metrics.stats`) per setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.cluster.speeds import SpeedTable
from schedlab.errors import ConfigError
from schedlab.formats import read_nodes, read_workload
from schedlab.interference import Profiles, load_profiles, make_model
from schedlab.llm.requests import LlmRequests
from schedlab.metrics.stats import aggregate
from schedlab.sim import ReplayConfig, replay
from schedlab.sim.prepare import prepare
from schedlab.sweep.replay_specs import ReplaySpec
from schedlab.sweep.replays import METRICS
from schedlab.trace import check_gpu_specs
from schedlab.trace.tables import Nodes
from schedlab.workload import TimedWorkload
from schedlab.workload.synth import synthesize

#: The columns a replay summary groups by, in order (the settings of a run but its seed).
GROUP_KEYS = (
    "trace",
    "policy",
    "load",
    "time_scale",
    "queue",
    "admission",
    "preemption",
    "victim",
    "defrag",
    "sharing_mode",
    "speeds",
    "interference",
    "services",
    "synth_tasks",
    "warm_start",
    "nodes",
    "profiles",
)


@dataclass(frozen=True)
class ReplayData:
    """The loaded inputs of a replay sweep: its traces, node list, speed tables and profiles."""

    workloads: dict[str, TimedWorkload]
    nodes: Nodes
    speeds: dict[str, SpeedTable]
    profiles: Profiles | None
    llm: LlmRequests | None = None

    @classmethod
    def load(cls, specs: Iterable[ReplaySpec]) -> ReplayData:
        specs = list(specs)
        if not specs:
            raise ConfigError("no run to load data for")
        nodes = read_nodes(specs[0].nodes)
        workloads = {}
        for trace in dict.fromkeys(s.trace for s in specs):
            workloads[trace] = read_workload(trace)
            check_gpu_specs(workloads[trace].tasks, nodes)
        speeds = {s.speeds: SpeedTable.load(s.speeds) for s in specs if s.speeds}
        wants_profiles = any(s.interference != "none" or s.services is not None for s in specs)
        profiles = load_profiles(specs[0].profiles or None) if wants_profiles else None
        llm = None
        if specs[0].llm_requests:
            from schedlab.llm.requests import load_llm_requests

            llm = load_llm_requests(Path(specs[0].llm_requests))
        return cls(workloads, nodes, speeds, profiles, llm)

    def run(self, spec: ReplaySpec) -> pd.DataFrame:
        return run_replay(spec, self)


def run_replay(spec: ReplaySpec, data: ReplayData) -> pd.DataFrame:
    """Replay one spec; its row: settings, seed, id, configuration, metrics and wall time."""
    workload, synthetic = data.workloads[spec.trace], bool(spec.synth_tasks)
    if synthetic:  # drawn at its load, begun warm or not: no time scale, no second warm start
        assert spec.load is not None, "synth_tasks needs a load (checked by the matrix)"
        workload = synthesize(
            workload, data.nodes, spec.synth_tasks, spec.load, spec.seed, warm=spec.warm_start
        )
    workload = prepare(
        workload,
        data.nodes,
        seed=spec.seed,
        time_scale=None if synthetic else spec.time_scale,
        target_load=None if synthetic else spec.load,
        warm_start=False if synthetic else spec.warm_start,
        services=spec.services,
        profiles=data.profiles,
    )
    config = ReplayConfig(
        policy=spec.policy,
        queue=spec.queue,
        admission=spec.admission,
        preemption=spec.preemption,
        victim=spec.victim,
        seed=spec.seed,
        defrag=spec.defrag,
        sharing="mps" if spec.sharing_mode == "mps" else "time-slicing",
        mig=tuple(spec.sharing_mode.removeprefix("mig:").split(";"))
        if spec.sharing_mode.startswith("mig:")
        else (),
        mig_fit=spec.sharing_mode.startswith("mig:"),
        defrag_every=spec.defrag_every,
        defrag_moves=spec.defrag_moves,
        defrag_cost=spec.defrag_cost,
        interference=spec.interference,
        gpu_cards=tuple(tuple(p) for p in spec.gpu_cards),  # type: ignore[misc]
    )
    model = None
    if spec.interference != "none":
        assert data.profiles is not None, "profiles are loaded for interference models"
        model = make_model(spec.interference, data.profiles)
    speeds = data.speeds.get(spec.speeds) if spec.speeds else None
    summary = replay(workload, data.nodes, config, speeds, interference=model, llm_requests=data.llm).summary
    row = spec.labels() | {"seed": spec.seed}
    row |= {metric: _number(summary.get(metric)) for metric in METRICS}
    row |= {"tasks": summary["tasks"], "warmup_tasks": summary["warmup_tasks"], "wall_s": summary["wall_s"]}
    row |= {"kind": spec.kind, "run_id": spec.run_id, "slot": spec.slot, "version": spec.version}
    row["config"] = json.dumps(spec.describe(), sort_keys=True)
    return pd.DataFrame([row])


def _number(value: object) -> float:
    """A summary value as a float (None, when nothing was measured, as NaN)."""
    return float("nan") if value is None else float(value)  # type: ignore[arg-type]


def summarize_replays(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting (:data:`GROUP_KEYS`): ``runs`` (seeds) and, per metric, mean, std, n and
    the 95 % Student-t interval over seeds (:func:`check_runs` first)."""
    check_runs(runs)
    runs = runs.sort_values([*GROUP_KEYS, "seed"], kind="stable", na_position="first")
    return aggregate(runs, GROUP_KEYS, METRICS)


def check_runs(runs: pd.DataFrame) -> None:
    """Refuse a store with two runs of one slot or runs of different schedlab versions: their
    mean would mean nothing."""
    if runs["version"].nunique() > 1:
        raise ConfigError(
            "the store mixes runs of different schedlab versions; rerun the sweep into it "
            "(finished runs of the current version are kept) or give a new --out"
        )
    if runs.drop_duplicates("run_id")["slot"].duplicated().any():  # a run may store several rows
        raise ConfigError("the store holds two runs of one setting and seed; rerun the sweep")


def varying(summary: pd.DataFrame) -> list[str]:
    """The group keys whose values differ between rows (what a sweep compared)."""
    return [k for k in GROUP_KEYS if summary[k].astype(str).nunique() > 1]


def load_axis(summary: pd.DataFrame) -> str:
    """The x axis of a replay sweep's figures: ``load`` or, without loads, ``time_scale``."""
    return "load" if bool(np.isfinite(summary["load"].astype(float)).any()) else "time_scale"
