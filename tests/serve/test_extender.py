"""The kube-scheduler extender: recorded kube-scheduler payloads, quantities, binds, restarts,
concurrency and bad input (the service as a whole: ``test_extender_service``)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.serve.app import make_app
from schedlab.serve.book import BindError, Book
from schedlab.serve.objects import GPU_INDEX, BadRequest, PodRequest, gpu_index, parse_node, parse_pod
from schedlab.trace import default_pods_path, load_tasks

KEYS = ["Pod", "Nodes", "NodeNames", "metadata", "name", "spec", "items", "PodUID", "Node"]
RECORDED = Path(__file__).resolve().parents[3] / "shared" / "data" / "kube-scheduler-extender-v1.25"
needs_data = pytest.mark.skipif(not RECORDED.is_dir(), reason="needs ../shared/data")
TYPICAL = load_tasks(default_pods_path())


class MemoryBinder:
    """Bindings kept in memory (the API server's part, for tests)."""

    def __init__(self) -> None:
        self.bound: dict[str, tuple[str, tuple[int, ...]]] = {}

    def bind(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        self.bound[pod.uid] = (node, gpus)


def calls(mode: str) -> list[dict[str, Any]]:
    with (RECORDED / f"calls-nodecache-{mode}.jsonl").open() as f:
        return [json.loads(line) for line in f]


def client(policy: str = "fgd") -> tuple[TestClient, Book, MemoryBinder]:
    book, binder = Book(policy, TYPICAL), MemoryBinder()
    return TestClient(make_app(book, binder), raise_server_exceptions=False), book, binder


def pod(name: str, milli: int = 500, count: int = 1, model: str = "", cpu: str = "1") -> dict[str, Any]:
    notes = {"alibabacloud.com/gpu-milli": str(milli), "alibabacloud.com/gpu-count": str(count)}
    if model:
        notes["alibabacloud.com/gpu-card-model"] = model
    resources = {"requests": {"cpu": cpu, "memory": "1Gi", "alibabacloud.com/gpu-milli": str(milli)}}
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": notes},
        "spec": {"containers": [{"name": "main", "resources": resources}]},
    }


def node(name: str, gpus: int, model: str, cpu: str = "64", memory: str = "256Gi") -> dict[str, Any]:
    capacity = {"cpu": cpu, "memory": memory, "alibabacloud.com/gpu-count": str(gpus)}
    labels = {"alibabacloud.com/gpu-card-model": model} if gpus else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


@needs_data
def test_recorded_filter_calls_without_the_node_cache_get_full_node_objects_back() -> None:
    http, book, _ = client()
    answers = {}
    for call in calls("false"):
        if call["verb"] == "filter":
            reply = http.post(call["path"], content=call["request_body"])
            assert reply.status_code == 200
            answers.setdefault(call["pod"], reply.json())
    half = answers["gpu-share-half"]
    assert set(half) == {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}
    assert half["NodeNames"] is None and half["Error"] == ""
    names = [item["metadata"]["name"] for item in half["Nodes"]["items"]]
    assert sorted(names) == ["node-a100-c", "node-t4-b", "node-v100-a"]
    sent = json.loads(next(c for c in calls("false") if c["pod"] == "gpu-share-half")["request_body"])
    full = {item["metadata"]["name"]: item for item in sent["Nodes"]["items"]}
    assert all(item == full[item["metadata"]["name"]] for item in half["Nodes"]["items"])  # untouched
    assert half["FailedAndUnresolvableNodes"] == {"node-cpu-d": "schedlab: node has no GPU"}
    t4 = answers["gpu-t4-only"]
    assert [item["metadata"]["name"] for item in t4["Nodes"]["items"]] == ["node-t4-b"]
    assert "pod wants gpu-card-model T4" in t4["FailedAndUnresolvableNodes"]["node-a100-c"]
    assert len(book.nodes) == 4


@needs_data
def test_recorded_calls_with_the_node_cache_after_learning_the_nodes() -> None:
    http, book, binder = client()
    first = json.loads(calls("false")[0]["request_body"])
    book.upsert([parse_node(item) for item in first["Nodes"]["items"]])  # as list + watch would
    for call in calls("true"):
        reply = http.post(call["path"], content=call["request_body"])
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if call["verb"] == "filter":
            assert body["Nodes"] is None and isinstance(body["NodeNames"], list)
            asked = json.loads(call["request_body"])["NodeNames"]
            assert set(body["NodeNames"]) <= set(asked)  # never a node it was not asked about
        elif call["verb"] == "prioritize":
            assert [s["Score"] for s in body].count(10) == 1 and all(0 <= s["Score"] <= 10 for s in body)
        elif call["verb"] == "bind":
            assert body == {"Error": ""}
        elif call["verb"] == "preempt":
            assert len(body["NodeNameToMetaVictims"]) == 1  # schedlab decides where (test_preempt.py)
    uid = json.loads(calls("true")[0]["request_body"])["Pod"]["metadata"]["uid"]
    chosen, gpus = binder.bound[uid]
    assert chosen == "node-v100-a" and len(gpus) == 1  # where kube-scheduler chose to bind it
    assert book.cluster.gpu_free[book.index["node-v100-a"]].tolist().count(500) == 1


def test_quantities_in_every_kubernetes_form() -> None:
    def asked(**resources: str) -> PodRequest:
        return parse_pod({"metadata": {"name": "p"}, "spec": {"containers": [{"resources": resources}]}})

    assert asked(requests={"alibabacloud.com/gpu-milli": "1.5k"}).num_gpu == 2  # 1500: two whole GPUs
    half = asked(limits={"alibabacloud.com/gpu-milli": "500", "cpu": "500m", "memory": "1Gi"})
    assert (half.num_gpu, half.gpu_milli, half.cpu_milli, half.memory_mib) == (1, 500, 500, 1024)
    two = asked(requests={"alibabacloud.com/gpu-milli": "1k", "alibabacloud.com/gpu-count": "2"})
    assert (two.num_gpu, two.gpu_milli) == (2, 1000)
    assert asked(requests={"cpu": "2"}).wants_gpu is False
    for bad, message in [
        ("lots", "not a Kubernetes quantity"),
        ("-5", "out of range"),
        ("1e30", "out of range"),
    ]:
        with pytest.raises(BadRequest, match=message):
            asked(requests={"alibabacloud.com/gpu-milli": bad})
    with pytest.raises(BadRequest, match="only one GPU can be shared"):
        asked(requests={"alibabacloud.com/gpu-milli": "500", "alibabacloud.com/gpu-count": "2"})
    node_gpus = parse_node({"metadata": {"name": "n"}, "status": {"capacity": {"nvidia.com/gpu": "4"}}})
    assert node_gpus.num_gpu == 4


def test_binds_are_idempotent_and_conflicts_are_errors() -> None:
    http, book, binder = client()
    book.upsert([parse_node(node("a", 1, "T4")), parse_node(node("b", 1, "T4"))])
    for name in ("p", "q"):
        filtered = http.post("/filter", json={"Pod": pod(name, 600), "Nodes": None, "NodeNames": ["a", "b"]})
        assert filtered.json()["NodeNames"] == (["a", "b"] if name == "p" else ["b"])
        bind = {"PodName": name, "PodNamespace": "default", "PodUID": f"uid-{name}", "Node": "a"}
        if name == "p":
            assert http.post("/bind", json=bind).json() == {"Error": ""}
            assert http.post("/bind", json=bind).json() == {"Error": ""}  # again: nothing changes
            assert (
                http.post("/bind", json={**bind, "Node": "b"}).json()["Error"].endswith("already bound to a")
            )
        else:  # a conflicting bind: answered with an Error, nothing bound
            assert "no longer fits node a" in http.post("/bind", json=bind).json()["Error"]
    assert binder.bound == {"uid-p": ("a", (0,))}
    assert book.cluster.gpu_free.tolist() == [[400], [1000]]
    unknown = {"PodName": "x", "PodNamespace": "default", "PodUID": "uid-x", "Node": "a"}
    assert "no filter or prioritize call seen" in http.post("/bind", json=unknown).json()["Error"]


def test_a_restarted_service_rebuilds_its_state_from_the_gpu_index_annotations() -> None:
    http, book, binder = client()
    nodes = [node("a", 2, "V100"), node("b", 1, "T4")]
    book.upsert([parse_node(n) for n in nodes])
    pods = [pod(f"p{i}", milli) for i, milli in enumerate([700, 300, 1000, 500])]
    for p in pods:
        names = http.post("/filter", json={"Pod": p, "NodeNames": ["a", "b"]}).json()["NodeNames"]
        if not names:
            continue
        scores = http.post("/prioritize", json={"Pod": p, "NodeNames": names}).json()
        best = max(scores, key=lambda s: s["Score"])["Host"]
        uid = p["metadata"]["uid"]
        assert http.post(
            "/bind", json={"PodName": "x", "PodNamespace": "d", "PodUID": uid, "Node": best}
        ).json() == {"Error": ""}
    before = book.cluster.gpu_free.copy()
    restarted = Book("fgd", TYPICAL)
    restarted.upsert([parse_node(n) for n in nodes])
    for p in pods:
        if p["metadata"]["uid"] in binder.bound:
            where, gpus = binder.bound[p["metadata"]["uid"]]
            annotated = {
                **p,
                "metadata": {**p["metadata"], "annotations": {GPU_INDEX: ",".join(map(str, gpus))}},
            }
            restarted.learn(parse_pod(annotated), where, gpu_index(annotated) or ())
    assert np.array_equal(restarted.cluster.gpu_free, before)
    assert (restarted.cluster.gpu_free >= 0).all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([100, 300, 500, 700, 1000]), st.booleans()), min_size=1, max_size=40)
)
def test_concurrent_binds_and_deletions_never_double_book_a_gpu(ops: list[tuple[int, bool]]) -> None:
    book = Book("bestfit", TYPICAL)
    book.upsert([parse_node(node("a", 2, "T4")), parse_node(node("b", 1, "T4"))])

    def work(i: int, milli: int, delete: bool) -> None:
        request = parse_pod(pod(f"p{i}", milli))
        names, _, _ = book.filter(request, ["a", "b"])
        for name in names:
            try:
                book.bind(request.uid, name)
                break
            except BindError:
                continue
        if delete:
            book.release(request.uid)

    threads = [threading.Thread(target=work, args=(i, m, d)) for i, (m, d) in enumerate(ops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    free = book.cluster.gpu_free
    assert (free >= 0).all() and (free <= 1000).all()
    held = sum(h.pod.gpu_milli * h.pod.num_gpu for h in book.held.values())
    assert held == 3000 - int(free.sum())


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/filter", b"{not json", 400, "malformed JSON"),
        ("/filter", b"[]", 400, "must be a JSON object"),
        ("/filter", b'{"Nodes": null}', 400, "missing field Pod"),
        ("/prioritize", b'{"Pod": {"metadata": {"name": "p"}}, "NodeNames": 5}', 400, "NodeNames"),
        ("/scheduler/preempt", b"{}", 400, "must be a JSON object with Pod"),
        ("/scheduler/reserve", b"{}", 404, "unknown extender verb 'reserve'"),
        ("/bind", b'{"PodName": "p"}', 200, "bind request without PodNamespace"),
    ],
)
def test_bad_requests_are_answered_never_crashed_on(
    path: str, body: bytes, status: int, message: str
) -> None:
    http, _, _ = client()
    reply = http.post(path, content=body)
    assert reply.status_code == status and message in reply.json()["Error"]
    assert http.get("/healthz").text == "ok"


def test_a_bad_quantity_is_an_error_in_the_protocol_s_answer() -> None:
    http, _, _ = client()
    bad = pod("p")
    bad["metadata"]["annotations"]["alibabacloud.com/gpu-milli"] = "a lot"
    body = http.post("/filter", json={"Pod": bad, "NodeNames": ["a"]}).json()
    assert body["NodeNames"] is None and "not a Kubernetes quantity: 'a lot'" in body["Error"]


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: (
            st.lists(c)
            | st.dictionaries(
                st.sampled_from(
                    ["Pod", "Nodes", "NodeNames", "metadata", "name", "spec", "items", "PodUID", "Node"]
                ),
                c,
            )
        ),
        max_leaves=12,
    )
)
def test_no_request_makes_a_500(doc: Any) -> None:
    http, _, _ = client()
    for verb in ("filter", "prioritize", "bind"):
        assert http.post(f"/{verb}", json=doc).status_code in (200, 400)


def test_metrics_and_health() -> None:
    http, book, _ = client()
    book.upsert([parse_node(node("a", 1, "T4"))])
    http.post("/filter", json={"Pod": pod("p"), "NodeNames": ["a"]})
    http.post("/bind", json={"PodName": "p", "PodNamespace": "default", "PodUID": "uid-p", "Node": "a"})
    text = http.get("/metrics").text
    assert 'schedlab_extender_requests_total{status="200",verb="filter"} 1.0' in text
    assert "schedlab_pods_bound_total 1.0" in text and "schedlab_gpu_allocation 0.5" in text
    assert "schedlab_extender_latency_seconds_bucket" in text
