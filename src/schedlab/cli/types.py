"""Option types and checks shared by the commands: finite numbers within bounds, seeds, and
output locations that are checked before any work starts."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from schedlab.errors import ConfigError

#: Seeds: numpy takes any non-negative integer; this bound keeps them one machine word.
SEED = click.IntRange(0, 2**63 - 1)


class Finite(click.FloatRange):
    """A float within a range that must also be finite (no ``nan``, no ``inf``)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def writable_dir(path: Path, flag: str = "--out") -> Path:
    """Create ``path`` (a folder) if needed and check that files can be written in it;
    a :class:`ConfigError` naming the flag otherwise. Run before any computation."""
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{flag} {path}: {parent} is a file, not a folder")
        if parent.exists():
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".schedlab-check-"):
            pass
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot write there ({err.strerror or err})") from None
    return path


def writable_file(path: Path, flag: str = "--out") -> Path:
    """Check that the file ``path`` can be written (its folder is created if needed)."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder, not a file")
    writable_dir(path.parent if str(path.parent) else Path("."), flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {path}: cannot write there (permission denied)")
    return path
