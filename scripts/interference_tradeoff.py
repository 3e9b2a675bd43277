"""The trade-off of packing under interference: SLO attainment and batch-job JCT inflation
against cluster allocation, for FGD, best-fit and slo-aware, at several loads and seeds.

For each load and seed: ``synth`` on the embedded openb trace for the first ``--nodes`` openb
GPU nodes (``--tasks`` tasks, ``exp:600`` run times, 30 % services), replayed with the
measured H100 model and once more without interference (the baseline of the JCT inflation).
A small cluster lets a few thousand tasks reach a steady state. Allocation is the
time-averaged allocated GPU share over the last two thirds of the arrivals (after warm-up).
Writes ``tradeoff.csv`` and ``tradeoff.png`` into ``--out`` and prints the table (means over
seeds). Usage: ``python scripts/interference_tradeoff.py [--tasks 4000] [--nodes 150]
[--loads 0.5,0.7,0.9,1.1] [--seeds 1-3] [--out out/tradeoff]`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from schedlab.interference import load_profiles
from schedlab.interference.mix import with_profiles
from schedlab.options import parse_seeds
from schedlab.sim import ReplayConfig, replay
from schedlab.sim.result import jct_inflation, time_average
from schedlab.trace import Nodes, default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.workload import from_openb
from schedlab.workload.synth import synthesize

POLICIES = ("fgd", "bestfit", "slo-aware")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--nodes", type=int, default=150, help="the first N openb GPU nodes")
    parser.add_argument("--loads", default="0.5,0.7,0.9,1.1")
    parser.add_argument("--seeds", default="1-3")
    parser.add_argument("--services", type=float, default=0.3)
    parser.add_argument("--out", type=Path, default=Path("out/tradeoff"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    every = load_nodes(default_nodes_path())
    head = slice(0, args.nodes)
    nodes = Nodes(
        every.name[head],
        every.cpu_milli[head],
        every.memory_mib[head],
        every.num_gpu[head],
        every.model[head],
    )
    trace = from_openb(load_tasks(default_pods_path()))
    profiles = load_profiles()
    capacity = nodes.gpu_capacity_milli
    rows = []
    for load in (float(x) for x in args.loads.split(",")):
        for seed in parse_seeds(args.seeds):
            base = synthesize(trace, nodes, args.tasks, load, seed, "exp:600")
            workload = with_profiles(base, profiles, args.services, seed)
            for policy in POLICIES:
                config = ReplayConfig(policy=policy, seed=seed, interference="measured")
                result = replay(workload, nodes, config)
                plain = replay(workload, nodes, ReplayConfig(policy=policy, seed=seed))
                s = result.series
                first, last = float(workload.arrival[0]), float(workload.arrival[-1])
                s = s[(s["time"] >= first + (last - first) / 3) & (s["time"] <= last)]
                alloc = time_average(s["time"].to_numpy(), s["allocated_milli"].to_numpy(), last) / capacity
                rows.append(
                    {
                        "load": load,
                        "seed": seed,
                        "policy": policy,
                        "alloc_pct": 100 * alloc,
                        "slo_attainment": result.summary["slo_attainment"],
                        "jct_inflation": jct_inflation(result.tasks, plain.tasks, workload.is_service),
                        "shared_gpu_time_frac": result.summary["shared_gpu_time_frac"],
                    }
                )
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out / "tradeoff.csv", index=False)
    means = frame.groupby(["policy", "load"], sort=False).mean(numeric_only=True).drop(columns="seed")
    print(means.round(4).to_string())
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for policy in POLICIES:
        part = means.loc[policy]
        axes[0].plot(part["alloc_pct"], part["slo_attainment"], marker="o", label=policy)
        axes[1].plot(part["alloc_pct"], part["jct_inflation"], marker="o", label=policy)
    axes[0].set(xlabel="mean GPU allocation (%)", ylabel="SLO attainment (share of requests)")
    axes[1].set(xlabel="mean GPU allocation (%)", ylabel="batch JCT inflation (x no interference)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    what = f"{args.tasks} tasks on {args.nodes} openb GPU nodes, {int(args.services * 100)} % services"
    figure.suptitle(f"{what}, H100 measured model, mean of seeds {args.seeds}")
    figure.savefig(args.out / "tradeoff.png", dpi=150)


if __name__ == "__main__":
    main()
