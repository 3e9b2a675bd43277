"""``schedlab profile``: measure solo and co-located DNN latency on the local GPU."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from schedlab.cli.common import DIR, print_table, progress_bar
from schedlab.cli.types import SEED, Finite

log = logging.getLogger("schedlab")


@click.command()
@click.option("--out", type=DIR, required=True, help="Profile directory to write (or to go on filling).")
@click.option(
    "--models",
    default="resnet50,mobilenet,vit,bert,gpt2",
    show_default=True,
    help="Inference models (comma-separated): resnet50, mobilenet, vit, bert, gpt2.",
)
@click.option(
    "--batches", default="1,8,32", show_default=True, help="Inference batch sizes (comma-separated)."
)
@click.option(
    "--train",
    default="resnet50/32,bert/16",
    show_default=True,
    help="Training steps to measure, MODEL/BATCH (comma-separated; '' for none).",
)
@click.option(
    "--pairs",
    "groups",
    default="all",
    show_default=True,
    metavar="all|N",
    help="Co-location groups to measure time-sliced: every one, or N drawn at random (seeded).",
)
@click.option(
    "--size",
    type=click.IntRange(2, 8),
    default=2,
    show_default=True,
    help="Members per co-location group (2: pairs; 3 or more: groups to check a model's group rule).",
)
@click.option("--mps", is_flag=True, help="Also measure under NVIDIA MPS at each --mps-pcts SM share.")
@click.option("--mps-pcts", default="100,50,25", show_default=True, help="SM shares (%) for --mps.")
@click.option(
    "--seconds",
    type=Finite(min=0.05, max=600),
    default=1.5,
    show_default=True,
    help="Measured time of each measurement.",
)
@click.option(
    "--warmup",
    type=Finite(min=0, max=600),
    default=0.5,
    show_default=True,
    help="Warm-up of each measurement (co-runners together), not measured.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the --pairs N draw.")
@click.option(
    "--backend",
    type=click.Choice(["torch", "fake"]),
    default="torch",
    show_default=True,
    help="torch: the local CUDA GPU (pip install 'schedlab[profile]'); fake: synthetic latencies, no GPU.",
)
@click.option(
    "--llm",
    "llm_model",
    metavar="MODEL",
    help="Instead: measure an LLM model card's prefill and decode iteration times (random weights;"
    " `schedlab llm cards`); --models, --batches, --train, --pairs, --size and --mps do not apply.",
)
@click.option(
    "--device", default="cuda", show_default=True, help="With --llm and torch: cuda (or cuda:N), or cpu."
)
@click.option(
    "--repeats",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="With --llm: timed runs per shape.",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def profile(
    out: Path,
    models: str,
    batches: str,
    train: str,
    groups: str,
    size: int,
    mps: bool,
    mps_pcts: str,
    seconds: float,
    warmup: float,
    seed: int,
    backend: str,
    llm_model: str | None,
    device: str,
    repeats: int,
    progress: bool,
) -> None:
    """Measure a profile directory on the local GPU: each configuration alone, co-location
    groups time-sliced (one process each, common start, warm-up first), each alone again,
    and with --mps the same under MPS per SM share. Inference runs fp16 as one CUDA graph per
    request; training steps run eager under bf16 autocast. Writes configs.csv,
    measurements.csv, README.md and profile.json in the format of the embedded profiles;
    an interrupted run goes on where it stopped when run again with the same settings.

    With --llm MODEL: times one block and the output head of the model card at each prefill
    and decode shape, writes llm-profile.json and iterations.csv (read by `schedlab llm
    check/simulate/plan --profile`)."""
    if llm_model:
        _profile_llm(out, llm_model, backend, device, repeats, seed, progress)
        return
    from schedlab.cli.types import writable_dir
    from schedlab.profile import FakeBackend, build_plan, parse_specs, run_plan
    from schedlab.profile.backend import Backend
    from schedlab.profile.plan import parse_pcts

    specs = parse_specs(models, batches, train)
    shares = parse_pcts(mps_pcts) if mps else ()
    plan = build_plan(specs, groups, size, shares, seed)
    writable_dir(out)
    settings: dict[str, Any] = {
        "configs": [s.name for s in specs],
        "pairs": groups,
        "size": size,
        "mps_pcts": list(shares),
        "seconds": seconds,
        "warmup": warmup,
        "seed": seed,
        "backend": backend,
    }
    engine: Backend
    if backend == "fake":
        engine = FakeBackend(seed)
    else:
        from schedlab.profile.gpu import TorchBackend

        engine = TorchBackend()
    total = len(plan.measurements)
    log.info(
        "%d configurations, %d measurements of %.1f s (+%.1f s warm-up)", len(specs), total, seconds, warmup
    )
    try:
        with progress_bar(progress) as bar_view:
            bar = bar_view.add_task("profile", total=total)
            ran = run_plan(plan, engine, out, settings, lambda done, _: bar_view.update(bar, completed=done))
    finally:
        engine.close()
    log.info("measured %d of %d measurements; wrote %s", ran, total, out)
    _print_summary(out)


def _print_summary(out: Path) -> None:
    """Solo p50 of each configuration and its median time-sliced slowdown."""
    from rich.table import Table

    from schedlab.interference import load_profiles

    profiles = load_profiles(out)
    table = Table(title=f"profile {out}")
    for column in ("config", "kind", "solo p50 ms", "GPU MiB", "median slowdown time-sliced"):
        table.add_column(column, justify="left" if column in ("config", "kind") else "right")
    for name, config in profiles.configs.items():
        ratios = [v for (a, _), v in profiles.pairs.items() if a == name]
        median = f"{sorted(ratios)[len(ratios) // 2]:.2f}x" if ratios else "-"
        table.add_row(name, config.kind, f"{config.solo['p50_ms']:.3f}", str(config.gpu_mem_mib), median)
    print_table(table)


def _profile_llm(
    out: Path, model: str, backend: str, device: str, repeats: int, seed: int, progress: bool
) -> None:
    from schedlab.cli.types import writable_dir
    from schedlab.llm.cards import model_card
    from schedlab.profile.llm import FakeLlmBackend, LlmBackend, llm_points, measure_llm

    card = model_card(model)
    writable_dir(out)
    engine: LlmBackend
    if backend == "fake":
        engine = FakeLlmBackend(card, seed)
    else:
        from schedlab.profile.llm_torch import TorchLlmBackend

        engine = TorchLlmBackend(card, device, repeats)
    points = llm_points(card)
    settings = {"backend": backend, "device": device, "repeats": repeats, "seed": seed}
    with progress_bar(progress) as bar_view:
        bar = bar_view.add_task(f"profile {card.name}", total=len(points))
        ran = measure_llm(
            card, engine, out, points, settings, lambda done: bar_view.update(bar, completed=done)
        )
    log.info("measured %d of %d iteration shapes of %s; wrote %s", ran, len(points), card.name, out)
    log.info("the roofline against it: schedlab llm check --profile %s", out)
