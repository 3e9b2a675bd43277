"""``schedlab replay``: the event-driven simulation."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from click.core import ParameterSource

from schedlab.cli.common import replay_progress, timed_workload
from schedlab.cli.replay_options import replay_options

log = logging.getLogger("schedlab")


@click.command()
@replay_options
def replay(
    pods: Path | None,
    jobs: Path | None,
    nodes: Path | None,
    policy: str,
    queue: str,
    quotas: Path | None,
    reserve_after: float | None,
    evict_starved: bool,
    admission: str,
    strict: bool,
    preemption: str,
    preempt: bool,
    victim: str,
    time_scale: float | None,
    target_load: float | None,
    warm_start: bool | None,
    node_events: Path | None,
    mtbf: float | None,
    mttr: float,
    mig_layouts: tuple[str, ...],
    mig_fit: bool,
    mig_alt: tuple[str, ...],
    mig_scope: str,
    mig_reconfig: float,
    mig_every: float,
    mig_drains: int,
    defrag: str,
    defrag_every: float,
    defrag_moves: int,
    defrag_cost: float,
    defrag_above: float,
    defrag_gangs: bool,
    speeds: Path | None,
    seed: int,
    interference: str,
    profiles: Path | None,
    sharing: str,
    mps_pct: int,
    services: float | None,
    requests_exact: bool,
    request_file: Path | None,
    llm_request_file: Path | None,
    gpu_cards: str,
    llm_router: str,
    baseline: bool,
    reference: bool | None,
    out: Path | None,
    as_json: bool,
    formats: str,
    dpi: int,
    quiet: bool,
) -> None:
    """Event-driven simulation with a clock: tasks arrive, wait in a queue when they do not
    fit, run for their duration (scaled by the GPU's speed) and leave.

    Reports job completion time (JCT) and queueing delay (mean, p50, p95, p99) overall and
    per QoS class (LS = LS or Guaranteed, BE = the rest), preemptions and lost GPU-seconds.
    With --interference, tasks with a profile that share a GPU slow each other down; inference
    services (job-CSV rows with rate_rps and slo_ms, or --services) get SLO attainment and
    p50/p99 latency (see docs/interference.md). LLM replicas (rows with llm_model) serve
    --llm-requests token by token: TTFT, TBT and SLO attainment per replica (docs/llm.md).
    """
    from dataclasses import asdict, replace

    import pandas as pd

    from schedlab.cli.types import writable_dir
    from schedlab.cluster.speeds import SpeedTable
    from schedlab.errors import ConfigError
    from schedlab.eviction.victims import VICTIM_POLICIES
    from schedlab.files import dumps, write_json
    from schedlab.formats import read_nodes
    from schedlab.interference import load_profiles, make_model
    from schedlab.policies import parse_policies
    from schedlab.provenance import inputs, stamp, write_parquet
    from schedlab.report.figures import figure_options, parse_formats
    from schedlab.sim import ReplayConfig
    from schedlab.sim import replay as run_replay
    from schedlab.sim.admission import ADMISSION_POLICIES
    from schedlab.sim.nodes import load_node_events
    from schedlab.sim.preemption import PREEMPTION_POLICIES
    from schedlab.sim.prepare import prepare
    from schedlab.sim.queues import QUEUE_POLICIES
    from schedlab.sim.result import jct_inflation
    from schedlab.trace import check_gpu_specs, default_nodes_path, default_pods_path
    from schedlab.workload.quotas import load_quotas
    from schedlab.workload.requests import load_request_trace

    given = click.get_current_context().get_parameter_source
    if strict and given("admission") == ParameterSource.COMMANDLINE and admission != "strict":
        raise ConfigError(f"--strict and --admission {admission} contradict each other")
    if preempt and given("preemption") == ParameterSource.COMMANDLINE and preemption != "ls-over-be":
        raise ConfigError(f"--preempt and --preemption {preemption} contradict each other")
    config = ReplayConfig(
        policy=policy,
        queue=queue,
        admission="strict" if strict else admission,
        preemption="ls-over-be" if preempt else preemption,
        victim=victim,
        seed=seed,
        compiled=None if reference is None else not reference,
        interference=interference,
        sharing=sharing,
        mps_pct=mps_pct,
        requests_exact=requests_exact,
        quotas=load_quotas(quotas) if quotas else (),
        mtbf_h=mtbf,
        mttr_h=mttr,
        reserve_after=reserve_after,
        evict_starved=evict_starved,
        gpu_cards=_gpu_cards(gpu_cards),
        llm_router=llm_router,
        mig=mig_layouts,
        mig_fit=mig_fit,
        mig_alt=mig_alt,
        mig_reconfig=mig_reconfig,
        mig_every=mig_every,
        mig_drains=mig_drains,
        mig_scope=mig_scope,
        defrag=defrag,
        defrag_every=defrag_every,
        defrag_moves=defrag_moves,
        defrag_cost=defrag_cost,
        defrag_above=defrag_above,
        defrag_gangs=defrag_gangs,
    )
    config.defrag_settings  # noqa: B018 (checks the --defrag options now)
    if len(parse_policies(policy)) > 1:
        raise ConfigError(f"--policy {policy!r}: replay runs one placement policy (a sweep runs several)")
    if mig_scope != "gpu" and not mig_alt:
        log.warning("--mig-scope has no effect without --mig-alt")
    if evict_starved and reserve_after is None:
        log.warning("--evict-starved has no effect without --reserve-after")
    if reserve_after is not None and config.admission != "backfill":
        log.warning("--reserve-after guards backfill: with --admission %s it has no effect", config.admission)
    if config.preemption == "none" and victim != "least-lost":
        log.warning("--victim %s has no effect without preemption (--preempt or --preemption)", victim)
    for registry, name in (
        (QUEUE_POLICIES, config.queue),
        (ADMISSION_POLICIES, config.admission),
        (PREEMPTION_POLICIES, config.preemption),
        (VICTIM_POLICIES, config.victim),
    ):
        registry.get(name)
    if out is not None:
        writable_dir(out)
    figure_formats = parse_formats(formats)
    workload = timed_workload(pods, jobs)
    node_table = read_nodes(nodes or default_nodes_path())
    check_gpu_specs(workload.tasks, node_table)
    profile_set = load_profiles(profiles) if services is not None else None
    workload = prepare(
        workload,
        node_table,
        seed=seed,
        time_scale=time_scale,
        target_load=target_load,
        warm_start=warm_start,
        services=services,
        profiles=profile_set,
    )
    speed_table = SpeedTable.load(speeds) if speeds else None
    model = None
    if interference != "none":
        model = make_model(interference, load_profiles(profiles))
        if workload.profile is None:
            log.warning("%s has no `profile` column: --interference changes nothing", workload.source)
    elif (profiles is not None and services is None) or sharing != "time-slicing" or mps_pct != 100:
        log.warning("--profiles, --sharing and --mps-pct have no effect without --interference")
    trace = None
    if request_file is not None:
        trace = load_request_trace(request_file)
        if model is None:
            log.warning("--requests has no effect without --interference (services need a model)")
    if workload.queue is not None or workload.priority is not None:
        log.warning(
            "%s: the queue and priority columns are read by `schedlab kueue replay`; replay does not"
            " use them",
            workload.source,
        )
    llm_trace = None
    if llm_request_file is not None:
        from schedlab.llm.requests import load_llm_requests

        llm_trace = load_llm_requests(llm_request_file)
        if workload.llm is None:
            log.warning("--llm-requests has no effect: %s has no LLM replicas (llm_model)", workload.source)
    if speed_table is not None:
        speed_table.unknown_models(str(m) for m in node_table.model[node_table.num_gpu > 0])
    events = load_node_events(node_events, node_table) if node_events else None
    with replay_progress(len(workload), not (as_json or quiet)) as progress:
        result = run_replay(
            workload,
            node_table,
            config,
            speed_table,
            progress,
            interference=model,
            requests=trace,
            node_events=events,
            llm_requests=llm_trace,
        )
        if baseline:
            if model is None:
                raise ConfigError(
                    "--baseline compares with a replay without interference: give --interference"
                )
            plain = run_replay(workload, node_table, replace(config, interference="none"), speed_table)
            result.summary["jct_inflation"] = jct_inflation(result.tasks, plain.tasks, workload.is_service)
    files = {
        "pods": pods or (None if jobs else default_pods_path()),
        "jobs": jobs,
        "nodes": nodes or default_nodes_path(),
        "speeds": speeds,
        "requests": request_file,
        "llm_requests": llm_request_file,
        "node_events": node_events,
    }
    if model is not None:
        root = Path(model.profiles.source)
        files |= {"profile_configs": root / "configs.csv", "profile_measurements": root / "measurements.csv"}
    clock = {  # how the workload was prepared (warm_start: whether the run began warm)
        "target_load": target_load,
        "time_scale": time_scale,
        "warm_start": bool(workload.is_warmup.any()),
        "services": services,
    }
    settings = asdict(config) | clock | {name: str(path) if path else None for name, path in files.items()}
    meta = stamp(settings, inputs(files))
    summary = result.summary | meta
    from schedlab.cli.replay_report import (
        print_replay,
        warn_if_idle,
        warn_if_starving,
        warn_loads,
        warn_rejected,
    )

    warn_loads(summary["offered_loads"], 0, summary["tasks"], node_table.source)
    warn_if_idle(summary)
    warn_if_starving(summary)
    per_gpu = bool(config.mig_alt) and config.mig_scope == "gpu"
    warn_rejected(summary, result.tasks, node_table.source, per_gpu)
    if out is not None:
        from schedlab.report.timeline import plot_timeline

        for name in ("tasks", "attempts", "series"):
            write_parquet(getattr(result, name), out / f"{name}.parquet", meta)
        if summary.get("services"):
            write_parquet(pd.DataFrame(summary["services"]), out / "services.parquet", meta)
        if result.users is not None:
            write_parquet(result.users, out / "users.parquet", meta)
        write_json(out / "summary.json", summary)
        source = Path(files["jobs"] or files["pods"] or "").name
        load = (
            f", load {target_load:g}" if target_load else f", time scale {time_scale:g}" if time_scale else ""
        )
        with figure_options(figure_formats, dpi):
            plot_timeline(
                result.series,
                result.frag_series,
                node_table.gpu_capacity_milli,
                out / "timeline.png",
                title=f"{source} ({summary['tasks']:,} tasks) on"
                f" {node_table.source.rsplit('/', 1)[-1]}{load}: {policy}, {config.queue},"
                f" {config.admission}, preemption {config.preemption}, seed {seed}",
            )
        log.info("wrote %s", out)
    if as_json:
        click.echo(dumps(summary))
        return
    print_replay(summary)


def _gpu_cards(text: str) -> tuple[tuple[str, str], ...]:
    """``G2=A10,G3=A100-40GB`` as pairs, each card checked."""
    from schedlab.llm.cards import gpu_card_pairs

    return gpu_card_pairs(text.split(","), f"--gpu-card {text}")
