"""Reading the columns of a parsed CSV (:mod:`schedlab.trace.csvfile`) strictly: every cell
checked, the first bad one a :class:`TraceError` naming file, line and column.

Numbers must be finite and within bounds that keep every later computation exact; times are
kept exact by rebasing them to an origin before they become floats (see :func:`read_times`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from schedlab.errors import TraceError

#: Largest integer request accepted (milli-cores, MiB, GPUs): far above any machine, and
#: small enough that sums over a million tasks stay exact.
MAX_INT = 2**31 - 1
#: Times (seconds) must stay below this after rebasing: floats are exact integers up to here.
MAX_TIME = 2.0**53
#: The QoS spellings accepted (case-insensitively), as written back; empty = unspecified.
QOS_VALUES = ("LS", "Guaranteed", "BE", "Burstable", "BestEffort")
_QOS = {q.lower(): q for q in QOS_VALUES} | {"": ""}
#: Names (task ids): numpy's variable-width strings, 16 bytes a row up to 15 bytes of text,
#: where a Python string and its pointer take about 70 (a million ids: 15 MB against 70).
NAMES = np.dtypes.StringDType()


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


def read_names(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A column of names, mostly distinct (task ids), stripped, as :data:`NAMES`."""
    names: np.ndarray = frame[col].str.strip().to_numpy(dtype=NAMES)
    return names


def text_column(values: np.ndarray) -> Any:
    """``values`` as pandas holds a column built from Python strings (pandas 3: its
    Arrow-backed ``str``; before: object), built from :data:`NAMES` without a Python string
    per row on the way (pandas would make an object column of them)."""
    if values.dtype == object:
        return values
    if pd.Series([""]).dtype == object:  # pandas 2
        return values.astype(object)
    arrow = pa.array(values, type=pa.large_string())
    return pd.array(arrow, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


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
