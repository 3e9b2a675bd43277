"""Replay sweep speed: a grid of replays (policies x loads x seeds, each run drawing
``--tasks`` synthetic tasks from the openb default mix at its load, begun warm) run as a
sweep on local workers, against the same runs done one by one in this process: the sweep's
wall time, its time per run, and the single replays' time per run, side by side. Peak RSS
of this process and of the worker processes.

Usage: ``python benchmarks/replay_sweep.py [--tasks 50000] [--policies ...] [--loads 0.7,0.9,1.1]
[--seeds 1-5] [--workers N] [--single 3]``
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from schedlab.options import parse_seeds
from schedlab.sweep.backends import LocalBackend
from schedlab.sweep.driver import run_sweep
from schedlab.sweep.replay_runs import ReplayData, run_replay
from schedlab.sweep.replay_specs import expand_replays
from schedlab.sweep.replays import ReplayMatrix
from schedlab.sweep.store import ResultStore

SIX = "fgd,bestfit,dotprod,packing,clustering,random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50_000, help="tasks per run (default 50,000)")
    parser.add_argument("--policies", default=SIX, help=f"comma list (default {SIX})")
    parser.add_argument("--loads", default="0.7,0.9,1.1", help="comma list of offered loads")
    parser.add_argument("--seeds", default="1-5", help="seeds (default 1-5)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local workers")
    parser.add_argument("--single", type=int, default=3, help="runs to time one by one (default 3)")
    args = parser.parse_args()
    matrix = ReplayMatrix(
        policies=tuple(args.policies.split(",")),
        loads=tuple(float(x) for x in args.loads.split(",")),
        seeds=tuple(parse_seeds(args.seeds)),
        synth_tasks=args.tasks,
    )
    specs = expand_replays(matrix)
    data = ReplayData.load(specs)
    run_replay(specs[0], data)  # kernels loaded (or compiled) before timing
    start = time.perf_counter()
    for spec in specs[: args.single]:
        run_replay(spec, data)
    single = (time.perf_counter() - start) / max(args.single, 1)
    with tempfile.TemporaryDirectory() as root:
        store = ResultStore(Path(root) / "store")
        start = time.perf_counter()
        outcome = run_sweep(specs, store, LocalBackend(args.workers), {})
        wall = time.perf_counter() - start
        runs = store.load()
    per_run = float(runs["wall_s"].mean())
    print(f"{len(specs)} runs of {args.tasks:,} tasks ({outcome.ran} run), {args.workers} workers")
    print(f"sweep wall time          {wall:8.1f} s ({wall / 60:.1f} min)")
    print(f"replay time per run      {per_run:8.2f} s in the sweep (summary wall_s, mean)")
    print(f"single replay per run    {single:8.2f} s one by one here (synth + replay)")
    print(f"sweep / ideal            {wall / (len(specs) * single / args.workers):8.2f} x")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MiB, largest worker {workers:.0f} MiB")


if __name__ == "__main__":
    main()
