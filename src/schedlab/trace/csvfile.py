"""Reading input CSV files strictly: every cell checked, every failure one :class:`TraceError`.

Files are UTF-8 (with or without a byte-order mark; LF or CRLF line ends); anything else is
an error naming the file. Large files are parsed in chunks whose text is dropped once parsed.
Numbers must be finite and within bounds that keep every later computation exact; times are
kept exact by rebasing them to an origin before they become floats (see :func:`read_times`).
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
#: Largest integer request accepted (milli-cores, MiB, GPUs): far above any machine, and
#: small enough that sums over a million tasks stay exact.
MAX_INT = 2**31 - 1
#: Times (seconds) must stay below this after rebasing: floats are exact integers up to here.
MAX_TIME = 2.0**53
#: The QoS spellings accepted (case-insensitively), as written back; empty = unspecified.
QOS_VALUES = ("LS", "Guaranteed", "BE", "Burstable", "BestEffort")
_QOS = {q.lower(): q for q in QOS_VALUES} | {"": ""}


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


def line(frame: pd.DataFrame, i: int) -> int:
    """The file line of the ``i``-th row of ``frame`` (the header is line 1)."""
    return int(frame.index[i]) + 2


def _first(path: Path, frame: pd.DataFrame, col: str, bad: np.ndarray, why: str) -> None:
    """Raise for the first row flagged in ``bad`` (``why`` may use ``{text}``)."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(frame, i), col, why.format(text=frame[col].iloc[i].strip()))


def read_caps(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """An anti-affinity cap column: -1 (no cap; also an empty cell) or a positive whole number."""
    raw = frame[col].str.strip().replace("", "-1")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.floor(values)) | (values < -1) | (values == 0)
    _first(path, frame, col, bad, "expected -1 or a positive whole number: '{text}'")
    return values.astype(np.int64)


def read_integers(
    path: Path, frame: pd.DataFrame, col: str, *, low: int = 0, high: int = MAX_INT
) -> np.ndarray:
    """Parse a required column of integers, each within ``low..high``."""
    raw = frame[col].str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    _first(path, frame, col, (raw == "").to_numpy(), "missing value")
    finite = np.isfinite(values)
    _first(path, frame, col, ~finite, "not an integer: '{text}'")
    _first(path, frame, col, values != np.floor(values), "not an integer: '{text}'")
    _first(path, frame, col, values < low, ("negative request" if low == 0 else f"below {low}") + ": {text}")
    _first(path, frame, col, values > high, f"must be at most {high}: " + "{text}")
    return values.astype(np.int64)


def read_times(path: Path, frame: pd.DataFrame, col: str, origin: int = 0) -> np.ndarray:
    """Parse an optional column of times in seconds, minus ``origin``; empty cells become NaN.

    A column of integers is rebased exactly (as 64-bit integers) before it becomes floats,
    so timestamps in nanoseconds since the epoch keep every digit. A time must be finite and
    not negative, and below 2^53 once rebased (floats hold every integer up to there).
    """
    values = np.full(len(frame), np.nan)
    if col not in frame.columns:
        return values
    raw = frame[col].str.strip()
    given = (raw != "").to_numpy()
    numbers = pd.to_numeric(raw[given], errors="coerce")
    floats = numbers.to_numpy(dtype=np.float64)
    at = np.flatnonzero(given)  # row of each parsed value

    def first(bad: np.ndarray, why: str) -> None:
        if bad.any():
            rows = np.zeros(len(frame), dtype=bool)
            rows[at[bad]] = True
            _first(path, frame, col, rows, why)

    first(np.isnan(floats), "not a number: '{text}'")
    first(np.isinf(floats), "not a finite time: '{text}'")
    first(floats < 0, "negative time: {text}")
    if pd.api.types.is_integer_dtype(numbers.dtype):
        values[given] = (numbers.to_numpy(dtype=np.int64) - origin).astype(np.float64)
    else:
        values[given] = floats - origin
    first(np.abs(values[given]) >= MAX_TIME, "time {text} is beyond float precision (2^53): give integers")
    return values


def time_origin(frame: pd.DataFrame, col: str) -> int:
    """An exact integer origin for the times of ``col``: the smallest value in ``frame``
    (the first chunk of a file), rounded down; 0 when the column is absent or unreadable."""
    if col not in frame.columns:
        return 0
    raw = frame[col].str.strip()
    numbers = pd.to_numeric(raw[raw != ""], errors="coerce")
    if not len(numbers) or numbers.isna().any():
        return 0
    if pd.api.types.is_integer_dtype(numbers.dtype):
        return max(int(numbers.min()), 0)
    low = float(numbers.min())
    return int(np.floor(low)) if 0 <= low < MAX_TIME else 0


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


def read_numbers(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """An optional column of finite numbers >= 0; empty cells NaN."""
    raw = frame[col].str.strip()
    given = (raw != "").to_numpy()
    values = np.full(len(frame), np.nan)
    values[given] = pd.to_numeric(raw[given], errors="coerce").to_numpy(dtype=np.float64)
    _first(path, frame, col, given & ~(np.isfinite(values) & (values >= 0)), "not a number >= 0: '{text}'")
    return values


def read_positive(path: Path, frame: pd.DataFrame, col: str) -> np.ndarray:
    """An optional column of positive finite numbers; empty cells (and a missing column) NaN."""
    values = np.full(len(frame), np.nan)
    if col not in frame.columns:
        return values
    raw = frame[col].str.strip()
    given = (raw != "").to_numpy()
    values[given] = pd.to_numeric(raw[given], errors="coerce").to_numpy(dtype=np.float64)
    _first(
        path, frame, col, given & ~(np.isfinite(values) & (values > 0)), "must be a positive number: '{text}'"
    )
    return values


def read_strings(frame: pd.DataFrame, col: str) -> np.ndarray:
    """An optional column of text (stripped; empty where missing). Equal values share one
    string object, so a million rows of a few QoS classes cost a million pointers."""
    if col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    codes, uniques = pd.factorize(frame[col].str.strip())
    values = np.asarray(uniques, dtype=object)
    result: np.ndarray = values[codes] if len(values) else np.full(len(frame), "", dtype=object)
    return result


def read_qos(path: Path, frame: pd.DataFrame, col: str = "qos") -> np.ndarray:
    """An optional QoS column: the documented spellings (any case) as written in
    :data:`QOS_VALUES`; anything else is an error."""
    values = read_strings(frame, col)
    codes, uniques = pd.factorize(values)
    canonical = []
    for value in uniques:
        name = _QOS.get(str(value).lower())
        if name is None:
            i = int(np.flatnonzero(values == value)[0])
            known = ", ".join(QOS_VALUES)
            raise TraceError(path, line(frame, i), col, f"unknown QoS '{value}' (known: {known}, or empty)")
        canonical.append(name)
    result: np.ndarray = np.asarray(canonical, dtype=object)[codes] if len(codes) else values
    return result


def check_unique(path: Path, names: np.ndarray, col: str, what: str) -> None:
    """Every value of ``names`` (the column ``col``, row i on file line i + 2) must be unique."""
    if len(set(names.tolist())) == len(names):  # a set: a tenth of the memory of a pandas hash table
        return
    series = pd.Series(names)
    dup = series.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((series == series.iloc[i]).to_numpy())[0])
        raise TraceError(path, i + 2, col, f"duplicate {what} '{names[i]}' (first on line {first + 2})")
