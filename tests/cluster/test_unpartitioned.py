"""Tasks asking for MIG instances where no GPU is partitioned: by their compute share when
GPUs are shared whole (mig compare's time-sliced and MPS runs), else one warning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from schedlab.cluster.unpartitioned import shared_asks
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload
from tests.test_cli import run_cli

NODES = Nodes.build([("a", 70000, 700000, 1, "A100-SXM4-80GB"), ("t", 16000, 65536, 2, "T4")])


def test_instances_ask_for_their_compute_share_on_a_model_that_has_the_profile() -> None:
    asks = [(1, "mig-3g.40gb"), (2, "mig-3g.40gb"), (3, "nvidia.com/mig-3g.40gb"), (1, "mig-7g.80gb")]
    asks += [(1, "mig-1g.5gb"), (2, "T4"), (1, "")]  # an A100 40GB profile; no MIG asked
    tasks = Tasks.build([(1000, 1024, k, 1000, spec) for k, spec in asks])
    n = len(asks)
    w = TimedWorkload(tasks, np.zeros(n), np.ones(n), np.full(n, "u", dtype=object), "asks")
    t = shared_asks(w, NODES).tasks
    # 3/7 of a GPU per 3g instance, rounded down: 428, 857, then 1,285 milli as two whole GPUs
    assert list(t.gpu_milli) == [428, 857, 1000, 1000, 1000, 1000, 1000]
    assert list(t.num_gpu) == [1, 1, 2, 1, 1, 2, 1]
    assert list(t.gpu_spec) == ["A100-SXM4-80GB"] * 4 + ["mig-1g.5gb", "T4", ""]


def test_mig_compare_replays_instance_asks_time_sliced_and_a_plain_replay_warns(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    rows = "".join(f"j{i},0,10,1000,1024,1,1000,mig-1g.10gb\n" for i in range(7))
    jobs.write_text("id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + rows)
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,70000,700000,1,A100-80GB\n")
    compare = ["mig", "compare", "--jobs", str(jobs), "--nodes", str(nodes), "--mig", "A100-80GB=7x1g.10gb"]
    done = run_cli(*compare, "--json")
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    found = {row["mode"]: row for row in json.loads(done.stdout)["rows"]}
    # seven 1g tasks: 142 milli each, all at once on the one GPU time-sliced, or on its 7 instances
    for mode in ("time-slicing", "mps", "mig"):
        assert (found[mode]["completed"], found[mode]["wait_mean"]) == (7, 0.0), mode
    plain = run_cli("replay", "--jobs", str(jobs), "--nodes", str(nodes), "--json")
    warned = [line for line in plain.stderr.splitlines() if "MIG" in line]
    assert warned == [
        f"warning: 7 task(s) of {jobs} ask for MIG instances (gpu_spec mig-1g.10gb) but no node is"
        " partitioned: give --mig MODEL=LAYOUT or a node list with a mig column (they fit no node)"
    ]
