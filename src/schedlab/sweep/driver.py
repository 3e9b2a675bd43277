"""Running a sweep into a results store: skip what is done, store each run as it finishes.

Three kinds of sweep share the store and the backends: fill sweeps
(:mod:`schedlab.sweep.matrix`), replay sweeps (:mod:`schedlab.sweep.replays`) and Kueue
sweeps (:mod:`schedlab.sweep.kueue_runs`); each kind loads its inputs once, runs a spec,
and summarises its stored runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schedlab.errors import ConfigError
from schedlab.files import write_json
from schedlab.sweep.backends import Backend
from schedlab.sweep.kueue_runs import KueueData, KueueSpec, summarize_kueue
from schedlab.sweep.matrix import RunSpec, SweepData
from schedlab.sweep.replay_runs import ReplayData, summarize_replays
from schedlab.sweep.replay_specs import ReplaySpec
from schedlab.sweep.store import ResultStore, summarize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOutcome:
    total: int
    skipped: int
    ran: int
    summary: Path


Spec = RunSpec | ReplaySpec | KueueSpec
#: Per kind of sweep: how to load its inputs, and how to summarise its runs.
KINDS: dict[str, tuple[Callable[[Sequence[Any]], Any], Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "fill": (SweepData.load, summarize),
    "replay": (ReplayData.load, summarize_replays),
    "kueue": (KueueData.load, summarize_kueue),
}


def summarize_store(store: ResultStore) -> pd.DataFrame:
    """The summary over seeds of every run in ``store`` (of one kind)."""
    kinds = store.kinds()
    if len(kinds) > 1:
        raise ConfigError(
            f"the store {store.root} mixes {' and '.join(sorted(kinds))} runs; give a new --out"
        )
    return KINDS[kinds.pop()][1](store.load())


def run_sweep(
    specs: Sequence[Spec],
    store: ResultStore,
    backend: Backend,
    config: Mapping[str, object],
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[pd.DataFrame], None] | None = None,
) -> SweepOutcome:
    """Run every spec not yet in ``store``; write ``summary.csv`` over the whole store at the end.

    ``on_start(n)`` is told how many runs are left to do; ``on_done(rows)`` is called after
    each run is stored.
    """
    unique = list({s.run_id: s for s in specs}.values())
    if not unique:
        raise ConfigError("the sweep has no run")
    kind = unique[0].kind
    store.root.mkdir(parents=True, exist_ok=True)
    other = store.kinds() - {kind}
    if other:
        raise ConfigError(f"{store.root} holds {other.pop()} runs; a {kind} sweep needs a new --out")
    store.clean_partial()
    wanted: dict[str, str] = {s.slot: s.run_id for s in unique}
    stale = [run_id for run_id, slot in store.slots().items() if wanted.get(slot, run_id) != run_id]
    if stale:
        log.info(
            "replacing %d finished run(s) whose inputs, plugin code or schedlab version changed", len(stale)
        )
        store.remove(stale)
    done = store.done()
    todo = [s for s in unique if s.run_id not in done]
    write_json(store.root / "sweep.json", dict(config))
    log.info(
        "%d runs in the matrix, %d already done, %d to run", len(unique), len(unique) - len(todo), len(todo)
    )
    if on_start is not None:
        on_start(len(todo))
    ran = 0
    if todo:
        by_id = {s.run_id: s for s in todo}
        for frame in backend.run(todo, KINDS[kind][0](todo)):
            store.write(frame, by_id[str(frame["run_id"].iloc[0])])
            ran += 1
            if on_done is not None:
                on_done(frame)
    summary_path = store.root / "summary.csv"
    tmp = summary_path.with_suffix(".csv.tmp")
    summarize_store(store).to_csv(tmp, index=False)
    tmp.replace(summary_path)
    return SweepOutcome(total=len(unique), skipped=len(unique) - len(todo), ran=ran, summary=summary_path)
