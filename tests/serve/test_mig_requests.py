"""The extender with MIG instance requests of any quantity and profile (valid or not):
never a 500, never an instance booked twice."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.objects import BadRequest, parse_node, parse_pod
from tests.serve.test_extender import TYPICAL, MemoryBinder
from tests.serve.test_mig import bind, mig_node, mig_pod

VALID = st.integers(0, 9)
QUANTITY = (
    VALID | VALID | VALID | st.sampled_from(["65", "-1", "1.5", "2k", "x", "", "1e3"]) | st.integers(-2, 70)
)
PROFILE = st.sampled_from(["1g.10gb", "3g.40gb"]) | st.sampled_from(
    ["1g.10gb+me", "", "a/b", "1g|2g", "7g.80gb"]
)
#: Instances per profile: mostly valid, else anything.
ASKS = st.dictionaries(st.sampled_from(["1g.10gb", "3g.40gb"]), VALID, min_size=1, max_size=1) | (
    st.dictionaries(PROFILE, QUANTITY, max_size=2)
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(ASKS, QUANTITY), min_size=1, max_size=3),
    st.lists(st.tuples(ASKS, st.integers(0, 2000)), min_size=2, max_size=12),
)
def test_instance_requests_never_make_a_500_nor_double_book(
    nodes: list[tuple[dict[str, Any], Any]], pods: list[tuple[dict[str, Any], int]]
) -> None:
    book = Book("fgd", TYPICAL)
    http = TestClient(make_app(book, MemoryBinder()), raise_server_exceptions=False)
    names = [f"n{i}" for i in range(len(nodes))]
    for name, (instances, whole) in zip(names, nodes, strict=True):
        spec = mig_node(name, 0, {})
        spec["status"]["capacity"].update({f"nvidia.com/mig-{p}": q for p, q in instances.items()})
        spec["status"]["capacity"]["nvidia.com/gpu"] = whole
        try:
            book.upsert([parse_node(spec)])
        except BadRequest:
            continue
    for k, (asked, priority) in enumerate(pods):
        body = mig_pod(f"p{k}", priority=priority)
        body["spec"]["containers"][0]["resources"]["limits"] = {
            f"nvidia.com/mig-{p}": q for p, q in asked.items()
        }
        answers = [
            http.post(f"/scheduler/{verb}", json={"Pod": body, "NodeNames": names})
            for verb in ("filter", "prioritize")
        ]
        assert {a.status_code for a in answers} <= {200, 400}
        passed = answers[0].json().get("NodeNames") or []
        try:
            wants = parse_pod(body).wants_gpu
        except BadRequest:
            wants = False
        if passed and wants:  # kube-scheduler asks the extender only about pods that want some
            assert bind(http, f"p{k}", passed[0]) == {"Error": ""}
        victims = {"NodeNameToMetaVictims": {n: {"Pods": [], "NumPDBViolations": 0} for n in names}}
        assert http.post("/scheduler/preempt", json={"Pod": body, **victims}).status_code in (200, 400)
    event(f"instance pods bound: {min(sum(bool(h.pod.mig) for h in book.held.values()), 3)}")
    free = book.cluster.gpu_free
    assert (free >= 0).all() and (free <= 1000).all()
    held = sum(h.pod.num_gpu * h.pod.gpu_milli for h in book.held.values())
    assert held == int((book.cluster.num_gpu * 1000).sum() - free.sum())
