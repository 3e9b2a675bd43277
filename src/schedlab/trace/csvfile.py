"""Reading input CSV files strictly: every cell checked, every failure one :class:`TraceError`.

Files are UTF-8 (with or without a byte-order mark; LF or CRLF line ends); anything else is
an error naming the file. Large files are parsed in chunks whose text is dropped once parsed.
The cells of a parsed file are read column by column in :mod:`schedlab.trace.columns`.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from schedlab.errors import TraceError

#: Rows parsed at a time from large files (their text is dropped once parsed).
CHUNK_ROWS = 1 << 18


def read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a whole CSV as strings, checking that it parses and has the required columns."""
    with as_trace_errors(path):
        frame = _read(path, None)
    return _checked_columns(path, frame, required)


def _read(path: Path, rows: int | None, names: Sequence[str] | None = None) -> Any:
    """The CSV reader: every cell as text; UTF-8 only (a byte-order mark is dropped); with
    ``names``, a file without a header row."""
    return pd.read_csv(
        path,
        header=None if names is not None else "infer",
        names=list(names) if names is not None else None,
        dtype=str,
        keep_default_na=False,
        skipinitialspace=True,
        encoding="utf-8-sig",
        encoding_errors="strict",
        chunksize=rows,
        index_col=False,  # a row with extra fields is an error (below), never an index
    )


def read_csv_chunks(path: Path, required: Sequence[str], rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Read a CSV as strings in chunks of ``rows`` (each frame's index is its row number in
    the file), checking that it parses and has the required columns. A file with a header
    and no row is an error: there is nothing to simulate."""
    with as_trace_errors(path):
        reader = _read(path, rows)
    yielded = False
    with reader:
        while True:
            with as_trace_errors(path):
                frame = next(reader, None)
            if frame is None or not len(frame):
                break
            yield _checked_columns(path, frame, required)
            yielded = True
    if not yielded:
        read_csv(path, required)  # a missing column is the better message
        raise TraceError(path, 2, None, "no data rows (the file has only a header)")


@contextlib.contextmanager
def as_trace_errors(path: Path) -> Iterator[None]:
    """Turn the CSV reader's failures into one :class:`TraceError` naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield
    except pd.errors.ParserWarning:
        raise TraceError(path, _long_row(path), None, "the row has more fields than the header") from None
    except FileNotFoundError:
        raise TraceError(path, 0, None, "file not found") from None
    except IsADirectoryError:
        raise TraceError(path, 0, None, "is a directory, not a file") from None
    except PermissionError:
        raise TraceError(path, 0, None, "permission denied") from None
    except pd.errors.EmptyDataError:
        raise TraceError(path, 1, None, "file is empty (no header line)") from None
    except UnicodeDecodeError as err:
        raise TraceError(
            path, 0, None, f"not UTF-8 text (byte {err.start}: {err.reason}); save the file as UTF-8"
        ) from None
    except (pd.errors.ParserError, ValueError) as err:
        raise TraceError(path, _parser_line(str(err)), None, f"not valid CSV: {err}") from None


def _checked_columns(path: Path, frame: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    names = list(frame.columns)
    for col in names:  # the reader renames a repeated column "a" to "a.1"
        stem, _, suffix = col.rpartition(".")
        if (suffix.isdigit() and stem in names) or names.count(col) > 1:
            raise TraceError(path, 1, stem or col, "column appears twice in the header")
    for col in required:
        if col not in frame.columns:
            have = ", ".join(frame.columns)
            raise TraceError(path, 1, col, f"required column is missing (header has: {have})")
    return frame


def _long_row(path: Path) -> int:
    """The line of the first row with more fields than the header (0 if none is found)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f)
        width = len(next(rows, []))
        for row in rows:
            if len(row) > width:
                return rows.line_num
    return 0


def _parser_line(message: str) -> int:
    """The line number pandas reports in a parser error, or 0 when it gives none."""
    words = message.replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "line" and words[i + 1].isdigit():
            return int(words[i + 1])
    return 0


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join the columns parsed from each chunk (emptying ``parts`` column by column, so that
    the peak holds one column twice, not all of them)."""
    columns = {}
    for name in list(parts[0]):
        columns[name] = np.concatenate([part.pop(name) for part in parts])
    return columns


def release_memory() -> None:
    """Give the memory freed after parsing a large file back to the operating system: the
    CSV parser's arrow buffers, and the C heap where it is glibc's (a million-row job file
    would otherwise keep a few hundred MB for the rest of the run)."""
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)


def read_headerless(path: Path, names: Sequence[str]) -> pd.DataFrame:
    """Read a CSV without a header row (as text, like :func:`read_csv`), naming its columns
    ``names``; :func:`line` still gives each row's file line (the first row is line 1)."""
    with as_trace_errors(path):
        frame: pd.DataFrame = _read(path, None, names)
    frame.index = frame.index - 1
    return frame


def read_rows(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """:func:`read_csv`, refusing a file with a header and no rows."""
    frame = read_csv(path, required)
    if not len(frame):
        raise TraceError(path, 2, None, "no data rows (the file has only a header)")
    return frame
