"""Flags and set-up shared by the ``schedlab llm`` commands that simulate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from schedlab.cli.types import Finite

_TRACE = click.Path(exists=False, dir_okay=False, path_type=Path)


def serving_options(command: Callable[..., None]) -> Callable[..., None]:
    """The flags every simulating command shares: trace, model, rate and batching."""
    options = [
        click.option(
            "--trace",
            "trace_file",
            type=_TRACE,
            required=True,
            help="Request trace: Azure LLM 2023 CSV"
            " (TIMESTAMP, ContextTokens, GeneratedTokens) or arrival,prompt_tokens,output_tokens.",
        ),
        click.option("--model", "model_name", required=True, help="Model card (`schedlab llm cards`)."),
        click.option(
            "--rate",
            type=Finite(min=0, min_open=True),
            help="Replay at this mean rate (requests/s), gaps scaled. [default: the trace's own]",
        ),
        click.option(
            "--duration",
            type=Finite(min=0, min_open=True),
            help="Only the requests of the first SECONDS (after --rate).",
        ),
        click.option(
            "--max-seqs",
            type=click.IntRange(1, 65536),
            default=256,
            show_default=True,
            help="Requests batched at most per iteration (vLLM max_num_seqs).",
        ),
        click.option(
            "--max-batch-tokens",
            type=click.IntRange(1, 10**7),
            default=8192,
            show_default=True,
            help="Tokens per iteration at most (vLLM max_num_batched_tokens; without chunked prefill"
            " at least the model's context).",
        ),
        click.option(
            "--block-size",
            type=click.IntRange(1, 1024),
            default=16,
            show_default=True,
            help="Tokens per KV-cache block.",
        ),
        click.option(
            "--chunked-prefill", is_flag=True, help="Split prompts into chunks batched with decodes."
        ),
        click.option(
            "--memory-fraction",
            type=Finite(min=0, max=1, min_open=True),
            default=0.9,
            show_default=True,
            help="Share of each GPU's memory for weights and KV cache.",
        ),
        click.option(
            "--slo",
            "slo_text",
            default="ttft=500ms,tbt=50ms",
            show_default=True,
            help="Latency targets: ttft=VALUE,tbt=VALUE (ms or s).",
        ),
        click.option(
            "--percentile",
            type=Finite(min=0, max=100, min_open=True),
            default=99.0,
            show_default=True,
            help="The percentile of TTFT and of token gaps the SLO bounds.",
        ),
        click.option(
            "--profile",
            "profile_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="An LLM profile directory (`schedlab profile --llm`): the roofline's efficiencies fitted to"
            " it, for the GPU model it was measured on.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def setup(kw: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """Read the trace and the flags: (requests as in the file, model, batching, slo)."""
    from schedlab.llm.cards import model_card
    from schedlab.llm.requests import load_llm_requests
    from schedlab.llm.serving import Batching, parse_slo

    model = model_card(kw["model_name"])
    slo = parse_slo(kw["slo_text"], kw["percentile"])
    requests = load_llm_requests(kw["trace_file"])
    batching = Batching(
        kw["max_seqs"], kw["max_batch_tokens"], kw["block_size"], kw["chunked_prefill"], kw["memory_fraction"]
    )
    return requests, model, batching, slo


def efficiency_for(kw: dict[str, Any], model: Any, gpu: Any) -> Any:
    """The roofline's efficiencies for ``gpu``: fitted to ``--profile`` when it was measured
    on that GPU model, else the defaults (with a warning when a profile was given)."""
    from schedlab.llm.cards import LlmError
    from schedlab.llm.profiles import card_for_device, fit, load_llm_profile
    from schedlab.llm.roofline import Deployment, Efficiency

    if not kw["profile_dir"]:
        return Efficiency()
    profile = load_llm_profile(kw["profile_dir"])
    if profile.model != model:
        raise LlmError(f"--profile {kw['profile_dir']}: measures {profile.model.name}, not {model.name}")
    measured_on = card_for_device(profile.device)
    if measured_on is None or measured_on.name != gpu.name:
        logging.getLogger(__name__).warning(
            "--profile %s was measured on %s, not %s: the default efficiencies for %s",
            kw["profile_dir"],
            profile.device,
            gpu.name,
            gpu.name,
        )
        return Efficiency()
    return fit(profile, Deployment(model, gpu, 1))


def shaped(requests: Any, rate: float | None, duration: float | None) -> Any:
    """``requests`` replayed at ``rate`` (if given), then cut to the first ``duration`` s."""
    if rate:
        requests = requests.at_rate(rate)
    if duration:
        requests = requests.first(duration)  # the first request arrives at 0: never empty
    return requests


def config_of(kw: dict[str, Any], **extra: Any) -> dict[str, Any]:
    skip = {"as_json", "trace_file", "figure", "formats", "dpi"}
    return {**{k: v for k, v in kw.items() if k not in skip}, "trace": str(kw["trace_file"]), **extra}


def warn_rejected(served: Any, model: Any, said: set[str] | None = None) -> None:
    """One warning line when requests were left out (once per text in ``said``)."""
    if not len(served.rejected):
        return
    text = (
        f"{len(served.rejected)} of {len(served.requests)} requests are longer than {model.name} serves"
        f" (prompt plus output over its {model.max_len}-token context, or more than the KV cache"
        " holds): left out"
    )
    if said is None or text not in said:
        logging.getLogger(__name__).warning("%s", text)
    if said is not None:
        said.add(text)
