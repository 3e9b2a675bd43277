"""Progress on long runs: replay draws a bar on a terminal's stderr, never with --json or
--quiet or off a terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a pseudo-terminal")


def stderr_on_a_terminal(*args: str) -> str:
    """Run schedlab with stderr on a pseudo-terminal; return what it wrote there."""
    leader, follower = os.openpty()
    env = os.environ | {"COLUMNS": "160", "TERM": "xterm"}
    done = subprocess.run(
        [sys.executable, "-m", "schedlab", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=300,
        env=env,
        check=False,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_replay_shows_progress_on_a_terminal_only() -> None:
    args = ("replay", "--time-scale", "0.01", "--reference", "--policy", "bestfit")
    shown = stderr_on_a_terminal(*args)
    assert "tasks arrived" in shown and "sim " in shown and "tasks/s" in shown
    assert "tasks arrived" not in stderr_on_a_terminal(*args, "--quiet")
    assert "tasks arrived" not in stderr_on_a_terminal(*args, "--json")
    off = subprocess.run(
        [sys.executable, "-m", "schedlab", *args], capture_output=True, text=True, timeout=300
    )
    assert off.returncode == 0 and "tasks arrived" not in off.stderr
