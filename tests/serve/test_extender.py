"""The kube-scheduler extender: recorded kube-scheduler payloads, quantities, binds, restarts,
concurrency, bad input, and placements equal to schedlab's own."""

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


def test_placements_through_the_service_equal_schedlab_s_own() -> None:
    """openb pods one by one on openb nodes, through filter -> prioritize -> bind as a
    kube-scheduler whose extender score decides would call it, against the Placer."""
    from schedlab.scheduler.placer import Placer
    from schedlab.trace import default_nodes_path, load_nodes

    every = load_nodes(default_nodes_path())
    keep = np.flatnonzero(every.num_gpu > 0)[:40]
    specs = [
        node(
            str(every.name[i]),
            int(every.num_gpu[i]),
            str(every.model[i]),
            f"{every.cpu_milli[i]}m",
            f"{every.memory_mib[i]}Mi",
        )
        for i in keep
    ]
    tasks = TYPICAL
    gpu_pods = np.flatnonzero(tasks.num_gpu > 0)[:150]
    http, book, binder = client("fgd")
    book.upsert([parse_node(s) for s in specs])
    reference = Book("fgd", TYPICAL)  # the same cluster model, placed by the Placer directly
    reference.upsert([parse_node(s) for s in specs])
    placer = Placer(reference.cluster, reference.policy, np.arange(len(reference.cluster)))
    names = sorted(book.index)
    for t in gpu_pods.tolist():
        k, milli = int(tasks.num_gpu[t]), int(tasks.gpu_milli[t])
        spec = pod(f"t{t}", milli if k == 1 else 1000, k, str(tasks.gpu_spec[t]), f"{tasks.cpu_milli[t]}m")
        request = parse_pod(spec)
        expected = placer.place(reference.shape(request))
        feasible = [
            n for n in names if book.cluster.feasible(book.shape(request), np.array([book.index[n]]))[0]
        ]
        passed = http.post("/filter", json={"Pod": spec, "NodeNames": feasible}).json()["NodeNames"]
        if expected is None:
            assert not passed
            continue
        scores = http.post("/prioritize", json={"Pod": spec, "NodeNames": passed}).json()
        best = max(scores, key=lambda s: s["Score"])["Host"]
        bind = {"PodName": f"t{t}", "PodNamespace": "default", "PodUID": request.uid, "Node": best}
        assert http.post("/bind", json=bind).json() == {"Error": ""}
        assert binder.bound[request.uid] == (names[expected.node], expected.gpus)


