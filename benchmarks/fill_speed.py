"""Fill-experiment speed per policy on the embedded default openb trace.

Prints wall time per run and tasks per second (one process, one core), and the process's
peak RSS. Usage: ``python benchmarks/fill_speed.py [--seeds 42-44]``.
"""

from __future__ import annotations

import argparse
import resource
import time

from schedlab.fill import FillConfig, run_fill
from schedlab.options import parse_seeds
from schedlab.policies import PAPER_POLICIES
from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="42-44", help="seeds to average over (default 42-44)")
    parser.add_argument("--policy", default=",".join(PAPER_POLICIES), help="comma list of policies")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)

    start = time.perf_counter()
    tasks = load_tasks(default_pods_path())
    nodes = load_nodes(default_nodes_path())
    print(f"load: {time.perf_counter() - start:.2f} s ({len(tasks)} tasks, {len(nodes)} nodes)")
    print(f"{'policy':<11} {'tasks/run':>9} {'mean s':>7} {'max s':>7} {'tasks/s':>9}")
    for policy in args.policy.split(","):
        walls, counts = [], []
        for seed in seeds:
            result = run_fill(tasks, nodes, FillConfig(policy, seed))
            walls.append(result.wall_s)
            counts.append(result.tasks)
        mean = sum(walls) / len(walls)
        rate = sum(counts) / sum(walls)
        print(f"{policy:<11} {sum(counts) / len(counts):>9.0f} {mean:>7.2f} {max(walls):>7.2f} {rate:>9,.0f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
