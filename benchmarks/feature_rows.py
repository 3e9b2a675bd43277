"""Part 2 of :mod:`compare`: each replay feature against the plain replay of the same tasks
(this checkout; older commits ran these features on the pure-Python path only)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from benchlib import Version, repeated_nodes

from schedlab.workload import load_jobs
from schedlab.workload.jobs import write_jobs

#: 200,000 tasks at load 0.9 on 12,130 nodes, as part 1's replays (with 100 users).
BASE = ("--tasks", "200000", "--load", "0.9", "--durations", "exp:3600", "--copies", "10", "--seed", "7")
#: The shape of PAI 2020: 30 % gangs of 2-16, 10 % service instances capped one per node.
PAI = ("--gangs", "0.3:2,4,8,16", "--users", "1000", "--anti-affinity", "0.1:1:8", "--cold-start")
PAI_REPLAY = ("--queue", "drf", "--mtbf", "168", "--reserve-after", "3600")
#: docs/sharing.md's MIG layouts: static, and the others GPUs may be re-partitioned into.
MIG = ("--mig", "A100-SXM4-80GB=7g.80gb", "--mig", "A100-80GB=3g.40gb,4x1g.10gb")
MIG_ALT = (
    *("--mig-alt", "A100-SXM4-80GB=3g.40gb,4x1g.10gb", "--mig-alt", "A100-SXM4-80GB=7x1g.10gb"),
    *("--mig-alt", "A100-80GB=7g.80gb", "--mig-alt", "A100-80GB=7x1g.10gb"),
)


def flat(path: Path, dest: Path) -> Path:
    """The tasks of ``path`` without gangs and anti-affinity caps (each gang member a row)."""
    if not dest.exists():
        workload = load_jobs(path)
        workload = replace(workload, gang=None, max_per_node=None)
        write_jobs(workload, dest)
    return dest


def feature_rows(new: Version, work: Path, repeat: int) -> list[tuple[str, ...]]:
    nodes10 = repeated_nodes(10, work / "nodes10.csv")
    nodes64 = repeated_nodes(1, work / "nodes64.csv", gpus_per_node=64)
    rows: list[tuple[str, ...]] = []

    def synth(name: str, *options: str) -> Path:
        path = work / f"{name}.csv"
        if not path.exists():
            new.run("synth", *options, "--out", str(path), parse=False)
        return path

    def compare(label: str, plain: tuple[str, ...], feature: tuple[str, ...], target: float) -> None:
        a, b = new.best(repeat, "replay", "--json", *plain), new.best(repeat, "replay", "--json", *feature)
        ratio = b.wall / a.wall
        assert b.doc["path"] == "compiled", b.doc["path"]
        rows.append(
            (
                label,
                f"{a.wall:.2f} s, {a.rss_mb:.0f} MB",
                f"{b.wall:.2f} s, {b.rss_mb:.0f} MB",
                f"{ratio:.2f}x",
                f"<= {target:g}x",
                "yes" if ratio <= target else "NO",
            )
        )
        print(rows[-1], flush=True)

    base = synth("features200k", *BASE, "--users", "100")
    plain = ("--jobs", str(base), "--nodes", str(nodes10), "--policy", "fgd")
    for label, options in (
        ("node failures, --mtbf 168", ("--mtbf", "168")),
        ("starvation guard, --reserve-after 3600", ("--reserve-after", "3600")),
        (
            "guard evicting, --reserve-after 3600 --evict-starved",
            ("--reserve-after", "3600", "--evict-starved"),
        ),
        ("fair share, --queue drf (100 users)", ("--queue", "drf")),
        ("priorities, --queue qos", ("--queue", "qos")),
        ("preemption, --queue qos --preempt", ("--queue", "qos", "--preempt")),
        (
            "defragmentation, --defrag fgd (a step a minute, 60 moves an hour)",
            ("--defrag", "fgd", "--defrag-every", "60", "--defrag-moves", "60"),
        ),
    ):
        compare(label, plain, (*plain, *options), 2)
    for label, options in (
        ("gangs, 30 % of jobs, sizes 2-16", ("--gangs", "0.3:2,4,8,16")),
        ("anti-affinity, 10 % of jobs, 1 per node", ("--anti-affinity", "0.1:1:8")),
    ):
        path = synth(label.split(",")[0].replace(" ", "-") + "200k", *BASE, *options)
        with_it = ("--jobs", str(path), "--nodes", str(nodes10), "--policy", "fgd")
        without = (
            "--jobs",
            str(flat(path, work / f"{path.stem}-flat.csv")),
            "--nodes",
            str(nodes10),
            "--policy",
            "fgd",
        )
        compare(label, without, with_it, 2)
    pai = synth("pai200k", *BASE, *PAI)
    pai_flat = (
        "--jobs",
        str(flat(pai, work / "pai200k-flat.csv")),
        "--nodes",
        str(nodes10),
        "--policy",
        "fgd",
    )
    compare(
        "all together (PAI-shaped, drf, mtbf 168, guard)",
        pai_flat,
        ("--jobs", str(pai), "--nodes", str(nodes10), "--policy", "fgd", *PAI_REPLAY),
        3,
    )
    compare(
        "all together and defragmentation (the above, --defrag fgd)",
        pai_flat,
        (
            *("--jobs", str(pai), "--nodes", str(nodes10), "--policy", "fgd", *PAI_REPLAY),
            *("--defrag", "fgd", "--defrag-every", "60", "--defrag-moves", "60"),
        ),
        3,
    )
    services = synth("services20k", "--tasks", "20000", "--load", "0.9", "--services", "0.3", "--seed", "7")
    mix = ("--jobs", str(services), "--interference", "measured")
    compare(
        "slo-aware vs fgd, 20k service mix (warm)",
        (*mix, "--policy", "fgd"),
        (*mix, "--policy", "slo-aware"),
        3,
    )
    shifting = work / "shifting4096.csv"
    if not shifting.exists():
        script = Path(__file__).parents[1] / "examples" / "mig" / "shifting.py"
        subprocess.run([sys.executable, str(script), "--gpus", "4096", "--out", str(shifting)], check=True)
    a100 = work / "a100x512.csv"
    half = ["A100-SXM4-80GB"] * 256 + ["A100-80GB"] * 256
    a100.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\n"
        + "".join(f"a{i},128000,1048576,8,{m}\n" for i, m in enumerate(half))
    )
    static = ("--jobs", str(shifting), "--nodes", str(a100), *MIG)
    compare(
        "dynamic MIG, --mig-alt (126k tasks, 4,096 A100s) vs static layouts", static, (*static, *MIG_ALT), 2
    )
    wide = synth(
        "wide3k", "--tasks", "3000", "--load", "0.9", "--durations", "exp:3600", "--seed", "7", "--cold-start"
    )
    on64 = ("--jobs", str(wide), "--nodes", str(nodes64), "--target-load", "0.9", "--policy", "fgd", "--json")
    fast, slow = new.best(repeat, "replay", *on64), new.run("replay", *on64, "--reference")
    same = all(fast.doc[k] == slow.doc[k] for k in ("jct_mean", "wait_mean", "completed", "preemptions"))
    rows.append(
        (
            "64-GPU nodes (1,213 of them), 3k tasks at load 0.9: compiled vs reference",
            f"reference {slow.wall:.1f} s",
            f"compiled {fast.wall:.2f} s",
            f"{slow.wall / fast.wall:.0f}x faster",
            "identical results",
            "yes" if same else "NO",
        )
    )
    print(rows[-1], flush=True)
    million = synth("pai1m", "--tasks", "510000", *BASE[2:], *PAI)  # gangs: ~1M tasks
    run = new.run(
        "replay", "--json", "--jobs", str(million), "--nodes", str(nodes10), "--policy", "fgd", *PAI_REPLAY
    )
    rows.append(
        (
            "PAI-shaped 1M tasks, all features, 12,130 nodes",
            "",
            f"{run.wall:.1f} s ({run.process_s:.1f} s end to end), {run.rss_mb:.0f} MB",
            "",
            "<= 30 s",
            "yes" if run.wall <= 30 else "NO",
        )
    )
    print(rows[-1], flush=True)
    return rows
