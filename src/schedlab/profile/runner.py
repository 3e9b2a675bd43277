"""Run a plan on a backend and write a profile directory that ``load_profiles`` reads.

The folder gets ``configs.csv`` and ``measurements.csv`` in the format of the embedded
profiles, a ``README.md`` naming the machine and the settings, and ``profile.json`` (the
settings, stamped with the schedlab version). Each measurement's rows are appended and
flushed as soon as it ends, so an interrupted run keeps what it measured, and running the
same command again into the same folder goes on from there.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.errors import ConfigError
from schedlab.files import write_json
from schedlab.profile.backend import Backend
from schedlab.profile.plan import Measurement, Plan
from schedlab.provenance import stamp

log = logging.getLogger("schedlab")

CONFIG_COLUMNS = ("model", "batch", "kind", "precision", "input", "gpu_mem_mib")
MEASUREMENT_COLUMNS = (
    "measurement",
    "sharing",
    "mps_thread_pct",
    "tasks_on_gpu",
    "model",
    "batch",
    "kind",
    "co_runners",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "samples",
)


def run_plan(
    plan: Plan,
    backend: Backend,
    out: Path,
    settings: Mapping[str, Any],
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Measure what ``out`` does not hold yet; returns how many measurements were run."""
    done = _resume(out, settings)
    built = backend.prepare(plan.specs)
    if done == 0:
        _write_configs(out / "configs.csv", plan, built)
        with (out / "measurements.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(MEASUREMENT_COLUMNS)
        _write_readme(out, backend.describe(), settings)
        write_json(out / "profile.json", stamp(settings, {}))
    total = len(plan.measurements)
    if done:
        log.info("%s holds %d of %d measurements; going on from there", out, done, total)
    seconds, warmup = float(settings["seconds"]), float(settings["warmup"])
    with (out / "measurements.csv").open("a", newline="", encoding="utf-8") as f:
        for number in range(done, total):
            measurement = plan.measurements[number]
            specs = [plan.specs[i] for i in measurement.members]
            latencies = backend.run(specs, measurement.mps_pct, seconds, warmup)
            f.write(_rows(number + 1, plan, measurement, latencies))
            f.flush()
            if on_progress is not None:
                on_progress(number + 1, total)
    return total - done


def _resume(out: Path, settings: Mapping[str, Any]) -> int:
    """How many measurements ``out`` already holds for these settings (0: a new folder);
    an error if it holds another profile."""
    meta, table = out / "profile.json", out / "measurements.csv"
    if not meta.exists():
        if table.exists() or (out / "configs.csv").exists():
            raise ConfigError(f"--out {out} already holds a profile not made by schedlab profile")
        return 0
    try:
        before = json.loads(meta.read_text(encoding="utf-8"))["config"]
    except (ValueError, KeyError):
        raise ConfigError(f"--out {out}: {meta} is not a profile.json of schedlab profile") from None
    if before != json.loads(json.dumps(settings)):
        raise ConfigError(f"--out {out} holds a profile measured with other settings; choose another folder")
    if not table.exists():
        return 0
    with table.open(encoding="utf-8", newline="") as f:
        ids = [row["measurement"] for row in csv.DictReader(f)]
    return int(ids[-1]) if ids else 0


def _write_configs(path: Path, plan: Plan, built: list[Any]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CONFIG_COLUMNS)
        for spec, info in zip(plan.specs, built, strict=True):
            writer.writerow([spec.model, spec.batch, spec.kind, info.precision, spec.input, info.gpu_mem_mib])


def _rows(number: int, plan: Plan, measurement: Measurement, latencies: list[FloatArray]) -> str:
    """The CSV rows of one measurement: one per member, its co-runners named."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [plan.specs[i].name for i in measurement.members]
    pct = "" if measurement.mps_pct is None else measurement.mps_pct
    for k, (i, ms) in enumerate(zip(measurement.members, latencies, strict=True)):
        spec = plan.specs[i]
        others = ";".join(n for j, n in enumerate(names) if j != k)
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        quantiles = [f"{v:.4f}" for v in (p50, p90, p99, float(np.mean(ms)))]
        head = [number, measurement.sharing, pct, len(names), spec.model, spec.batch, spec.kind, others]
        writer.writerow([*head, *quantiles, len(ms)])
    return buffer.getvalue()


def _write_readme(out: Path, machine: Mapping[str, str], settings: Mapping[str, Any]) -> None:
    today = datetime.date.today().isoformat()
    lines = [
        f"# GPU co-location latency measured by schedlab profile ({today})",
        "",
        "Each configuration alone, groups of configurations running at once in one process each",
        "(time-slicing; MPS with an SM limit where `sharing` is `mps`), and each configuration alone",
        "again at the end. Same format as schedlab's embedded H100 profiles; read it with",
        "`schedlab interference fit --data DIR`.",
        "",
        "## Machine",
        *[f"- {key}: {value}" for key, value in machine.items()],
        "",
        "## Settings",
        *[f"- {key}: {value}" for key, value in settings.items()],
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
