"""Side by side against an older commit: the speed and memory targets of "core v2".

Runs this checkout's ``schedlab`` and the one of ``--against`` (default: the round-1 release,
2db8157; its source is taken with ``git archive`` and run with this interpreter) on the same
inputs, made by the older commit's ``synth``, one process per run, and prints each figure:
the ``wall_s`` that ``replay --json`` and ``fill --json`` report (the best of ``--repeat``
runs), the ratio, the target, and the peak RSS of the process.

- replay of 200,000 tasks (``synth --load 0.9 --durations exp:3600 --seed 7``) on 12,130
  nodes (the openb GPU nodes ten times), best-fit and FGD: at least 8x faster;
- the FGD fill run on the embedded trace (seed 42): at least 4x faster;
- FGD with ``--queue qos --preempt`` on an overloaded workload (20,000 tasks, load 1.3, 1,213
  nodes): at most 2x the time without ``--preempt``;
- a 1,000,000-task best-fit replay on 12,130 nodes: at most 750 MB peak RSS;
- best-fit replay of 200,000 tasks at ``--durations exp:60`` on 121,300 nodes: per-task
  time at most 1.5x that on 12,130 nodes.

Usage: ``python benchmarks/compare.py [--against COMMIT] [--repeat 3] [--work DIR]``
(about 15 minutes on 2 cores, most of it the older commit's runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODES = ROOT / "src" / "schedlab" / "data" / "openb_node_list_gpu_node.csv"


@dataclass(frozen=True)
class Run:
    """What one command reported: its JSON document, and the process's peak RSS in MB."""

    doc: dict[str, Any]
    rss_mb: float


class Version:
    """One schedlab source tree, run as ``python -c 'from schedlab.cli import main; main()'``."""

    def __init__(self, label: str, src: Path) -> None:
        self.label = label
        self.src = src

    def run(self, *args: str, parse: bool = True) -> Run:
        env = os.environ | {"PYTHONPATH": str(self.src)}
        command = [sys.executable, "-c", "from schedlab.cli import main; main()", *args]
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env, cwd=self.src)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(f"{self.label}: schedlab {' '.join(args)} failed ({proc.returncode})")
            out.seek(0)
            text = out.read().decode()
        return Run(json.loads(text) if parse else {}, usage.ru_maxrss / 1024)

    def best(self, repeat: int, *args: str) -> Run:
        """The run with the least ``wall_s`` (fill: of its first run) out of ``repeat``."""
        runs = [self.run(*args) for _ in range(repeat)]
        return min(runs, key=wall)


def wall(run: Run) -> float:
    doc = run.doc
    return float(doc["runs"][0]["wall_s"] if "runs" in doc else doc["wall_s"])


def extract(commit: str, dest: Path) -> Path:
    """The ``src`` folder of ``commit``, unpacked under ``dest``."""
    archive = dest / f"{commit}.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest / commit, filter="data")
    return dest / commit / "src"


