"""``schedlab llm``: LLM serving replicas at token level, and capacity plans against SLOs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import print_table
from schedlab.cli.llm_options import config_of, efficiency_for, serving_options, setup, shaped, warn_rejected
from schedlab.cli.llm_plan import plan


@click.group()
def llm() -> None:
    """LLM inference: model and GPU cards, a token-level simulator of continuously batched
    replicas (vLLM's scheduling, KV-cache blocks, preemption) and capacity planning against
    TTFT/TBT SLOs. See docs/llm.md."""


@llm.command()
def cards() -> None:
    """The built-in model cards and GPU cards."""
    from rich.table import Table

    from schedlab.llm.cards import GPUS, MODELS

    models = Table(title="model cards (FP16/BF16 weights)")
    for column in (
        "model",
        "parameters",
        "layers",
        "hidden",
        "heads / KV heads",
        "MLP",
        "context",
        "weights",
        "KV per token",
    ):
        models.add_column(column, justify="left" if column == "model" else "right")
    for m in MODELS.values():
        models.add_row(
            m.name,
            f"{m.params / 1e9:.2f} B",
            str(m.layers),
            str(m.hidden),
            f"{m.heads} / {m.kv_heads}",
            str(m.mlp),
            str(m.max_len),
            f"{m.weight_bytes / 1e9:.1f} GB",
            f"{m.kv_bytes_per_token / 1024:.0f} KiB",
        )
    print_table(models)
    gpus = Table(title="GPU cards (data-sheet peaks, dense)")
    for column in ("GPU", "FP16/BF16", "memory bandwidth", "memory", "link per direction", "also called"):
        gpus.add_column(column, justify="left" if column in ("GPU", "also called") else "right")
    for g in GPUS.values():
        gpus.add_row(
            g.name,
            f"{g.flops / 1e12:g} TFLOP/s",
            f"{g.bandwidth / 1e9:g} GB/s",
            f"{g.memory / 1e9:g} GB",
            f"{g.link / 1e9:g} GB/s",
            ", ".join(g.aliases),
        )
    print_table(gpus)
    print(
        "One MIG instance of an A100, H100 or H200: MODEL/PROFILE (e.g. A100-80GB/3g.40gb): its"
        " share of the compute and memory slices, its own memory, one instance per replica."
    )


@llm.command()
@serving_options
@click.option(
    "--gpu",
    "gpu_name",
    required=True,
    help="GPU model (`schedlab llm cards`; node-list names work; MODEL/PROFILE: one MIG instance).",
)
@click.option(
    "--tp",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="GPUs per replica (tensor parallel, one node).",
)
@click.option("--replicas", type=click.IntRange(1, 100_000), default=1, show_default=True, help="Replicas.")
def simulate(**kw: Any) -> None:
    """Serve a request trace on REPLICAS replicas, token by token: TTFT, TBT, latency,
    throughput, KV-cache use, preemptions and the SLO."""
    from schedlab.files import dumps
    from schedlab.llm.cards import gpu_card
    from schedlab.llm.roofline import Deployment
    from schedlab.llm.serving import serve
    from schedlab.provenance import inputs, stamp

    raw, model, batching, slo = setup(kw)
    requests = shaped(raw, kw["rate"], kw["duration"])
    gpu = gpu_card(kw["gpu_name"])
    deployment = Deployment(model, gpu, kw["tp"], efficiency_for(kw, model, gpu))
    served = serve(requests, deployment, kw["replicas"], batching)
    warn_rejected(served, model)
    doc = served.summary(slo)
    if kw["as_json"]:
        click.echo(dumps(doc | stamp(config_of(kw), inputs({"trace": kw["trace_file"]})), indent=2))
        return
    _print_served(
        doc, f"{model.name}, {kw['replicas']} replicas of {kw['tp']} {deployment.gpu.name}", requests.rate
    )


def _print_served(doc: dict[str, Any], title: str, rate: float) -> None:
    from rich.table import Table

    table = Table(
        title=f"{title}: {doc['served']} of {doc['requests']} requests at {rate:.3g}/s; milliseconds"
    )
    for column in ("latency", "mean", "p50", "p90", "p99"):
        table.add_column(column, justify="left" if column == "latency" else "right")
    for key, name in (
        ("ttft_s", "TTFT"),
        ("tbt_s", "TBT (token gaps)"),
        ("tpot_s", "TPOT (per request)"),
        ("e2e_s", "end to end"),
    ):
        table.add_row(name, *(f"{doc[key][q] * 1000:,.1f}" for q in ("mean", "p50", "p90", "p99")))
    print_table(table)
    click.echo(
        f"{doc['tokens_per_s']:,.1f} output tokens/s; replicas busy {doc['busy_frac_mean']:.1%};"
        f" KV cache use mean {doc['kv_use_mean']:.1%}, peak {doc['kv_use_peak']:.1%};"
        f" preemptions {doc['preemptions']}; {doc['iterations']:,} iterations"
    )
    slo = doc["slo"]
    verdict = "met" if slo["met"] else "NOT met"
    click.echo(
        f"SLO ttft={slo['ttft'] * 1000:g}ms,tbt={slo['tbt'] * 1000:g}ms at p{slo['percentile']:g}: {verdict}"
        f" (TTFT {slo['ttft_at_percentile_s'] * 1000:,.1f} ms,"
        f" TBT {slo['tbt_at_percentile_s'] * 1000:,.1f} ms);"
        f" {slo['attainment']:.1%} of requests within it"
    )


@llm.command()
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="An LLM profile directory (`schedlab profile --llm`).",
)
@click.option(
    "--operators",
    "operators_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Or a Vidur kernel profile (its mlp.csv): times of each kernel of a layer outside attention,"
    " measured on a real GPU (give --gpu).",
)
@click.option("--gpu", "gpu_name", help="GPU card to compare with. [default: the one it was measured on]")
@click.option(
    "--model",
    "model_name",
    help="Model card of --operators. [default: the built-in card with the block's shape]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the errors as JSON.")
def check(
    profile_dir: Path | None,
    operators_file: Path | None,
    gpu_name: str | None,
    model_name: str | None,
    as_json: bool,
) -> None:
    """How far the roofline is from measured times: median and p90 of |predicted /
    measured - 1|, with the default efficiencies, fitted to every point, and fitted to the
    other points only (5 folds: the error to expect at shapes not measured). With --profile:
    of whole iterations, for prefill, decode and all shapes; with --operators: of one
    layer's kernels outside attention (the block's matrices, norms, activation), per
    tensor-parallel degree."""
    from schedlab.errors import ConfigError
    from schedlab.files import dumps
    from schedlab.llm.cards import LlmError, gpu_card, model_card
    from schedlab.llm.roofline import Deployment
    from schedlab.provenance import stamp

    if (profile_dir is None) == (operators_file is None):
        raise ConfigError("give one of --profile DIR or --operators FILE")
    if operators_file is not None:
        from schedlab.llm.operators import load_operators, operator_errors

        if gpu_name is None:
            raise ConfigError("--operators needs --gpu (the file does not name its GPU)")
        gpu = gpu_card(gpu_name)
        ops = load_operators(operators_file, model_card(model_name) if model_name else None)
        doc = operator_errors(ops, gpu)
        config = {"operators": str(operators_file), "model": ops.model.name, "gpu": gpu.name}
        title = (
            f"{ops.model.name}: {doc['points']} measured layers (kernels outside attention), card {gpu.name}"
        )
        unit = " (a share per layer)"
    else:
        from schedlab.llm.profiles import card_for_device, errors, load_llm_profile

        assert profile_dir is not None
        profile = load_llm_profile(profile_dir)
        found = gpu_card(gpu_name) if gpu_name else card_for_device(profile.device)
        if found is None:
            raise LlmError(
                f"--profile {profile_dir}: measured on '{profile.device}', which has no GPU card: give --gpu"
            )
        gpu = found
        doc = errors(profile, Deployment(profile.model, gpu, 1))
        config = {"profile": str(profile_dir), "model": profile.model.name, "gpu": gpu.name}
        config["device"] = profile.device
        title = f"{profile.model.name} on {profile.device}: {doc['points']} measured shapes, card {gpu.name}"
        unit = ""
    if as_json:
        click.echo(dumps(doc | stamp(config, {}), indent=2))
        return
    click.echo(title)
    _print_errors(doc, unit)


def _print_errors(doc: dict[str, Any], unit: str) -> None:
    from rich.table import Table

    groups = [g for g in doc["default"] if g != "all"] + ["all"]
    table = Table(title="roofline against the measured times: |predicted / measured - 1|")
    table.add_column("efficiencies")
    for group in groups:
        table.add_column(f"{group} median", justify="right")
        table.add_column("p90", justify="right")
    names = {
        "default": "default (0.7, 0.8)",
        "fitted": "fitted",
        "cross_validated": "fitted, held out (5 folds)",
    }
    for key, label in names.items():
        cells = []
        for group in groups:
            stats = doc[key].get(group)
            cells += [f"{stats['median']:.1%}", f"{stats['p90']:.1%}"] if stats else ["-", "-"]
        table.add_row(label, *cells)
    print_table(table)
    fitted = doc["efficiencies"]
    click.echo(
        f"fitted: compute {fitted['compute']:.3f} of the tensor peak, memory {fitted['memory']:.3f} of the"
        f" bandwidth, {fitted['launch_s'] * 1000:.3f} ms of launches per iteration{unit}"
    )


llm.add_command(plan)
