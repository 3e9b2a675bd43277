"""How fast `schedlab kueue replay` admits a large trace (quota only).

Builds a configuration of ``--queues`` ClusterQueues in three cohorts under one root, each
with one LocalQueue and the flavors of the openb GPU models (G2, T4, P100, V100M16, V100M32,
G3 in that order; each queue's nominal quota a share of the cluster's GPUs and CPUs,
borrowing allowed), draws ``--tasks`` jobs of the openb mix with ``schedlab synth`` (load
0.9, cold start) and spreads them over the LocalQueues (Zipf-like: the first queues get
more), latency-sensitive jobs at a higher priority. Prints the wall time of the admission
replay alone on the compiled path and on the pure-Python reference (and whether their
outcomes are identical), then of the whole command (process start to exit) with its peak RSS.
Usage: ``python benchmarks/kueue_speed.py [--tasks 100000] [--queues 20] [--skip-reference]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import NODES, ROOT, Version

from schedlab.kueue.admission import replay
from schedlab.kueue.load import load_config
from schedlab.kueue.workloads import workloads
from schedlab.trace import default_pods_path, load_nodes, load_tasks
from schedlab.workload import from_openb, load_jobs
from schedlab.workload.jobs import write_jobs
from schedlab.workload.synth import synthesize

API = "apiVersion: kueue.x-k8s.io/v1beta1"
MODELS = ("G2", "T4", "P100", "V100M16", "V100M32", "G3")


def config_text(queues: int, nodes: object) -> str:
    """Flavors per GPU model, three cohorts under a root, ``queues`` ClusterQueues."""
    table = load_nodes(NODES)
    docs = ["apiVersion: kueue.x-k8s.io/v1beta1\nkind: Cohort\nmetadata: {name: root}\n"]
    docs += [f"{API}\nkind: Cohort\nmetadata: {{name: c{c}}}\nspec: {{parent: root}}\n" for c in range(3)]
    docs += [
        f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata: {{name: {m.lower()}}}\n"
        f"spec:\n  nodeLabels: {{alibabacloud.com/gpu-card-model: {m}}}\n"
        for m in MODELS
    ]
    for q in range(queues):
        flavors = ""
        for m in MODELS:
            on = table.model == m
            gpus = int(table.num_gpu[on].sum()) // queues
            cpus = int(table.cpu_milli[on].sum()) // 1000 // queues
            flavors += (
                f"    - name: {m.lower()}\n      resources:\n"
                f"      - {{name: cpu, nominalQuota: {cpus}}}\n"
                f"      - {{name: nvidia.com/gpu, nominalQuota: {gpus}}}\n"
            )
        docs.append(
            f"apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {{name: q{q}}}\nspec:\n"
            f"  cohort: c{q % 3}\n  queueingStrategy: BestEffortFIFO\n  resourceGroups:\n"
            f"  - coveredResources: [cpu, nvidia.com/gpu]\n    flavors:\n{flavors}"
        )
        docs.append(
            f"{API}\nkind: LocalQueue\nmetadata: {{namespace: team{q}, name: jobs}}\n"
            f"spec: {{clusterQueue: q{q}}}\n"
        )
    return "---\n".join(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument(
        "--skip-reference", action="store_true", help="compiled path only (the reference: minutes)"
    )
    args = parser.parse_args()
    nodes = load_nodes(NODES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "kueue.yaml").write_text(config_text(args.queues, nodes))
        trace = from_openb(load_tasks(default_pods_path()))
        work = synthesize(trace, nodes, args.tasks, 0.9, seed=7, durations="exp:3600")
        rng = np.random.default_rng(7)
        weights = 1 / np.arange(1, args.queues + 1)
        picked = rng.choice(args.queues, len(work), p=weights / weights.sum())
        from dataclasses import replace

        queue = np.array([f"team{q}/jobs" for q in picked], dtype=object)
        priority = np.where(work.is_ls, "100", "0").astype(object)
        write_jobs(replace(work, queue=queue, priority=priority), folder / "jobs.csv")
        config = load_config([folder / "kueue.yaml"])
        found = workloads(load_jobs(folder / "jobs.csv"), config)
        queues = f"{args.queues} ClusterQueues in 3 cohorts"
        outcomes = {}
        for path in ("compiled", "reference")[: 1 if args.skip_reference else 2]:
            began = time.perf_counter()
            outcome = outcomes[path] = replay(config, found.items, compiled=path == "compiled")
            took = time.perf_counter() - began
            admitted = sum(a is not None for a in outcome.admitted)
            print(
                f"{len(found.items):,} workloads, {queues}: admission replay, {path} path,"
                f" {took:.2f} s ({admitted:,} admitted)",
                flush=True,
            )
        if not args.skip_reference:
            same = all(
                getattr(outcomes["compiled"], f) == getattr(outcomes["reference"], f)
                for f in ("admitted", "flavors", "runs", "waiting", "pending")
            )
            print(f"the two paths' outcomes are {'identical' if same else 'DIFFERENT'}")
        run = Version("this checkout", ROOT / "src").run(
            "kueue", "replay", str(folder / "kueue.yaml"), "--jobs", str(folder / "jobs.csv"), "--json"
        )
        whole = f"{run.process_s:.2f} s, peak RSS {run.rss_mb:.0f} MB (wall_s {run.doc['wall_s']} s)"
        print(f"schedlab kueue replay --json end to end: {whole}")


if __name__ == "__main__":
    main()
