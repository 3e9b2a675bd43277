"""Replay speed: the openb default timeline, and a large synthetic workload on 10 copies of
the openb GPU nodes (12,130 nodes). Prints tasks per second and peak RSS.

Usage: ``python benchmarks/replay_speed.py [--tasks 1000000] [--load 0.9] [--policy bestfit,fgd]``
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

from schedlab.sim import ReplayConfig, replay
from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks
from schedlab.workload import from_openb
from schedlab.workload.load import gpu_load
from schedlab.workload.synth import synthesize


def rate(label: str, policy: str, s: dict[str, Any]) -> str:
    speed = f"{s['wall_s']:>8.2f} s {s['tasks_per_s']:>10,.0f} tasks/s"
    return f"{label:<15} {policy:<8} {s['tasks']:>9} tasks {speed}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000, help="synthetic tasks (default 1,000,000)")
    parser.add_argument("--copies", type=int, default=10, help="copies of the openb node list (default 10)")
    parser.add_argument("--load", type=float, default=0.9, help="offered GPU load (default 0.9)")
    parser.add_argument("--durations", default="exp:3600", help="synthetic run times (default exp:3600)")
    parser.add_argument("--policy", default="bestfit,fgd", help="comma list of policies")
    parser.add_argument("--skip-openb", action="store_true", help="skip the openb timeline replay")
    args = parser.parse_args()
    policies = args.policy.split(",")
    tasks = load_tasks(default_pods_path())
    nodes = load_nodes(default_nodes_path())
    timeline = from_openb(tasks)
    if not args.skip_openb:
        for policy in policies:
            result = replay(timeline, nodes, ReplayConfig(policy=policy))
            s = result.summary
            print(rate("openb timeline", policy, s))
    big = nodes.repeat(args.copies)
    start = time.perf_counter()
    workload = synthesize(timeline, big, args.tasks, args.load, seed=1, durations=args.durations)
    print(
        f"synth: {len(workload)} tasks on {len(big)} nodes, offered GPU load "
        f"{gpu_load(workload, big):.3f}, in {time.perf_counter() - start:.1f} s"
    )
    for policy in policies:
        result = replay(workload, big, ReplayConfig(policy=policy))
        s = result.summary
        print(
            rate("synthetic", policy, s)
            + f"  (completed {s['completed']}, wait mean {s['wait_mean']:.1f} s, p99 {s['wait_p99']:.1f} s)"
        )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
