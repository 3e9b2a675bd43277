"""Round 1, round 2 and this checkout side by side: speed, memory and fixed cost, then each
replay feature against the plain replay of the same tasks (this checkout only).

Each figure is one process per run (``schedlab ... --json``) on the same inputs: the
``wall_s`` it reports (best of ``--repeat`` for this checkout, one run for older commits),
its peak RSS, and for the fixed-cost rows the time from process start to exit. Older
commits' sources are taken with ``git archive`` and run with this interpreter.

Part 1 (inputs made by round 1's ``synth``, so every version replays the same files):
replay of 200,000 tasks on 12,130 nodes (the openb GPU nodes ten times), best-fit and FGD;
the FGD fill run on the embedded trace; a 1,000-task replay and ``fill`` end to end (target
<= 0.5 s, <= 150 MB); ``--preempt`` against the same replay without it (FGD, qos queue,
20,000 tasks at load 1.3 on 1,213 nodes: <= 2x); the peak RSS of a 1,000,000-task best-fit
replay (<= 500 MB); per-task time on 121,300 nodes against 12,130 (200,000 tasks, run times
``exp:60``: <= 1.5x).

Part 2 (:mod:`feature_rows`): per feature, 200,000 tasks on 12,130 nodes against the plain
replay of the same tasks (<= 2x; all together <= 3x), ``slo-aware`` against ``fgd`` on a
20,000-task service mix (<= 3x), 64-GPU nodes on both paths, and a 1,000,000-task
PAI-shaped workload (<= 30 s).

Usage: ``python benchmarks/compare.py [--repeat 3] [--work DIR] [--part 1|2]`` (about 40
minutes on 2 cores, most of it the older commits' runs).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchlib import ROOT, Run, Version, extract, repeated_nodes, table
from feature_rows import feature_rows

ROUNDS = (("round 1", "2db8157"), ("round 2", "9ce88c5"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)")
    parser.add_argument("--work", type=Path, help="folder for inputs (kept; default: a temporary one)")
    parser.add_argument("--part", type=int, choices=(1, 2), help="only this part (default: both)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="schedlab-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    new = Version("this checkout", ROOT / "src")
    new.run("replay", "--compiled", "--json")  # an earlier run: kernels compiled and on disk
    print(f"inputs in {work}", flush=True)
    if args.part in (None, 1):
        old = [Version(f"{label} ({commit})", extract(commit, work)) for label, commit in ROUNDS]
        for version in [*old, new]:  # each commit's kernels compiled and on disk before anything is timed
            version.run("replay", "--json")
            version.run("fill", "--seeds", "42", "--json")
        rounds(old, new, work, args.repeat)
    if args.part in (None, 2):
        rows = feature_rows(new, work, args.repeat)
        print("\n" + table(rows, ("feature (this checkout)", "plain", "with it", "ratio", "target", "met")))


def rounds(old: list[Version], new: Version, work: Path, repeat: int) -> None:
    versions = [*old, new]
    nodes10, nodes100 = repeated_nodes(10, work / "nodes10.csv"), repeated_nodes(100, work / "nodes100.csv")

    def synth(name: str, *options: str) -> Path:
        path = work / f"{name}.csv"
        if not path.exists():
            old[0].run("synth", *options, "--seed", "7", "--out", str(path), parse=False)
        return path

    j200k = synth(
        "jobs200k", "--tasks", "200000", "--load", "0.9", "--durations", "exp:3600", "--copies", "10"
    )
    j20k = synth("jobs20k", "--tasks", "20000", "--load", "1.3", "--durations", "exp:3600")
    j1k = synth("jobs1k", "--tasks", "1000", "--load", "0.9", "--durations", "exp:3600")
    j1m = synth("jobs1m", "--tasks", "1000000", "--load", "0.9", "--durations", "exp:3600", "--copies", "10")
    short10 = synth(
        "exp60x10", "--tasks", "200000", "--load", "0.9", "--durations", "exp:60", "--copies", "10"
    )
    short100 = synth(
        "exp60x100", "--tasks", "200000", "--load", "0.9", "--durations", "exp:60", "--copies", "100"
    )
    rows: list[tuple[str, ...]] = []

    def runs(repeat_new: int, *command: str, quickest: bool = False) -> list[Run]:
        pick = Version.quickest if quickest else Version.best
        return [pick(v, repeat_new if v is new else 1, *command) for v in versions]

    def row(label: str, cells: list[str], result: str, target: str, met: bool) -> None:
        rows.append((label, *cells, result, target, "yes" if met else "NO"))
        print(rows[-1], flush=True)

    def ratio_row(label: str, before: list[Run], after: list[Run], target: float) -> None:
        """Each version's ``after`` time over its ``before`` time, against ``target``."""
        ratios = [b.wall / a.wall for a, b in zip(before, after, strict=True)]
        cells = [
            f"{x:.2f}x ({b.wall:.2f} / {a.wall:.2f} s)" for x, a, b in zip(ratios, before, after, strict=True)
        ]
        row(label, cells, f"{ratios[-1]:.2f}x", f"<= {target:g}x", ratios[-1] <= target)

    for policy in ("bestfit", "fgd"):
        done = runs(
            repeat, "replay", "--jobs", str(j200k), "--nodes", str(nodes10), "--policy", policy, "--json"
        )
        ratio = done[0].wall / done[-1].wall
        cells = [f"{r.wall:.2f} s, {r.rss_mb:.0f} MB" for r in done]
        row(f"replay 200k tasks, 12,130 nodes, {policy}", cells, f"{ratio:.1f}x round 1", ">= 8x", ratio >= 8)
    done = runs(repeat, "fill", "--policy", "fgd", "--seeds", "42", "--json")
    ratio = done[0].wall / done[-1].wall
    cells = [f"{r.wall:.2f} s, {r.rss_mb:.0f} MB" for r in done]
    row("fill, embedded trace, fgd, seed 42", cells, f"{ratio:.1f}x round 1", ">= 4x", ratio >= 4)

    for label, command in (
        ("replay of 1,000 tasks, end to end", ("replay", "--jobs", str(j1k), "--json")),
        ("fill, embedded trace, end to end", ("fill", "--seeds", "42", "--json")),
    ):
        done = runs(repeat, *command, quickest=True)
        cells = [f"{r.process_s:.2f} s, {r.rss_mb:.0f} MB" for r in done]
        last = done[-1]
        met = last.process_s <= 0.5 and last.rss_mb <= 150
        row(label, cells, f"{last.process_s:.2f} s, {last.rss_mb:.0f} MB", "<= 0.5 s, <= 150 MB", met)

    overloaded = ("replay", "--jobs", str(j20k), "--policy", "fgd", "--queue", "qos", "--json")
    plain, preempt = runs(repeat, *overloaded), runs(repeat, *overloaded, "--preempt")
    ratio_row("fgd qos 20k tasks load 1.3: --preempt / without", plain, preempt, 2)

    done = runs(1, "replay", "--jobs", str(j1m), "--nodes", str(nodes10), "--policy", "bestfit", "--json")
    cells = [f"{r.rss_mb:.0f} MB ({r.wall:.1f} s)" for r in done]
    rss = done[-1].rss_mb
    row("replay 1M tasks, 12,130 nodes, bestfit: peak RSS", cells, f"{rss:.0f} MB", "<= 500 MB", rss <= 500)

    replay = ("replay", "--policy", "bestfit", "--json", "--jobs")
    small = runs(repeat, *replay, str(short10), "--nodes", str(nodes10))
    large = runs(repeat, *replay, str(short100), "--nodes", str(nodes100))
    ratio_row("per-task time, 121,300 vs 12,130 nodes, bestfit", small, large, 1.5)

    header = ("figure", *(v.label for v in versions), "result", "target", "met")
    print("\n" + table(rows, header))
    print(f"\nwall_s: best of {repeat} runs for {new.label}, one run for older commits; RSS: that run's peak")


if __name__ == "__main__":
    main()
