"""Every class of bad input ends in one `error:` line naming file, line and field (or the
flag) and exit status 2, or in a `warning:`; never a traceback or a silent wrong number."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from schedlab.cli import main

P = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
POD = "p0,1000,1000,1,500,,LS,Running,0,100,0\n"
J = "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user\n"
JOB = "j0,0,100,1000,1000,1,500,,LS,u\n"
N = "sn,cpu_milli,memory_mib,gpu,model\n"
NODE = "n0,64000,262144,2,V100\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI as a user would; return (exit status, stdout, stderr)."""
    argv, sys.argv = sys.argv, ["schedlab", *args]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


# (file name, contents, command flag, expected message after "error: <path>:")
FILE_CASES = [
    ("empty", "", "--pods", "1: file is empty (no header line)"),
    ("header only", P, "--pods", "2: no data rows (the file has only a header)"),
    (
        "all pending",
        P + "p0,1000,1000,1,500,,LS,Pending,0,,\n",
        "--pods-replay",
        "2: field 'scheduled_time': nothing to replay: none of its 1 pods has creation_time, scheduled_time"
        " and deletion_time (they never ran)",
    ),
    (
        "overflow",
        P + POD.replace("p0,1000", "p0,99999999999999999999999"),
        "--pods",
        "2: field 'cpu_milli': must be at most 2147483647: 99999999999999999999999",
    ),
    (
        "inf cell",
        P + POD.replace("p0,1000", "p0,inf"),
        "--pods",
        "2: field 'cpu_milli': not an integer: 'inf'",
    ),
    (
        "nan time",
        P + POD.replace("0,100,0", "nan,100,0"),
        "--pods",
        "2: field 'creation_time': not a number: 'nan'",
    ),
    (
        "inf time",
        P + POD.replace("0,100,0", "0,inf,0"),
        "--pods",
        "2: field 'deletion_time': not a finite time: 'inf'",
    ),
    ("duplicate pod", P + POD + POD, "--pods", "3: field 'name': duplicate pod name 'p0' (first on line 2)"),
    (
        "deletion first",
        P + POD.replace("0,100,0", "100,50,100"),
        "--pods",
        "2: field 'deletion_time': 50 is before creation_time 100",
    ),
    (
        "unknown qos",
        P + POD.replace(",LS,", ",gold,"),
        "--pods",
        "2: field 'qos': unknown QoS 'gold' (known: LS, Guaranteed, BE, Burstable, BestEffort, or empty)",
    ),
    (
        "negative time",
        P + POD.replace("0,100,0", "-5,100,0"),
        "--pods",
        "2: field 'creation_time': negative time: -5",
    ),
    (
        "time beyond 2^53",
        P + POD.replace("0,100,0", "1e300,1e300,1e300"),
        "--pods",
        "2: field 'creation_time': time 1e300 is beyond float precision (2^53): give integers",
    ),
    (
        "latin-1",
        (P + "p\xe9,1000,1000,1,500,,LS,Running,0,100,0\n").encode("latin-1"),
        "--pods",
        "0: not UTF-8 text (byte 111: invalid continuation byte); save the file as UTF-8",
    ),
    ("extra fields", P + POD.rstrip() + ",x,y\n", "--pods", "2: the row has more fields than the header"),
    ("duplicate job", J + JOB + JOB, "--jobs", "3: field 'id': duplicate job id 'j0' (first on line 2)"),
    (
        "infinite duration",
        J + JOB.replace(",100,", ",inf,"),
        "--jobs",
        "2: field 'duration': not a finite time: 'inf'",
    ),
    (
        "duplicate node",
        N + NODE + NODE,
        "--nodes",
        "3: field 'sn': duplicate node name 'n0' (first on line 2)",
    ),
    (
        "no GPU node",
        N + "n0,64000,262144,0,\n",
        "--nodes",
        "2: field 'gpu': no node has a GPU (1 CPU-only nodes)",
    ),
    (
        "too many GPUs",
        N + NODE.replace(",2,", ",1000000,"),
        "--nodes",
        "2: field 'gpu': must be at most 64: 1000000",
    ),
    (
        "infinite speed",
        "model,speed\nV100,inf\n",
        "--speeds",
        "2: field 'speed': must be a positive finite number: inf",
    ),
    (
        "missing column",
        "id,submit_time\nj0,0\n",
        "--jobs",
        "1: field 'duration': required column is missing (header has: id, submit_time)",
    ),
]


@pytest.mark.parametrize(("case", "text", "flag", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str | bytes, flag: str, message: str
) -> None:
    bad = write(tmp_path, "bad.csv", text)
    pods, jobs, nodes = (
        write(tmp_path, "p.csv", P + POD),
        write(tmp_path, "j.csv", J + JOB),
        write(tmp_path, "n.csv", N + NODE),
    )
    if flag == "--pods":
        args = ["fill", "--pods", bad, "--nodes", nodes]
    elif flag == "--pods-replay":
        args = ["replay", "--pods", bad, "--nodes", nodes, "--json"]
    elif flag == "--nodes":
        args = ["replay", "--jobs", jobs, "--nodes", bad, "--json"]
    elif flag == "--speeds":
        args = ["replay", "--jobs", jobs, "--nodes", nodes, "--speeds", bad, "--json"]
    else:
        args = ["replay", "--jobs", bad, "--nodes", nodes, "--json"]
    del pods
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == f"error: {bad}:{message}"


def test_utf8_with_bom_and_crlf_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nodes = write(tmp_path, "n.csv", N + NODE)
    plain = write(tmp_path, "plain.csv", J + JOB)
    fancy = write(tmp_path, "fancy.csv", ("\ufeff" + J + JOB).replace("\n", "\r\n"))
    docs = [
        json.loads(run(capsys, "replay", "--jobs", p, "--nodes", nodes, "--json")[1]) for p in (plain, fancy)
    ]
    assert docs[0]["jct_mean"] == docs[1]["jct_mean"] == 100.0
    assert docs[0]["inputs"][plain] != docs[1]["inputs"][fancy]  # other bytes, same tasks


def test_qos_spellings_are_case_insensitive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from schedlab.workload import load_jobs

    path = write(
        tmp_path, "j.csv", J + "j0,0,1,1,1,0,0,,ls,u\nj1,0,1,1,1,0,0,,BESTEFFORT,u\nj2,0,1,1,1,0,0,,,u\n"
    )
    assert load_jobs(path).tasks.qos.tolist() == ["LS", "BestEffort", ""]


def test_epoch_nanoseconds_give_the_same_jcts_as_small_times(tmp_path: Path) -> None:
    from schedlab.sim import ReplayConfig, replay
    from schedlab.trace import load_nodes
    from schedlab.workload import load_jobs

    nodes = load_nodes(write(tmp_path, "n.csv", N + NODE))
    rows = [(0, 100), (10, 50), (17, 3)]
    small = J + "".join(f"j{i},{t},{d},1000,1000,1,1000,,LS,u\n" for i, (t, d) in enumerate(rows))
    epoch = 1_700_000_000_000_000_000
    big = J + "".join(f"j{i},{epoch + t},{d},1000,1000,1,1000,,LS,u\n" for i, (t, d) in enumerate(rows))
    results = [
        replay(load_jobs(write(tmp_path, f"{n}.csv", t)), nodes, ReplayConfig(policy="bestfit"))
        for n, t in (("small", small), ("big", big))
    ]
    jct = [r.tasks["jct"].tolist() for r in results]
    assert jct[0] == jct[1] == [100.0, 50.0, 60.0 + 3.0 - 17.0]  # j2 waits for j1's GPU
