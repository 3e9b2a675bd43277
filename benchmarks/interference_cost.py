"""What interference modelling costs: the same replay with and without a model.

Synthesises ``--tasks`` tasks at ``--load`` with ``--services`` of them inference services
(profiles from the embedded H100 directory), replays them with FGD on the openb GPU nodes,
and prints the ``wall_s`` of: the same tasks without profiles (compiled path), with profiles
and ``--interference none`` (services alone: the pure-Python path that tracks their latency),
and with the ``measured`` model; best of ``--repeat`` each, one process, and the ratios.
Usage: ``python benchmarks/interference_cost.py [--tasks 20000] [--load 0.9] [--services 0.3]``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from schedlab.interference import load_profiles
from schedlab.interference.mix import with_profiles
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.workload import from_openb
from schedlab.workload.synth import synthesize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--load", type=float, default=0.9)
    parser.add_argument("--services", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    nodes = load_nodes(default_nodes_path())
    trace = from_openb(load_tasks(default_pods_path()))
    base = synthesize(trace, nodes, args.tasks, args.load, 7, "exp:3600")
    mixed = with_profiles(base, load_profiles(), args.services, 7)
    plain = replace(mixed, profile=None, rate_rps=None, slo_ms=None)
    cases = {
        "no profiles (compiled)": (plain, "none"),
        "profiles, --interference none": (mixed, "none"),
        "profiles, --interference measured": (mixed, "measured"),
    }
    walls = {}
    for label, (workload, model) in cases.items():
        runs = [
            replay(workload, nodes, ReplayConfig(policy="fgd", interference=model))
            for _ in range(args.repeat)
        ]
        walls[label] = min(r.summary["wall_s"] for r in runs)
        summary = runs[0].summary
        print(
            f"{label:<36} {walls[label]:7.2f} s  path {summary['path']:<9}"
            f" slo_attainment {summary.get('slo_attainment')}  jct_mean {summary['jct_mean']:.0f}"
        )
    measured = walls["profiles, --interference measured"]
    print(f"measured / none (same path): {measured / walls['profiles, --interference none']:.2f}x")
    print(f"measured / no profiles (compiled): {measured / walls['no profiles (compiled)']:.2f}x")


if __name__ == "__main__":
    main()
