"""Progress rates in the replay: `none` changes nothing, a constant slowdown stretches
co-located run times exactly, and departures follow every change of a GPU's group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedlab.arrays import FloatArray
from schedlab.interference import InterferenceModel, Sharing, load_profiles
from schedlab.sim import ReplayConfig, replay
from schedlab.trace import Nodes, Tasks
from schedlab.workload import TimedWorkload

NODES = Nodes.build([("n0", 64000, 262144, 1, "H100"), ("n1", 64000, 262144, 2, "H100")])
PROFILES = load_profiles()


class Constant(InterferenceModel):
    """Every co-runner adds ``factor - 1``: a pair runs ``factor`` times slower."""

    name = "constant-test"

    def __init__(self, factor: float) -> None:
        super().__init__(PROFILES)
        self.factor = factor

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        return self.factor


def workload(rows: list[tuple[float, float, int, str]]) -> TimedWorkload:
    """Jobs of ``(arrival, duration, gpu_milli, profile)``, one GPU each."""
    tasks = Tasks.build([(1000, 1000, 1, milli, "") for _, _, milli, _ in rows])
    arrival = np.array([r[0] for r in rows])
    profile = np.array([r[3] for r in rows], dtype=object)
    users = np.full(len(rows), "", dtype=object)
    return TimedWorkload(tasks, arrival, np.array([r[1] for r in rows]), users, "test", {}, profile)


def run(w: TimedWorkload, model: InterferenceModel | None, nodes: Nodes = NODES, **config: object):
    name = "none" if model is None else "measured"
    return replay(w, nodes, ReplayConfig(policy="bestfit", interference=name, **config), interference=model)  # type: ignore[arg-type]


ONE_GPU = Nodes.build([("n0", 64000, 262144, 1, "H100")])


def test_none_reproduces_the_replay_without_profiles() -> None:
    rows = [(float(i), 30.0 + i, 300 + 100 * (i % 5), "bert/1" if i % 2 else "") for i in range(40)]
    w = workload(rows)
    plain = replace(w, profile=None)
    a, b = run(w, None, compiled=True), run(plain, None, compiled=True)
    assert a.summary["path"] == b.summary["path"] == "compiled"
    assert a.tasks.equals(b.tasks)


def test_a_constant_slowdown_stretches_co_located_run_times_exactly() -> None:
    w = workload([(0.0, 100.0, 500, "bert/1"), (0.0, 100.0, 500, "vit/8")])
    ends = run(w, Constant(1.7), ONE_GPU).tasks["end"].tolist()
    assert ends == pytest.approx([170.0, 170.0], rel=1e-12)
    three = workload([(0.0, 60.0, 300, "bert/1")] * 3)
    assert run(three, Constant(1.5), ONE_GPU).tasks["end"].tolist() == pytest.approx([120.0] * 3, rel=1e-12)


def test_a_task_alone_again_runs_at_full_speed() -> None:
    # Together at 2x until the short one ends at 2 x 40 = 80; then 60 s of work left alone.
    w = workload([(0.0, 40.0, 500, "bert/1"), (0.0, 100.0, 500, "vit/8")])
    ends = run(w, Constant(2.0), ONE_GPU).tasks["end"].tolist()
    assert ends == pytest.approx([80.0, 140.0], rel=1e-12)
    # A task without a profile neither slows nor is slowed.
    w = workload([(0.0, 40.0, 500, ""), (0.0, 100.0, 500, "vit/8")])
    assert run(w, Constant(2.0), ONE_GPU).tasks["end"].tolist() == [40.0, 100.0]


def test_the_measured_model_on_a_pair() -> None:
    w = workload([(0.0, 100.0, 500, "bert_train/16"), (0.0, 100.0, 500, "resnet50_train/32")])
    result = run(w, None, ONE_GPU, compiled=True)
    assert result.tasks["end"].tolist() == [100.0, 100.0]
    measured = replay(w, ONE_GPU, ReplayConfig(policy="bestfit", interference="measured", compiled=True))
    s_a = PROFILES.pairs[("bert_train/16", "resnet50_train/32")]
    s_b = PROFILES.pairs[("resnet50_train/32", "bert_train/16")]
    first = 100.0 * s_a
    assert measured.summary["path"] == "compiled"
    assert measured.tasks["end"].tolist() == pytest.approx([first, first + 100.0 - first / s_b], rel=1e-12)
    reference = replay(w, ONE_GPU, ReplayConfig(policy="bestfit", interference="measured", compiled=False))
    assert reference.summary["path"] == "reference" and reference.tasks.equals(measured.tasks)


def test_unknown_profiles_are_a_clear_error() -> None:
    from schedlab.errors import ConfigError

    rows = [(0.0, 1.0, 500, "bert/1"), (1.0, 1.0, 500, "bert/2")]
    with pytest.raises(
        ConfigError, match=r"^test: field 'profile' of task 'task-1': unknown configuration 'bert/2'"
    ):
        replay(workload(rows), ONE_GPU, ReplayConfig(interference="measured"))


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(0, 50),
            st.floats(1, 30),
            st.sampled_from([250, 500, 1000]),
            st.sampled_from(["", "bert/1", "vit/8", "gpt2/32"]),
        ),
        min_size=1,
        max_size=25,
    ),
    factor=st.floats(1.0, 3.0),
    preempt=st.booleans(),
)
def test_run_times_stay_within_the_group_bounds(
    rows: list[tuple[float, float, int, str]], factor: float, preempt: bool
) -> None:
    rows = sorted(rows)
    w = workload(rows)
    w = replace(
        w,
        tasks=replace(
            w.tasks, qos=np.array(["LS" if i % 3 == 0 else "BE" for i in range(len(rows))], dtype=object)
        ),
    )
    result = run(w, Constant(factor), preemption="ls-over-be" if preempt else "none")
    done = result.tasks[result.tasks["status"] == "completed"]
    assert len(done) == len(rows)
    worst = 1 + 3 * (factor - 1)  # at most four tasks of 250 milli share a GPU
    last = done["end"] - done["start"]  # the final attempt ran the whole run time
    duration = w.duration[done.index]
    assert (last >= duration * (1 - 1e-9)).all()
    assert (last <= duration * worst * (1 + 1e-9)).all()


def test_shared_gpu_time_and_jct_inflation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from schedlab.cli import cli

    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "id,submit_time,duration,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,user,profile\n"
        "a,0,100,1000,1000,1,500,,BE,u,bert_train/16\n"
        "b,0,100,1000,1000,1,500,,BE,u,resnet50_train/32\n"
        "c,50,10,1000,1000,1,1000,,BE,u,\n"
    )
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,1,H100\n")
    args = ["replay", "--jobs", str(jobs), "--nodes", str(nodes), "--policy", "bestfit", "--json"]
    result = CliRunner().invoke(cli, [*args, "--interference", "--baseline"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    s_a = PROFILES.pairs[("bert_train/16", "resnet50_train/32")]
    s_b = PROFILES.pairs[("resnet50_train/32", "bert_train/16")]
    end_a = 100 * s_a
    end_b = end_a + 100 - end_a / s_b
    # a and b share the GPU until a ends; then b alone; then c alone for 10 s
    assert doc["shared_gpu_time_frac"] == pytest.approx(end_a / (end_b + 10), rel=1e-9)
    jct = [end_a, end_b, end_b + 10 - 50]
    assert doc["jct_inflation"] == pytest.approx(sum(jct) / (100 + 100 + 110 - 50), rel=1e-9)
    plain = json.loads(CliRunner().invoke(cli, args).stdout)
    assert plain["shared_gpu_time_frac"] == pytest.approx(100 / 110, rel=1e-9)
    refused = CliRunner().invoke(cli, [*args, "--baseline"])
    assert refused.exit_code != 0


class Custom(InterferenceModel):
    """A plugin model with its own group rule (not the additive one)."""

    name = "custom-test"

    def slowdowns(self, group: Sequence[str], sharing: Sharing | None = None) -> FloatArray:
        return np.full(len(group), float(len(group)))


def test_a_model_with_its_own_group_rule_runs_the_reference_path() -> None:
    w = workload([(0.0, 10.0, 300, "bert/1")] * 3)
    result = run(w, Custom(PROFILES), ONE_GPU)
    assert result.summary["path"] == "reference" and result.tasks["end"].tolist() == [30.0] * 3


SERVICE_CONFIGS = ["bert/1", "vit/8", "gpt2/32", "resnet50/1"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 40).map(float),  # coarse arrivals, so that times tie
            st.sampled_from([1.0, 5.0, 12.5, 30.0]),
            st.sampled_from([0, 250, 500, 1000, 2000]),  # 0: CPU only; 2000: two whole GPUs
            st.sampled_from(["", *SERVICE_CONFIGS, "bert_train/16", "resnet50_train/32"]),
            st.booleans(),  # an inference configuration may be a service
            st.sampled_from(["LS", "BE"]),
        ),
        min_size=1,
        max_size=30,
    ),
    policy=st.sampled_from(["fgd", "bestfit", "random"]),
    preemption=st.sampled_from(["none", "ls-over-be"]),
    admission=st.sampled_from(["backfill", "strict"]),
    model=st.sampled_from(["measured", "none", "constant"]),
)
def test_compiled_progress_rates_equal_the_reference(
    rows: list[tuple[float, float, int, str, bool, str]],
    policy: str,
    preemption: str,
    admission: str,
    model: str,
) -> None:
    rows = sorted(rows)
    gpus = [(0 if m == 0 else 2 if m == 2000 else 1, min(m, 1000)) for _, _, m, _, _, _ in rows]
    tasks = Tasks.build([(1000, 1000, k, milli, "") for k, milli in gpus])
    tasks = replace(tasks, qos=np.array([r[5] for r in rows], dtype=object))
    service = [bool(r[4] and r[3] in SERVICE_CONFIGS) for r in rows]
    w = TimedWorkload(
        tasks,
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.full(len(rows), "", dtype=object),
        "test",
        {},
        np.array([r[3] for r in rows], dtype=object),
        np.array([100.0 if s else np.nan for s in service]),
        np.array([20.0 if s else np.nan for s in service]),
    )
    fitted = Constant(1.6) if model == "constant" else None
    name = "measured" if model == "constant" else model
    results = [
        replay(
            w,
            NODES,
            ReplayConfig(
                policy=policy,
                preemption=preemption,
                admission=admission,
                interference=name,
                compiled=compiled,
            ),
            interference=fitted,
        )
        for compiled in (True, False)
    ]
    fast, slow = results
    assert fast.summary["path"] == "compiled" and slow.summary["path"] == "reference"
    assert fast.tasks.equals(slow.tasks) and fast.attempts.equals(slow.attempts)
    assert fast.series.equals(slow.series) and fast.frag_series.equals(slow.frag_series)
    keep = ("wall_s", "tasks_per_s", "config", "path")
    assert {k: v for k, v in fast.summary.items() if k not in keep} == {
        k: v for k, v in slow.summary.items() if k not in keep
    }
