"""LLM request traces: arrival times with prompt and output token counts.

Two layouts are read: the Azure LLM inference trace 2023 (``TIMESTAMP``, ``ContextTokens``,
``GeneratedTokens``; Splitwise, ISCA'24) and schedlab's own CSV (``arrival`` in seconds,
``prompt_tokens``, ``output_tokens``). Times start at 0 and are sorted (a stable sort: rows
at the same time keep their order). :meth:`LlmRequests.at_rate` replays the same requests at
another mean rate by scaling the gaps (the burst pattern kept, as ``replay --requests`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schedlab.arrays import FloatArray, IntArray
from schedlab.errors import TraceError
from schedlab.llm.cards import LlmError
from schedlab.trace.columns import read_integers
from schedlab.trace.csvfile import read_csv
from schedlab.workload.requests import azure_seconds, cycled

AZURE = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
NATIVE = ("arrival", "prompt_tokens", "output_tokens")
MAX_TOKENS = 10_000_000


@dataclass(frozen=True)
class LlmRequests:
    """Requests sorted by arrival (s, the first at 0), their prompt and output tokens."""

    arrival: FloatArray
    prompt: IntArray
    output: IntArray
    source: str

    def __len__(self) -> int:
        return len(self.arrival)

    @property
    def period(self) -> float:
        """The trace's span plus one mean gap: ``len / period`` is its mean rate."""
        n = len(self)
        return float(self.arrival[-1]) * n / (n - 1) if n > 1 else 0.0

    @property
    def rate(self) -> float:
        """Mean requests per second."""
        return len(self) / self.period if self.period > 0 else 0.0

    def at_rate(self, rate: float) -> LlmRequests:
        """The same requests with their gaps scaled to a mean of ``rate`` requests/s."""
        if self.period <= 0:
            raise LlmError(f"{self.source}: all requests arrive at once, so the trace has no rate to scale")
        scale = self.rate / rate
        return LlmRequests(self.arrival * scale, self.prompt, self.output, self.source)

    def window(self, rate: float, start: float, life: float, rng: np.random.Generator) -> LlmRequests:
        """The requests of a service of mean ``rate`` in ``[start, start + life)``: the trace
        at that rate, repeated as a cycle (of its period) from a random phase, so that
        services replaying one trace do not see the same burst at once."""
        if rate <= 0 or life <= 0 or self.period <= 0:
            return LlmRequests(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), self.source)
        scaled = self.at_rate(rate)
        times, rows = cycled(scaled.arrival, scaled.period, start, life, rng)
        return LlmRequests(times, self.prompt[rows], self.output[rows], self.source)

    def first(self, seconds: float) -> LlmRequests:
        """The requests arriving in the first ``seconds``."""
        keep = self.arrival < seconds
        return LlmRequests(self.arrival[keep], self.prompt[keep], self.output[keep], self.source)


def load_llm_requests(path: Path) -> LlmRequests:
    """Read an LLM request trace (Azure LLM 2023 CSV or ``arrival,prompt_tokens,output_tokens``)."""
    from schedlab.trace.columns import read_times

    frame = read_csv(path, ())
    if not len(frame):
        raise TraceError(path, 2, None, "no data rows (the file has only a header)")
    if set(AZURE) <= set(frame.columns):
        times = azure_seconds(path, frame)
        prompt_col, output_col = AZURE[1], AZURE[2]
    elif set(NATIVE) <= set(frame.columns):
        times = read_times(path, frame, "arrival")
        missing = np.flatnonzero(np.isnan(times))
        if len(missing):
            raise TraceError(path, int(missing[0]) + 2, "arrival", "missing value")
        prompt_col, output_col = NATIVE[1], NATIVE[2]
    else:
        raise TraceError(
            path, 1, None, f"an LLM request trace has the columns {', '.join(AZURE)} or {', '.join(NATIVE)}"
        )
    prompt = read_integers(path, frame, prompt_col, low=1, high=MAX_TOKENS)
    output = read_integers(path, frame, output_col, low=1, high=MAX_TOKENS)
    order = np.argsort(times, kind="stable")
    times = times[order]
    return LlmRequests(times - times[0], prompt[order], output[order], str(path))
