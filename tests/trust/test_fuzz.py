"""Fuzzing: every loader returns a valid table or raises TraceError for any file, and the
CLI answers any flag value with a result or one `error:` line (exit 2), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.cluster.speeds import SpeedTable
from schedlab.errors import TraceError
from schedlab.trace import load_nodes, load_tasks
from schedlab.workload import from_openb, load_jobs
from tests.trust.test_bad_inputs import run

NUMBERS = [
    "0",
    "1",
    "100",
    "1000",
    "-1",
    "1.5",
    "1e300",
    "inf",
    "-inf",
    "nan",
    "",
    " 7 ",
    "x",
    "2e9",
    "99999999999999999999",
]
TEXT = ["", "a", "LS", "be", "Guaranteed", "gold", "V100", "T4|V100", "é", '"q,uoted"']
HEADERS = {
    "pods": "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time",
    "jobs": "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user",
    "nodes": "sn,cpu_milli,memory_mib,gpu,model",
    "speeds": "model,speed,task_class",
}
cell = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(TEXT), st.text(max_size=4))


def corrupt(text: str, how: str, at: int) -> bytes:
    data = text.encode()
    if how == "truncate":
        return data[: at % (len(data) + 1)]
    if how == "latin1":
        return text.replace("a", "\xe9").encode("latin-1", errors="replace")
    if how == "bom-crlf":
        return ("\ufeff" + text).replace("\n", "\r\n").encode()
    if how == "drop-column":
        return "\n".join(",".join(line.split(",")[:-1]) for line in text.split("\n")).encode()
    if how == "extra-field":
        return text.replace("\n", ",x\n", 2).encode()
    return data


def loader(kind: str) -> Callable[[Path], Any]:
    return {
        "pods": load_tasks,
        "jobs": load_jobs,
        "nodes": load_nodes,
        "speeds": SpeedTable.load,
        "timeline": lambda p: from_openb(load_tasks(p)),
    }[kind]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["pods", "jobs", "nodes", "speeds", "timeline"]),
    rows=st.lists(st.lists(cell, min_size=1, max_size=12), max_size=6),
    how=st.sampled_from(["none", "truncate", "latin1", "bom-crlf", "drop-column", "extra-field"]),
    at=st.integers(0, 400),
)
def test_loaders_give_a_table_or_a_trace_error(
    tmp_path: Path, kind: str, rows: list[list[str]], how: str, at: int
) -> None:
    header = HEADERS["pods" if kind == "timeline" else kind]
    width = len(header.split(","))
    lines = [header] + [",".join((row * width)[:width]) for row in rows]
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(corrupt("\n".join(lines) + "\n", how, at))
    try:
        table = loader(kind)(path)
    except TraceError as err:
        assert str(err).startswith(str(path))
        return
    if kind == "nodes":
        assert len(table) and (table.num_gpu >= 0).all() and table.num_gpu.any()
    elif kind in ("pods", "jobs", "timeline"):
        tasks = table.tasks if kind != "pods" else table
        assert len(tasks) and (tasks.cpu_milli > 0).all() and (tasks.gpu_milli <= 1000).all()
        assert set(tasks.qos) <= {"", "LS", "Guaranteed", "BE", "Burstable", "BestEffort"}
        if kind != "pods":
            assert np.isfinite(table.arrival).all() and np.isfinite(table.duration).all()
            assert table.arrival.min() == 0.0  # rebased to the first arrival
    else:
        assert all(0 < v < float("inf") for v in table.factors.values())


FLAGS = {
    "fill": ["--policy", "--seeds", "--tune-ratio"],
    "replay": ["--policy", "--queue", "--admission", "--preemption", "--victim", "--seed"],
    "synth": ["--tasks", "--load", "--durations", "--copies", "--seed"],
}
VALUES = [
    "fgd",
    "bestfit",
    "fgd,fgd",
    "",
    "-1",
    "0",
    "1",
    "1.3",
    "nan",
    "inf",
    "1e9",
    "1-3",
    "3-1",
    "exp:60",
    "x",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(sorted(FLAGS)), data=st.data())
def test_cli_flags_give_a_result_or_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, data: st.DataObject
) -> None:
    flags = data.draw(st.lists(st.sampled_from(FLAGS[command]), min_size=1, max_size=3, unique=True))
    args = [command]
    for flag in flags:
        args += [flag, data.draw(st.sampled_from(VALUES))]
    if command == "synth":
        args += ["--out", str(tmp_path / "jobs.csv")] + ([] if "--tasks" in flags else ["--tasks", "50"])
    if command == "replay":
        args += ["--json"]
    if command == "fill" and "--policy" not in flags:
        args += ["--policy", "bestfit"]
    code, _, err = run(capsys, *args)
    if code:
        assert code == 2, err
        assert err.strip().splitlines()[-1].startswith("error: "), err
