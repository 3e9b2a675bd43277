"""The options of ``schedlab replay`` (kept apart from the command's body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from schedlab.cli.common import (
    DIR,
    INTERFERENCE,
    JOBS_HELP,
    NODES_HELP,
    PATH,
    PODS_HELP,
    figure_flags,
    sharing_options,
)
from schedlab.cli.replay_mig_options import MIG_OPTIONS
from schedlab.cli.types import SEED, Finite

OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--pods", type=PATH, help=PODS_HELP),
    click.option("--jobs", type=PATH, help=JOBS_HELP),
    click.option("--nodes", type=PATH, help=NODES_HELP),
    click.option(
        "--policy",
        default="fgd",
        show_default=True,
        help="Placement policy: fgd, bestfit, packing, dotprod, clustering, random, slo-aware"
        " (keeps inference services within their SLOs), or a name a --plugin registers.",
    ),
    click.option(
        "--queue",
        default="fifo",
        show_default=True,
        help="Queue policy: fifo, sjf, sjf-est, qos, drf (fair share).",
    ),
    click.option(
        "--quotas",
        type=PATH,
        help="CSV user,weight: fair-share weights for --queue drf (users not listed weigh 1).",
    ),
    click.option(
        "--admission",
        default="backfill",
        show_default=True,
        help="Admission policy: backfill (start any waiting task that fits) or strict.",
    ),
    click.option(
        "--reserve-after",
        type=Finite(min=0, max=1e12),
        help="Starvation guard for backfill: a task that has waited this many seconds goes first"
        " (within its queue tier), gets a reservation that later tasks may not delay, and is not"
        " preempted once it runs (docs/replay.md).",
    ),
    click.option(
        "--evict-starved",
        is_flag=True,
        help="With --reserve-after: a task that starved may still be preempted once it runs"
        " (by default it is spared: a firmer bound on its wait, more waiting and preemptions for"
        " others).",
    ),
    click.option("--strict", is_flag=True, help="Head-of-line blocking: the same as --admission strict."),
    click.option(
        "--preemption",
        default="none",
        show_default=True,
        help="Preemption policy: none, or ls-over-be (latency-sensitive tasks may evict best-effort ones).",
    ),
    click.option("--preempt", is_flag=True, help="The same as --preemption ls-over-be."),
    click.option(
        "--victim", default="least-lost", show_default=True, help="Victim policy: least-lost or newest."
    ),
    click.option(
        "--time-scale",
        type=Finite(min=0, max=1e12, min_open=True),
        help="Multiply the inter-arrival times by X (< 1 compresses: more load; run times unchanged).",
    ),
    click.option(
        "--target-load",
        type=Finite(min=0, max=1000, min_open=True),
        help="Choose the time scale that offers L x the cluster's GPU capacity (printed).",
    ),
    click.option(
        "--warm-start/--cold-start",
        default=None,
        help="Begin in the workload's steady state at its offered load: tasks of its own mix already"
        " running (residual run times; queued above load 1), not measured. [default: warm with"
        " --target-load, else cold]",
    ),
    click.option(
        "--node-events",
        type=PATH,
        help="CSV time,node,event (fail, drain, repair, add): nodes leaving and joining (docs/replay.md).",
    ),
    click.option(
        "--mtbf",
        type=Finite(min=0, max=1e9, min_open=True),
        help="Random node failures: mean hours between failures of each node (seeded by --seed).",
    ),
    click.option(
        "--mttr",
        type=Finite(min=0, max=1e9, min_open=True),
        default=4.0,
        show_default=True,
        help="Mean hours to repair a failed node (with --mtbf).",
    ),
    *MIG_OPTIONS,
    click.option(
        "--defrag",
        default="none",
        show_default=True,
        help="Defragmentation: a descheduling step moves running tasks off nodes"
        " (checkpoint and restart) so that the task or gang at the head of the queue fits:"
        " least-moved (fewest GPUs moved) or fgd (the most fragmented node first) (docs/sharing.md).",
    ),
    click.option(
        "--defrag-every",
        type=Finite(min=0, max=1e9, min_open=True),
        default=300.0,
        show_default=True,
        help="Seconds between descheduling steps (while tasks wait).",
    ),
    click.option(
        "--defrag-moves",
        type=click.IntRange(min=1, max=1_000_000),
        default=12,
        show_default=True,
        help="The budget: at most this many moves in any hour.",
    ),
    click.option(
        "--defrag-cost",
        type=Finite(min=0, max=1e9),
        default=60.0,
        show_default=True,
        help="Seconds each move costs the moved task (checkpoint and restart; its work is kept).",
    ),
    click.option(
        "--defrag-above",
        type=Finite(min=0, max=100),
        default=0.0,
        show_default=True,
        help="Move only while FGD's measure counts at least this % of the free GPU capacity unusable"
        " (0: whenever a waiting task would fit after a move).",
    ),
    click.option(
        "--defrag-gangs",
        is_flag=True,
        help="Let the descheduling step move running gangs too, each whole (as many moves as"
        " members); by default only tasks alone move (docs/sharing.md).",
    ),
    click.option(
        "--speeds",
        type=PATH,
        help="CSV of speed factors: model,speed[,task_class]. Default: every GPU at speed 1.",
    ),
    click.option(
        "--seed",
        type=SEED,
        default=42,
        show_default=True,
        help="Seed of the node tie order, random-fit, warm starts and drawn failures.",
    ),
    click.option(
        "--interference",
        is_flag=False,
        flag_value=INTERFERENCE,
        default="none",
        show_default=True,
        metavar="[MODEL]",
        help="Co-located tasks with a `profile` slow each other down as MODEL predicts (groups, measured,"
        f" features, none; alone: {INTERFERENCE}).",
    ),
    click.option(
        "--profiles", type=DIR, help="Profile directory of the interference model. Default: embedded H100."
    ),
    sharing_options,  # --sharing and --mps-pct
    click.option(
        "--services",
        type=Finite(min=0, max=1),
        help="Give the tasks profiles first: this fraction become inference services (latency-sensitive"
        " sharing tasks first), the other GPU-sharing tasks training jobs (seeded by --seed; see"
        " docs/interference.md). For inputs without profiles, e.g. openb pod lists.",
    ),
    click.option(
        "--requests-exact",
        is_flag=True,
        help="Simulate every request of the services (FIFO per replica) instead of the analytic"
        " M/D/1 latency.",
    ),
    click.option(
        "--requests",
        "request_file",
        type=PATH,
        help="Replay service requests from this trace (Azure LLM CSV with TIMESTAMP, or one time in seconds"
        " per line), scaled to each service's rate_rps, request by request (implies --requests-exact).",
    ),
    click.option(
        "--llm-requests",
        "llm_request_file",
        type=PATH,
        help="Request trace with token counts for the LLM replicas (job-CSV rows with llm_model): Azure"
        " LLM 2023 CSV or arrival,prompt_tokens,output_tokens; cycled at each replica's llm_rate_rps"
        " (docs/llm.md).",
    ),
    click.option(
        "--llm-router",
        type=click.Choice(["none", "round-robin", "least-loaded"]),
        default="none",
        show_default=True,
        help="LLM replicas of one model with the same user and targets form one service: round-robin"
        " routes its requests in turn among the replicas running at their arrival, least-loaded to"
        " the one with the fewest requests outstanding then (docs/llm.md).",
    ),
    click.option(
        "--gpu-card",
        "gpu_cards",
        default="",
        metavar="MODEL=CARD,...",
        help="For LLM replicas: the GPU card (`schedlab llm cards`) of node-list GPU models schedlab has"
        " none for, e.g. G2=A10.",
    ),
    click.option(
        "--baseline",
        is_flag=True,
        help="Also replay without interference; report jct_inflation (batch jobs' mean JCT over that).",
    ),
    click.option(
        "--reference/--compiled",
        default=None,
        help="Run the pure-Python reference path, or the compiled kernels, whatever the size of the"
        " run (same results). Default: the kernels from 2,000 tasks on, the reference path below"
        " (starting the kernels takes longer than it).",
    ),
    click.option(
        "--out",
        type=DIR,
        help="Write tasks.parquet, attempts.parquet, series.parquet, summary.json, timeline.png and, with"
        " services, services.parquet (one row per service) here.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON document."),
    figure_flags,
    click.option(
        "--quiet", is_flag=True, help="No progress bar (there is none with --json or off a terminal)."
    ),
]


def replay_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add every option of ``schedlab replay`` to ``command``, in the order of :data:`OPTIONS`."""
    for option in reversed(OPTIONS):
        command = option(command)
    return command
