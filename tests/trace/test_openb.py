"""Loading openb traces: the real files load; every kind of malformed row is a clear error."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import TraceError
from schedlab.trace import (
    Nodes,
    check_gpu_specs,
    default_nodes_path,
    default_pods_path,
    load_nodes,
    load_tasks,
)

POD_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase," + (
    "creation_time,deletion_time,scheduled_time"
)
GOOD_POD = "p0,4000,8192,1,500,,LS,Running,0,100,5"
NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_embedded_default_data() -> None:
    tasks = load_tasks(default_pods_path())
    nodes = load_nodes(default_nodes_path())
    assert len(tasks) == 8152 and len(nodes) == 1213
    assert int(nodes.num_gpu.sum()) == 6212
    assert int(tasks.total_gpu_milli.sum()) == 6086800
    assert int(np.isnan(tasks.scheduled_time).sum()) == 897  # pending tasks never ran
    assert tasks.qos[0] == "LS" and tasks.creation_time[1] == 427061


def test_every_shared_variant_loads(shared_data: Path) -> None:
    nodes = load_nodes(shared_data / "openb_node_list_all_node.csv")
    assert len(nodes) == 1523
    for path in sorted(shared_data.glob("openb_pod_list_*.csv")):
        tasks = load_tasks(path)
        assert len(tasks) > 7000, path
        assert check_gpu_specs(tasks, nodes) == []


def test_multigpu_variant_has_only_required_columns(shared_data: Path) -> None:
    tasks = load_tasks(shared_data / "openb_pod_list_multigpu50.csv")
    assert np.isnan(tasks.creation_time).all()
    assert (tasks.gpu_spec == "").all()


def test_cpu_request_zero_counts_as_100(tmp_path: Path) -> None:
    path = write(
        tmp_path, "pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli", "a,0,10,0,0", "b,50,10,0,0"
    )
    assert load_tasks(path).cpu_milli.tolist() == [100, 50]


POD_ERRORS = [
    # (bad row, line, field, words in the message)
    ("p1,abc,8192,1,500,,LS,Running,0,100,5", "cpu_milli", "not an integer: 'abc'"),
    ("p1,4000,,1,500,,LS,Running,0,100,5", "memory_mib", "missing value"),
    ("p1,4000,8192,1.5,500,,LS,Running,0,100,5", "num_gpu", "not an integer"),
    ("p1,-4000,8192,1,500,,LS,Running,0,100,5", "cpu_milli", "negative request"),
    ("p1,4000,-1,1,500,,LS,Running,0,100,5", "memory_mib", "negative request"),
    ("p1,4000,8192,-1,500,,LS,Running,0,100,5", "num_gpu", "negative request"),
    ("p1,4000,8192,2,500,,LS,Running,0,100,5", "num_gpu", "num_gpu > 1 needs whole GPUs"),
    ("p1,4000,8192,1,1200,,LS,Running,0,100,5", "gpu_milli", "at most 1000"),
    ("p1,4000,8192,1,-5,,LS,Running,0,100,5", "gpu_milli", "negative request"),
    ("p1,4000,8192,1,0,,LS,Running,0,100,5", "gpu_milli", "needs gpu_milli > 0"),
    ("p1,4000,8192,0,300,,LS,Running,0,100,5", "gpu_milli", "needs num_gpu >= 1"),
    ("p1,4000,8192,1,500,,LS,Running,x,100,5", "creation_time", "not a number: 'x'"),
    ("p1,4000,8192,1,500,,LS,Running,0,-100,5", "deletion_time", "negative time"),
]


@pytest.mark.parametrize(("row", "field", "words"), POD_ERRORS)
def test_bad_pod_row(tmp_path: Path, row: str, field: str, words: str) -> None:
    path = write(tmp_path, "pods.csv", POD_HEADER, GOOD_POD, GOOD_POD.replace("p0", "p2"), row)
    with pytest.raises(TraceError) as err:
        load_tasks(path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 4, field)
    assert words in err.value.message
    assert str(err.value).startswith(f"{path}:4: field '{field}': ")


@pytest.mark.parametrize("missing", ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"])
def test_missing_required_pod_column(tmp_path: Path, missing: str) -> None:
    header = POD_HEADER.split(",")
    keep = [i for i, c in enumerate(header) if c != missing]
    row = GOOD_POD.split(",")
    path = write(tmp_path, "pods.csv", ",".join(header[i] for i in keep), ",".join(row[i] for i in keep))
    with pytest.raises(TraceError) as err:
        load_tasks(path)
    assert (err.value.line, err.value.field) == (1, missing)
    assert "required column is missing" in err.value.message


def test_duplicate_node_name(tmp_path: Path) -> None:
    path = write(
        tmp_path, "nodes.csv", NODE_HEADER, "a,64000,262144,2,P100", "b,64000,262144,2,P100", "a,1,1,0,"
    )
    with pytest.raises(TraceError) as err:
        load_nodes(path)
    assert (err.value.line, err.value.field) == (4, "sn")
    assert "duplicate node name 'a' (first on line 2)" in err.value.message


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("b,64k,262144,2,P100", "cpu_milli", "not an integer"),
        ("b,64000,262144,-2,P100", "gpu", "negative"),
        ("b,64000,,2,P100", "memory_mib", "missing value"),
    ],
)
def test_bad_node_row(tmp_path: Path, row: str, field: str, words: str) -> None:
    path = write(tmp_path, "nodes.csv", NODE_HEADER, "a,64000,262144,2,P100", row)
    with pytest.raises(TraceError) as err:
        load_nodes(path)
    assert (err.value.line, err.value.field) == (3, field)
    assert words in err.value.message


def test_missing_node_column(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes.csv", "sn,cpu_milli,memory_mib,model", "a,1,1,T4")
    with pytest.raises(TraceError, match="field 'gpu': required column is missing"):
        load_nodes(path)


def test_unparseable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="file is empty"):
        load_tasks(write(tmp_path, "empty.csv", ""))
    with pytest.raises(TraceError, match=r"bad\.csv:3: not valid CSV"):
        load_tasks(
            write(
                tmp_path,
                "bad.csv",
                "name,cpu_milli,memory_mib,num_gpu,gpu_milli",
                "a,1,1,0,0",
                "b,1,1,0,0,7,8",
            )
        )
    with pytest.raises(TraceError, match="file not found"):
        load_nodes(tmp_path / "nope.csv")


def test_unknown_gpu_spec_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "pods.csv", POD_HEADER, GOOD_POD, "p1,4000,8192,1,500,A100|T4,LS,Running,0,100,5")
    tasks = load_tasks(path)
    nodes = Nodes.build([("n", 8000, 8000, 2, "T4")])
    with caplog.at_level(logging.WARNING):
        assert check_gpu_specs(tasks, nodes) == ["A100"]
    assert f"{path}:3: field 'gpu_spec': GPU model 'A100' is on no node" in caplog.text
