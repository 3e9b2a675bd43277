"""Errors raised by schedlab.

The hierarchy::

    SchedlabError            any error schedlab raises on purpose; the CLI prints it, no traceback
    ├── TraceError           a malformed input file: names the file, the line and the field
    └── ConfigError          a bad option or configuration value (unknown policy, bad seed list, ...)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError", "SchedlabError", "TraceError"]


class SchedlabError(Exception):
    """Base class of every error schedlab raises deliberately."""


class TraceError(SchedlabError):
    """A malformed trace file. ``line`` is 1-based and counts the header as line 1."""

    def __init__(self, path: str | Path, line: int, field: str | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = f"{self.path}:{line}"
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")


class ConfigError(SchedlabError):
    """A bad option or configuration value."""
