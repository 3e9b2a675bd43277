"""Request arrivals of inference services: Poisson, or replayed from a request trace.

A request trace is read from the Azure LLM inference format (a CSV with a ``TIMESTAMP``
column, as in ``AzureLLMInferenceTrace_conv.csv``; other columns are ignored) or from a plain
file of one arrival time in seconds per line. It is replayed as a cycle: its period is its
span plus one mean gap, so that its mean rate stays ``n / period`` across the seam. A
service of rate r replays the cycle with its times scaled to rate r (the burst pattern
kept, stretched or compressed), from a seeded random phase per service, so that services
do not see the same burst at the same time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.arrays import FloatArray, IntArray
from schedlab.errors import TraceError
from schedlab.trace.columns import line
from schedlab.trace.csvfile import read_csv

#: A request trace must hold at least this many arrivals to define a rate.
MIN_REQUESTS = 2


@dataclass(frozen=True)
class RequestTrace:
    """Arrival times (s, from 0, sorted) and the cycle period (s) of a request trace."""

    times: FloatArray
    period: float
    source: str

    @property
    def rate(self) -> float:
        """Mean arrivals per second."""
        return len(self.times) / self.period

    def arrivals(self, rate: float, start: float, life: float, rng: np.random.Generator) -> FloatArray:
        """Arrival times in ``[start, start + life)`` of a service of mean ``rate`` (rps)."""
        if rate <= 0 or life <= 0:
            return np.empty(0)
        scale = self.rate / rate
        return cycled(self.times * scale, self.period * scale, start, life, rng)[0]


def cycled(
    times: FloatArray, period: float, start: float, life: float, rng: np.random.Generator
) -> tuple[FloatArray, IntArray]:
    """``times`` (sorted, within one ``period``) repeated as a cycle from a seeded random
    phase: the arrivals in ``[start, start + life)``, and the index in ``times`` of each."""
    phase = float(rng.uniform(0.0, period))
    cycles = np.arange(math.floor(phase / period), math.ceil((phase + life) / period) + 1)
    tiled = (times[None, :] + cycles[:, None] * period).ravel()
    keep = (tiled >= phase) & (tiled < phase + life)
    rows: IntArray = np.tile(np.arange(len(times)), len(cycles))[keep]
    return start + (tiled[keep] - phase), rows


def poisson_arrivals(rate: float, start: float, life: float, rng: np.random.Generator) -> FloatArray:
    """Poisson arrivals of mean ``rate`` (rps) in ``[start, start + life)``."""
    count = int(rng.poisson(rate * life))
    return np.sort(rng.uniform(start, start + life, count))


def load_request_trace(path: Path) -> RequestTrace:
    """Read a request trace: Azure LLM CSV (``TIMESTAMP`` column) or one time (s) per line."""
    try:
        with path.open("rb") as f:
            head = f.readline().decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise TraceError(path, 0, None, "file not found") from None
    except OSError as err:
        raise TraceError(path, 0, None, f"cannot read it ({err.strerror or err})") from None
    times = _azure_times(path) if "timestamp" in head.lower() else _plain_times(path)
    if len(times) < MIN_REQUESTS:
        raise TraceError(path, 0, None, f"a request trace needs at least {MIN_REQUESTS} arrivals")
    times = np.sort(times)
    times -= times[0]
    span = float(times[-1])
    if span <= 0:
        raise TraceError(path, 0, None, "all arrivals are at the same time: the trace has no rate")
    period = span * len(times) / (len(times) - 1)
    return RequestTrace(times, period, str(path))


def _azure_times(path: Path) -> FloatArray:
    return azure_seconds(path, read_csv(path, ("TIMESTAMP",)))


def azure_seconds(path: Path, frame: pd.DataFrame) -> FloatArray:
    """The ``TIMESTAMP`` column of an Azure LLM trace as seconds after its earliest row."""
    raw = frame["TIMESTAMP"].str.strip()
    stamps = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(path, line(frame, i), "TIMESTAMP", f"not a date and time: '{raw.iloc[i]}'")
    nanoseconds = stamps.astype("datetime64[ns]").astype("int64").to_numpy()  # whatever unit pandas read
    seconds: FloatArray = (nanoseconds - nanoseconds.min()).astype(np.float64) / 1e9
    return seconds


def _plain_times(path: Path) -> FloatArray:
    """One arrival time (s) per line; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise TraceError(path, 0, None, f"not UTF-8 text ({err.reason})") from None
    values = []
    for number, raw in enumerate(text.splitlines(), start=1):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or abs(value) > 2.0**53:
            raise TraceError(path, number, "time", f"not a finite number of seconds: '{item}'")
        values.append(value)
    return np.array(values, dtype=np.float64)
