"""Writes examples/mig/shifting.csv: a day of inference and batch tasks asking for MIG
instances on the 64 A100s of examples/mig/inference-nodes.csv, the mix shifting at noon
(docs/sharing.md, "Re-partitioning idle GPUs").

Poisson arrivals at about 0.6 of the GPUs' compute: for 12 hours 70 % of the tasks ask for
a 1g.10gb instance, 20 % for 3g.40gb and 10 % for 7g.80gb, running 1 hour on average
(exponential); for the next 12 hours 20 %, 30 % and 50 %, running 2 hours.

Usage: ``python examples/mig/shifting.py [--seed 7] [--gpus 64] [--out examples/mig/shifting.csv]``
(``--gpus``: the A100s the load is for; ``benchmarks/feature_rows.py`` takes 4,096).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

PROFILES = ("1g.10gb", "3g.40gb", "7g.80gb")
SHARE = np.array([1 / 7, 3 / 7, 1.0])  # compute share of one instance
PHASES = ((0.0, 12 * 3600.0, (0.7, 0.2, 0.1), 3600.0), (12 * 3600.0, 24 * 3600.0, (0.2, 0.3, 0.5), 7200.0))
LOAD = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gpus", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("shifting.csv"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    for begin, end, mix, mean in PHASES:
        rate = LOAD * args.gpus / (float(np.dot(mix, SHARE)) * mean)  # tasks per second
        t = begin + rng.exponential(1 / rate)
        while t < end:
            k = int(rng.choice(3, p=mix))
            rows.append((t, max(60.0, rng.exponential(mean)), PROFILES[k]))
            t += rng.exponential(1 / rate)
    with args.out.open("w") as out:
        out.write("id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,gpu_spec\n")
        for i, (t, duration, profile) in enumerate(rows):
            out.write(f"task-{i},{t:.1f},{duration:.1f},4000,16384,1,1000,BE,mig-{profile}\n")
    print(f"wrote {len(rows)} tasks to {args.out}")


if __name__ == "__main__":
    main()
