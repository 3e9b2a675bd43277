"""What the comparison benchmarks share: running one schedlab source tree's CLI in its own
process (its JSON document, wall time and peak RSS), older commits' sources, and inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODES = ROOT / "src" / "schedlab" / "data" / "openb_node_list_gpu_node.csv"


@dataclass(frozen=True)
class Run:
    """What one command reported: its JSON document, the process's peak RSS in MB and its
    time from start to exit in seconds."""

    doc: dict[str, Any]
    rss_mb: float
    process_s: float

    @property
    def wall(self) -> float:
        """The ``wall_s`` the command reported (fill: of its first run)."""
        doc = self.doc
        return float(doc["runs"][0]["wall_s"] if "runs" in doc else doc["wall_s"])


class Version:
    """One schedlab source tree, run as ``python -c 'from schedlab.cli import main; main()'``."""

    def __init__(self, label: str, src: Path) -> None:
        self.label = label
        self.src = src

    def run(self, *args: str, parse: bool = True) -> Run:
        # bytecode cached as in an installed package (some sandboxes set PYTHONDONTWRITEBYTECODE,
        # which makes every process compile schedlab's modules again: 0.1-0.2 s)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = str(self.src)
        command = [sys.executable, "-c", "from schedlab.cli import main; main()", *args]
        with tempfile.TemporaryFile() as out:
            began = time.perf_counter()
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env, cwd=self.src)
            _, status, usage = os.wait4(proc.pid, 0)
            took = time.perf_counter() - began
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{self.label}: schedlab {' '.join(args)} failed")
            out.seek(0)
            text = out.read().decode()
        return Run(json.loads(text) if parse else {}, usage.ru_maxrss / 1024, took)

    def best(self, repeat: int, *args: str) -> Run:
        """The run with the least ``wall_s`` out of ``repeat``."""
        return min((self.run(*args) for _ in range(repeat)), key=lambda run: run.wall)

    def quickest(self, repeat: int, *args: str) -> Run:
        """The run with the least time from process start to exit out of ``repeat``."""
        return min((self.run(*args) for _ in range(repeat)), key=lambda run: run.process_s)


def extract(commit: str, dest: Path) -> Path:
    """The ``src`` folder of ``commit``, unpacked under ``dest``."""
    if not (dest / commit / "src").exists():
        archive = dest / f"{commit}.tar"
        with archive.open("wb") as out:
            subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, stdout=out, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(dest / commit, filter="data")
    return dest / commit / "src"


def repeated_nodes(copies: int, path: Path, gpus_per_node: int = 0) -> Path:
    """The openb GPU node list ``copies`` times, node names suffixed ``#i``; with
    ``gpus_per_node``, every node has that many GPUs (and CPU and memory scaled alike)."""
    if not path.exists():
        header, *rows = NODES.read_text().splitlines()
        lines = [header]
        for i in range(copies):
            for row in rows:
                name, cpu, mem, gpus, model = row.split(",")
                if gpus_per_node:
                    factor = gpus_per_node / int(gpus)
                    cpu, mem, gpus = (
                        str(int(int(cpu) * factor)),
                        str(int(int(mem) * factor)),
                        str(gpus_per_node),
                    )
                lines.append(",".join((f"{name}#{i}", cpu, mem, gpus, model)))
        path.write_text("\n".join(lines) + "\n")
    return path


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """``rows`` as a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