def repeated_nodes(copies: int, path: Path) -> Path:
    """The openb GPU node list ``copies`` times, node names suffixed ``#i``."""
    if not path.exists():
        header, *rows = NODES.read_text().splitlines()
        lines = [header] + [
            f"{row.split(',', 1)[0]}#{i},{row.split(',', 1)[1]}" for i in range(copies) for row in rows
        ]
        path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--against", default="2db8157", help="the older commit (default: the round-1 release)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)")
    parser.add_argument("--work", type=Path, help="folder for inputs (kept; default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="schedlab-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    old = Version(args.against, extract(args.against, work))
    new = Version("this checkout", ROOT / "src")
    nodes10, nodes100 = repeated_nodes(10, work / "nodes10.csv"), repeated_nodes(100, work / "nodes100.csv")

    def synth(name: str, *options: str) -> Path:
        path = work / f"{name}.csv"
        if not path.exists():
            old.run("synth", *options, "--seed", "7", "--out", str(path), parse=False)
        return path

    print(f"inputs in {work}; {old.label} and {new.label} on the same files", flush=True)
    j200k = synth(
        "jobs200k", "--tasks", "200000", "--load", "0.9", "--durations", "exp:3600", "--copies", "10"
    )
    j20k = synth("jobs20k", "--tasks", "20000", "--load", "1.3", "--durations", "exp:3600")
    j1m = synth("jobs1m", "--tasks", "1000000", "--load", "0.9", "--durations", "exp:3600", "--copies", "10")
    short10 = synth(
        "exp60x10", "--tasks", "200000", "--load", "0.9", "--durations", "exp:60", "--copies", "10"
    )
    short100 = synth(
        "exp60x100", "--tasks", "200000", "--load", "0.9", "--durations", "exp:60", "--copies", "100"
    )
    warm = new.run(
        "replay", "--jobs", str(j20k), "--policy", "bestfit", "--json"
    )  # an earlier run: kernels on disk
    print(f"warm-up replay: {wall(warm):.1f} s (compiles the kernels unless an earlier run did)", flush=True)

    rows: list[tuple[str, str, str, str, str, bool]] = []

    def speedup(label: str, target: float, *command: str) -> None:
        a, b = old.best(1, *command), new.best(args.repeat, *command)
        ratio = wall(a) / wall(b)
        rows.append(
            (
                label,
                f"{wall(a):.2f} s, {a.rss_mb:.0f} MB",
                f"{wall(b):.3f} s, {b.rss_mb:.0f} MB",
                f"{ratio:.1f}x faster",
                f">= {target:g}x",
                ratio >= target,
            )
        )
        print(rows[-1], flush=True)

    replay200k = ("replay", "--jobs", str(j200k), "--nodes", str(nodes10), "--json", "--policy")
    speedup("replay 200k tasks, 12,130 nodes, bestfit", 8, *replay200k, "bestfit")
    speedup("replay 200k tasks, 12,130 nodes, fgd", 8, *replay200k, "fgd")
    speedup("fill, embedded trace, fgd, seed 42", 4, "fill", "--policy", "fgd", "--seeds", "42", "--json")

    overloaded = ("replay", "--jobs", str(j20k), "--policy", "fgd", "--queue", "qos", "--json")
    ratios = []
    for version in (old, new):
        repeat = 1 if version is old else args.repeat
        plain, preempt = version.best(repeat, *overloaded), version.best(repeat, *overloaded, "--preempt")
        ratios.append((wall(preempt) / wall(plain), wall(plain), wall(preempt), preempt.doc["preemptions"]))
    (old_ratio, *old_times, old_count), (ratio, *times, count) = ratios
    rows.append(
        (
            "fgd qos 20k tasks load 1.3: --preempt / without",
            f"{old_ratio:.1f}x ({old_times[1]:.1f} / {old_times[0]:.1f} s, {old_count} preemptions)",
            f"{ratio:.2f}x ({times[1]:.3f} / {times[0]:.3f} s, {count} preemptions)",
            f"{ratio:.2f}x",
            "<= 2x",
            ratio <= 2,
        )
    )
    print(rows[-1], flush=True)

    million = ("replay", "--jobs", str(j1m), "--nodes", str(nodes10), "--policy", "bestfit", "--json")
    a, b = old.run(*million), new.best(args.repeat, *million)
    rows.append(
        (
            "replay 1M tasks, 12,130 nodes, bestfit: peak RSS",
            f"{a.rss_mb:.0f} MB ({wall(a):.0f} s)",
            f"{b.rss_mb:.0f} MB ({wall(b):.1f} s)",
            f"{b.rss_mb:.0f} MB",
            "<= 750 MB",
            b.rss_mb <= 750,
        )
    )
    print(rows[-1], flush=True)

    per_task = []
    for version in (old, new):
        repeat = 1 if version is old else args.repeat
        small = version.best(
            repeat, "replay", "--jobs", str(short10), "--nodes", str(nodes10), "--policy", "bestfit", "--json"
        )
        large = version.best(
            repeat,
            "replay",
            "--jobs",
            str(short100),
            "--nodes",
            str(nodes100),
            "--policy",
            "bestfit",
            "--json",
        )
        per_task.append((wall(large) / wall(small), wall(small), wall(large)))
    (old_growth, *old_walls), (growth, *walls) = per_task
    rows.append(
        (
            "per-task time, 121,300 vs 12,130 nodes, bestfit",
            f"{old_growth:.2f}x ({old_walls[1]:.1f} / {old_walls[0]:.1f} s)",
            f"{growth:.2f}x ({walls[1]:.2f} / {walls[0]:.2f} s)",
            f"{growth:.2f}x",
            "<= 1.5x",
            growth <= 1.5,
        )
    )
    print(rows[-1], flush=True)

    print(f"\n| figure | {old.label} | {new.label} | result | target | met |\n|---|---|---|---|---|---|")
    for label, before, after, result, target, met in rows:
        print(f"| {label} | {before} | {after} | {result} | {target} | {'yes' if met else 'NO'} |")
    print(
        f"\nwall_s: best of {args.repeat} runs for {new.label}, one run for {old.label}; RSS: that run's peak"
    )


if __name__ == "__main__":
    main()
