"""Re-run the quick commands behind the numbers quoted in README.md and docs/*.md and compare.

A number in the docs is checked by a ``check`` comment beside it (invisible when rendered)::

    <!-- check
    schedlab synth --tasks 2000 --load 0.9 --services 0.3 --out {tmp}/mix.csv
    schedlab replay --jobs {tmp}/mix.csv --policy fgd --json => slo_attainment 1.000
    -->

Each line is one ``schedlab`` command, run in order from the repository root (``{tmp}``: a
fresh folder per block). After ``=>`` come pairs ``KEY VALUE``: KEY a path into the command's
JSON output (dots between keys; quote a key with spaces, ``"a b".c``), VALUE the number as the
docs print it: the command's value rounded to as many decimals must equal it. A number
measured by a slow command is marked in the docs with the commit it was measured on instead.

Usage: ``python scripts/check_docs.py [FILE ...]`` (default: README.md and docs/*.md); exit
status 1 when a number no longer reproduces. ``make test`` runs it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- check\n(.*?)-->", re.S)


def lookup(doc: Any, key: str) -> Any:
    """The value at dotted ``key`` (parts may be double-quoted; a list's items by number) of a
    JSON document."""
    for part in re.findall(r'"([^"]*)"|([^.]+)', key):
        name = part[0] or part[1]
        doc = doc[int(name)] if isinstance(doc, list) else doc[name]
    return doc


def check_line(line: str, tmp: str) -> list[str]:
    """Run one command line; the mismatches between its output and the documented values."""
    command, _, expected = line.partition("=>")
    args = shlex.split(command.replace("{tmp}", tmp))
    if args[:1] != ["schedlab"]:
        return [f"not a schedlab command: {command.strip()}"]
    proc = subprocess.run(
        [sys.executable, "-m", "schedlab", *args[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return [f"`{command.strip()}` failed: {proc.stderr.strip()[-300:]}"]
    if not expected.strip():
        return []
    doc = json.loads(proc.stdout)
    words = shlex.split(expected)
    problems = []
    for key, value in zip(words[::2], words[1::2], strict=True):
        decimals = len(value.partition(".")[2])
        got = float(lookup(doc, key))
        if f"{got:.{decimals}f}" != value:
            problems.append(f"`{command.strip()}`: {key} is {got:.{decimals}f}, the docs say {value}")
    return problems


def main() -> int:
    files = [Path(f) for f in sys.argv[1:]] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    problems, checked = [], 0
    for path in files:
        for block in BLOCK.findall(path.read_text(encoding="utf-8")):
            with tempfile.TemporaryDirectory(prefix="schedlab-docs-") as tmp:
                for line in filter(None, (raw.strip() for raw in block.splitlines())):
                    found = check_line(line, tmp)
                    problems += [f"{path.name}: {p}" for p in found]
                    checked += line.count("=>")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"check_docs: {checked} documented commands re-run, {len(problems)} numbers differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
