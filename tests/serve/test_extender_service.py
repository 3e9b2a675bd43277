"""The kube-scheduler extender as a service: placements equal to schedlab's own, its
deployment examples, the book rebuilt from the API server, the compiled path answering as
the plain one, and ``schedlab serve`` over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.objects import GPU_INDEX, parse_node, parse_pod
from tests.serve.test_extender import TYPICAL, MemoryBinder, client, node, pod


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

    from schedlab.cluster.mig import mig_model

    root = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"
    (config,) = yaml.safe_load_all((root / "scheduler-config.yaml").read_text())
    (extender,) = config["extenders"]
    verbs = ("filterVerb", "prioritizeVerb", "preemptVerb", "bindVerb")
    assert [extender[v] for v in verbs] == ["filter", "prioritize", "preempt", "bind"]
    assert extender["nodeCacheCapable"] is True
    first, *instances = extender["managedResources"]
    assert first == {"name": "alibabacloud.com/gpu-milli", "ignoredByScheduler": True}
    a100 = mig_model("A100-80GB")
    assert a100 is not None
    assert [r["name"] for r in instances] == sorted(p.resource for p in a100.profiles if not p.media)
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
