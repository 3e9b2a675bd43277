"""Azure LLM inference trace 2023 (``AzureLLMInferenceTrace_*.csv``, Splitwise, ISCA'24):
request arrivals with token counts, for inference services (``replay --requests``; see
:mod:`schedlab.workload.requests`). ``trace inspect`` reports its requests, span, rate and
token counts; it is not a job table."""

from __future__ import annotations

from schedlab.formats.base import Format, register
from schedlab.workload.requests import load_request_trace

COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")

register(
    Format(
        "azure-llm-2023",
        "requests",
        "Azure LLM inference requests 2023",
        lambda peek: set(COLUMNS) <= peek.columns,
        load_request_trace,
        "one request per row at TIMESTAMP (replay --requests scales the stream to each service's rate)",
    )
)