def test_the_deployment_examples_are_valid_yaml_with_the_verbs_schedlab_serves() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"
    (config,) = yaml.safe_load_all((root / "scheduler-config.yaml").read_text())
    (extender,) = config["extenders"]
    verbs = ("filterVerb", "prioritizeVerb", "preemptVerb", "bindVerb")
    assert [extender[v] for v in verbs] == ["filter", "prioritize", "preempt", "bind"]
    assert extender["nodeCacheCapable"] is True
    assert extender["managedResources"] == [
        {"name": "alibabacloud.com/gpu-milli", "ignoredByScheduler": True}
    ]
    docs = list(yaml.safe_load_all((root / "deployment.yaml").read_text()))
    (deployment,) = [doc for doc in docs if doc["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probes = {k: container[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes == {"startupProbe": "/livez", "readinessProbe": "/readyz", "livenessProbe": "/livez"}
    kinds = [doc["kind"] for doc in docs]
    assert kinds == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Service",
    ]


def test_listing_the_api_server_rebuilds_the_book_and_binds_write_gpu_indices(tmp_path: Path) -> None:
    from schedlab.serve.informer import Informer
    from schedlab.serve.kube import KubeBinder, KubeSource, connect
    from tests.serve.fakeapi import FakeApi

    def bound(p: dict[str, Any], where: str, gpus: str, phase: str = "Running") -> dict[str, Any]:
        meta = {**p["metadata"], "annotations": {**p["metadata"]["annotations"], GPU_INDEX: gpus}}
        return {**p, "metadata": meta, "spec": {**p["spec"], "nodeName": where}, "status": {"phase": phase}}

    fake = FakeApi()
    for n in (node("n1", 2, "T4"), node("n2", 2, "V100")):
        fake.put("nodes", n)
    for p in (bound(pod("a", 700), "n1", "1"), bound(pod("b", 1000, 2), "n2", "0,1")):
        fake.put("pods", p)
    fake.put("pods", bound(pod("c", 500), "n1", "0", "Succeeded"))
    fake.put("pods", pod("d", 400))
    try:
        api = connect(fake.kubeconfig(tmp_path))
        book = Book("fgd", TYPICAL)
        informer = Informer(book, KubeSource(api))
        informer.sync()
        assert sorted(book.held) == ["uid-a", "uid-b"]  # c has finished
        assert book.cluster.gpu_free.tolist() == [[1000, 300], [0, 0]]
        informer.observe_pod("DELETED", fake.objects["pods"]["default/a"])
        assert book.cluster.gpu_free.tolist() == [[1000, 1000], [0, 0]]
        request = parse_pod(pod("d", 400))
        book.filter(request, ["n1", "n2"])
        _, gpus = book.bind(request.uid, "n1") or (None, ())
        KubeBinder(api).bind(request, "n1", gpus)
        written = fake.objects["pods"]["default/d"]
        assert written["spec"]["nodeName"] == "n1"
        assert written["metadata"]["annotations"][GPU_INDEX] == ",".join(map(str, gpus))
    finally:
        fake.down()


@settings(max_examples=40, deadline=None)
@given(
    gpus=st.lists(st.sampled_from([0, 1, 2, 4, 8]), min_size=1, max_size=12),
    requests=st.lists(
        st.tuples(
            st.sampled_from([100, 500, 1000]), st.sampled_from([1, 2]), st.sampled_from(["", "T4", "V100"])
        ),
        min_size=1,
        max_size=8,
    ),
    extra=st.lists(st.sampled_from(["ghost", "node-x", "n-0"]), max_size=3),
    seed=st.integers(0, 100),
)
def test_the_compiled_path_answers_as_the_plain_one(
    gpus: list[int], requests: list[tuple[int, int, str]], extra: list[str], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    specs = [node(f"n{i}", g, "T4" if i % 2 else "V100") for i, g in enumerate(gpus)]
    apps = []
    for compiled in (True, False):
        book, binder = Book("fgd", TYPICAL), MemoryBinder()
        book.upsert([parse_node(s) for s in specs])
        apps.append(TestClient(make_app(book, binder, compiled=compiled), raise_server_exceptions=False))
    names = [f"n{i}" for i in rng.permutation(len(gpus))] + extra
    for k, (milli, count, model) in enumerate(requests):
        body = {
            "Pod": pod(f"p{k}", milli if count == 1 else 1000, count, model),
            "Nodes": None,
            "NodeNames": names,
        }
        answers = [
            [http.post(f"/{verb}", json=body).json() for verb in ("filter", "prioritize")] for http in apps
        ]
        assert answers[0] == answers[1]
        passed = answers[0][0]["NodeNames"]
        if passed:
            bind = {"PodName": f"p{k}", "PodNamespace": "default", "PodUID": f"uid-p{k}", "Node": passed[0]}
            assert [http.post("/bind", json=bind).json() for http in apps] == [{"Error": ""}] * 2


def test_the_compiled_path_takes_node_names_and_leaves_node_lists_to_the_plain_one() -> None:
    from schedlab.serve.fast import FastNames

    book = Book("fgd", TYPICAL)
    book.upsert([parse_node(node("a", 2, "T4"))])
    fast = FastNames()
    names = json.dumps({"Pod": pod("p"), "Nodes": None, "NodeNames": ["a", "b"]}).encode()
    assert json.loads(fast.filter(book, names) or b"null")["NodeNames"] == ["a"]
    assert json.loads(fast.prioritize(book, names) or b"null") == [
        {"Host": "a", "Score": 10},
        {"Host": "b", "Score": 0},
    ]
    listed = json.dumps(
        {"Pod": pod("p"), "Nodes": {"items": [node("a", 2, "T4")]}, "NodeNames": None}
    ).encode()
    assert fast.filter(book, listed) is None
    escaped = json.dumps({"Pod": pod("p"), "NodeNames": ["a\\u00e9"]}).encode()
    assert fast.filter(book, escaped) is None


def test_the_serve_command_answers_over_http(tmp_path: Path) -> None:
    """`schedlab serve --nodes FILE` as a process: health, then a filter call over a socket."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,64000,262144,2,T4\nb,64000,262144,0,\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "schedlab", "serve", "--port", str(port), "--nodes", str(nodes)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                assert urllib.request.urlopen(f"{base}/readyz", timeout=2).read() == b"ok"
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "the service did not start"
                time.sleep(0.2)
        body = json.dumps({"Pod": pod("p", 500), "Nodes": None, "NodeNames": ["a", "b"]}).encode()
        request = urllib.request.Request(f"{base}/scheduler/filter", data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
        assert answer["NodeNames"] == ["a"] and answer["FailedAndUnresolvableNodes"] == {
            "b": "schedlab: node has no GPU"
        }
    finally:
        server.terminate()
        server.wait(20)
