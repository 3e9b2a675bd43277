"""The preempt verb: kube-scheduler v1.25's request and answer, victims chosen as the replay
chooses them (victim order, fewest GPU-seconds lost, lower priority only), the scheduler's
own victims kept."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.eviction.victims import VICTIM_POLICIES
from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.objects import parse_node, parse_pod
from schedlab.serve.preempt import choose
from tests.serve.test_extender import TYPICAL, calls, needs_data, node, pod


def prioritised(name: str, priority: int, milli: int = 1000, count: int = 1) -> dict[str, Any]:
    p = pod(name, milli, count)
    p["spec"]["priority"] = priority
    return p


def booked(nodes: list[tuple[str, int]], running: list[tuple[str, str, tuple[int, ...], int, float]]) -> Book:
    """A book with ``nodes`` (name, GPUs) and ``running`` pods (name, node, GPUs, priority,
    seconds running), each holding whole GPUs."""
    book = Book("fgd", TYPICAL)
    book.upsert([parse_node(node(n, g, "T4")) for n, g in nodes])
    now = time.time()
    for name, where, gpus, priority, age in running:
        book.learn(parse_pod(prioritised(name, priority, 1000, len(gpus))), where, gpus, now - age)
    return book


def ask(
    book: Book, preemptor: dict[str, Any], offered: dict[str, list[str]], victim: str = "least-lost"
) -> Any:
    http = TestClient(make_app(book, victim=victim), raise_server_exceptions=False)
    body = {
        "Pod": preemptor,
        "NodeNameToVictims": None,
        "NodeNameToMetaVictims": {
            n: {"Pods": [{"UID": u} for u in uids], "NumPDBViolations": 1 if n == "n2" else 0}
            for n, uids in offered.items()
        },
    }
    reply = http.post("/scheduler/preempt", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


RUNNING = [
    ("a", "n1", (0,), 0, 100.0),
    ("b", "n1", (1,), 0, 10.0),
    ("c", "n2", (0,), 0, 50.0),
    ("d", "n2", (1,), 5000, 1.0),
]


def test_the_cheapest_node_and_victims_in_victim_order_beside_the_scheduler_s_own() -> None:
    book = booked([("n1", 2), ("n2", 2)], RUNNING)
    answer = ask(book, prioritised("p", 1000), {"n1": ["cpu-1"], "n2": ["cpu-2"]})
    # n1: b loses 10 GPU-seconds (a: 100); n2: c loses 50 (d has a higher priority)
    assert answer == {
        "NodeNameToMetaVictims": {"n1": {"Pods": [{"UID": "cpu-1"}, {"UID": "uid-b"}], "NumPDBViolations": 0}}
    }


def test_only_pods_of_lower_priority_are_victims() -> None:
    book = booked([("n1", 2), ("n2", 2)], RUNNING)
    assert ask(book, prioritised("p", 0), {"n1": ["cpu-1"], "n2": ["cpu-2"]}) == {"NodeNameToMetaVictims": {}}
    # two GPUs: only n1 can give two (n2's d outranks the preemptor), both go
    answer = ask(book, prioritised("q", 1000, 1000, 2), {"n1": ["cpu-1"], "n2": ["cpu-2"]})
    victims = answer["NodeNameToMetaVictims"]["n1"]["Pods"]
    assert list(answer["NodeNameToMetaVictims"]) == ["n1"] and victims[0] == {"UID": "cpu-1"}
    assert sorted(v["UID"] for v in victims[1:]) == ["uid-a", "uid-b"]


def test_a_node_whose_gpus_have_room_needs_only_the_scheduler_s_victims() -> None:
    book = booked([("n1", 2), ("n2", 2)], RUNNING[:3])  # n2's GPU 1 is free
    answer = ask(book, prioritised("p", 1000), {"n1": ["cpu-1"], "n2": ["cpu-2"]})
    assert answer == {"NodeNameToMetaVictims": {"n2": {"Pods": [{"UID": "cpu-2"}], "NumPDBViolations": 1}}}


def test_a_pod_without_gpus_keeps_the_scheduler_s_answer_and_bad_requests_are_400s() -> None:
    book = booked([("n1", 2)], RUNNING[:2])
    cpu_pod = {"metadata": {"name": "c", "uid": "u"}, "spec": {"containers": [], "priority": 9}}
    answer = ask(book, cpu_pod, {"n1": ["x"]})
    assert answer == {"NodeNameToMetaVictims": {"n1": {"Pods": [{"UID": "x"}], "NumPDBViolations": 0}}}
    http = TestClient(make_app(book), raise_server_exceptions=False)
    for body in ({"Pod": cpu_pod}, {"Pod": cpu_pod, "NodeNameToMetaVictims": {"n1": {"Pods": [1]}}}, []):
        reply = http.post("/preempt", json=body)
        assert reply.status_code == 400 and reply.json()["Error"]


@needs_data
@pytest.mark.parametrize("mode", ["true", "false"])
def test_recorded_preempt_calls_get_one_node_with_the_victims_offered(mode: str) -> None:
    book = Book("fgd", TYPICAL)
    http = TestClient(make_app(book), raise_server_exceptions=False)
    first = json.loads(calls("false")[0]["request_body"])
    book.upsert([parse_node(item) for item in first["Nodes"]["items"]])
    (call,) = [c for c in calls(mode) if c["verb"] == "preempt"]
    asked = json.loads(call["request_body"])
    reply = http.post(call["path"], content=call["request_body"])
    assert reply.status_code == 200, reply.text
    ((where, victims),) = reply.json()["NodeNameToMetaVictims"].items()
    offered = asked["NodeNameToMetaVictims"] or {
        n: {"Pods": [{"UID": p["metadata"]["uid"]} for p in v["Pods"]]}
        for n, v in asked["NodeNameToVictims"].items()
    }
    assert victims["Pods"] == offered[where]["Pods"]  # the book holds nothing there: no more to evict


@settings(max_examples=60, deadline=None)
@given(
    gpus=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    running=st.lists(
        st.tuples(st.integers(0, 4), st.integers(1, 2), st.integers(0, 2), st.integers(1, 500)), max_size=14
    ),
    want=st.integers(1, 3),
    victim=st.sampled_from(["least-lost", "newest"]),
)
def test_the_choice_is_the_replay_s_rule(
    gpus: list[int], running: list[tuple[int, int, int, int]], want: int, victim: str
) -> None:
    """Against a brute force of the documented rule: per candidate node, lower-priority pods in
    victim order until the pod's GPUs fit; the fewest GPU-seconds lost wins, ties by node."""
    names = [f"n{i}" for i in range(len(gpus))]
    free = {n: list(range(g)) for n, g in zip(names, gpus, strict=True)}
    rows = []
    for k, (at, count, priority, age) in enumerate(running):
        where = names[at % len(names)]
        if len(free[where]) >= count:
            taken = tuple(free[where][:count])
            free[where] = free[where][count:]
            rows.append((f"t{k}", where, taken, priority, float(age)))
    book = booked(list(zip(names, gpus, strict=True)), rows)
    now = time.time()
    preemptor = parse_pod(prioritised("p", 2, 1000, want))
    found = choose(book, preemptor, names, VICTIM_POLICIES.get(victim)(), now)
    fitting = [n for n in names if len(free[n]) >= want]
    if fitting:
        assert found is not None and found[0] in fitting and found[1] == []
        return
    best = None
    for n in names:
        mine = [(r, book.held[f"uid-{r[0]}"].started) for r in rows if r[1] == n and r[3] < 2]
        if victim == "least-lost":
            mine.sort(key=lambda rs: (-rs[1], int(rs[0][0][1:])))  # newest first, then task order
            mine.sort(key=lambda rs: (now - rs[1]) * len(rs[0][2]) * 1000)
        else:
            mine.sort(key=lambda rs: (-rs[1], int(rs[0][0][1:])))
        room, cost, chosen = len(free[n]), 0.0, []
        for r, started in mine:
            if room >= want:
                break
            room += len(r[2])
            cost += (now - started) * len(r[2])
            chosen.append(f"uid-{r[0]}")
        if chosen and room >= want and (best is None or cost < best[0] - 1e-6):
            best = (cost, n, chosen)
    if best is None:
        assert found is None
    else:
        assert found is not None and found[0] == best[1] and found[1] == best[2], (found, best)
