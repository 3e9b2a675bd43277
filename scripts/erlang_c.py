"""Mean queueing delay of the simulator vs the Erlang C formula (M/M/c, fifo).

Usage: ``python scripts/erlang_c.py [--servers 2] [--tasks 1000000,1000000,4000000]``
"""

from __future__ import annotations

import argparse
import time

from schedlab.validation.mmc import mmc_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=2, help="one-GPU nodes (default 2)")
    parser.add_argument("--loads", default="0.7,0.8,0.9", help="comma list of loads")
    parser.add_argument("--tasks", default="1000000,1000000,4000000", help="tasks per load (comma list)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    loads = [float(x) for x in args.loads.split(",")]
    counts = [int(x) for x in args.tasks.split(",")]
    print("| servers | load | tasks | mean wait (sim) | Erlang C | error | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for load, tasks in zip(loads, counts, strict=True):
        start = time.perf_counter()
        check, _ = mmc_check(args.servers, load, tasks, args.seed)
        print(
            f"| {check.servers} | {load} | {tasks:,} | {check.measured:.4f} | {check.expected:.4f} "
            f"| {check.error * 100:+.2f}% | {time.perf_counter() - start:.0f} |"
        )


if __name__ == "__main__":
    main()
