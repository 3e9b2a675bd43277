"""The extender against a fake API server that has bad days: watches dropped, pods deleted
during the gap, history compacted (410 Gone), the server away for seconds, slow writes."""

from __future__ import annotations

import faulthandler
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")
from starlette.testclient import TestClient

from schedlab.serve.app import make_app
from schedlab.serve.book import Book
from schedlab.serve.health import Health
from schedlab.serve.informer import Informer
from schedlab.serve.kube import KubeBinder, KubeSource, connect
from schedlab.serve.objects import GPU_INDEX
from tests.serve.fakeapi import FakeApi
from tests.serve.test_extender import TYPICAL, node, pod


def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:  # say where every thread is
            faulthandler.dump_traceback(sys.stderr, all_threads=True)
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


def bound(name: str, where: str, gpus: str, milli: int = 1000, count: int = 1) -> dict[str, Any]:
    p = pod(name, milli, count)
    p["metadata"]["annotations"][GPU_INDEX] = gpus
    return {**p, "spec": {**p["spec"], "nodeName": where}, "status": {"phase": "Running"}}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeApi, Book, Informer, Any]]:
    """Two 4-GPU nodes, four pods holding one GPU each, an informer following them."""
    fake = FakeApi()
    fake.put("nodes", node("n1", 4, "T4"))
    fake.put("nodes", node("n2", 4, "T4"))
    for i in range(4):
        fake.put("pods", bound(f"p{i}", f"n{1 + i % 2}", str(i // 2)))
    api = connect(fake.kubeconfig(tmp_path))
    book = Book("fgd", TYPICAL)
    informer = Informer(book, KubeSource(api, timeout=2.0), watch_timeout=2, backoff=(0.05, 0.4))
    informer.sync()
    informer.start()
    yield fake, book, informer, api
    informer.close()
    if fake.server is not None:
        fake.down()


def post(http: HTTPConnection, path: str, doc: Any) -> Any:
    http.request("POST", path, json.dumps(doc), {"Content-Type": "application/json"})
    return json.loads(http.getresponse().read())


def free(book: Book) -> list[list[int]]:
    with book.lock:
        return book.cluster.gpu_free.tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("compacted", [False, True], ids=["resumed", "410-relisted"])
def test_pods_deleted_while_the_api_server_was_away_give_their_gpus_back(
    cluster: tuple[FakeApi, Book, Informer, Any], compacted: bool
) -> None:
    fake, book, informer, _ = cluster
    assert free(book) == [[0, 0, 1000, 1000]] * 2 and len(book.held) == 4
    fake.down()
    time.sleep(1.0)  # several failed watches and retries
    fake.delete("pods", "default/p0")
    fake.delete("pods", "default/p3")
    if compacted:
        fake.compact()
    fake.up()
    until(lambda: len(book.held) == 2)
    assert free(book) == [[1000, 0, 1000, 1000], [0, 1000, 1000, 1000]]
    assert sorted(book.held) == ["uid-p1", "uid-p2"]
    assert informer.alive() and informer.restarts["pods"] >= 1
    assert informer.relists["pods"] == (1 if compacted else 0)
    fake.put("nodes", node("n3", 2, "V100"))  # and the loops still follow
    until(lambda: "n3" in book.nodes)


def test_a_relist_drops_nodes_gone_and_updates_changed_ones(
    cluster: tuple[FakeApi, Book, Informer, Any],
) -> None:
    fake, book, informer, _ = cluster
    fake.down()
    fake.delete("nodes", "n2")
    fake.put("nodes", node("n1", 8, "T4"))
    fake.compact()
    fake.up()
    until(lambda: "n2" not in book.nodes and book.nodes["n1"].num_gpu == 8)
    assert informer.relists["nodes"] == 1
    assert free(book) == [[0, 0] + [1000] * 6]  # n1's pods still hold their GPUs


def test_a_dropped_watch_resumes_from_its_version_without_listing_again(
    cluster: tuple[FakeApi, Book, Informer, Any],
) -> None:
    fake, book, informer, _ = cluster
    for i in (3, 2, 1):
        fake.drop_watches()
        fake.delete("pods", f"default/p{i}")
        time.sleep(0.1)
    until(lambda: len(book.held) == 1)
    assert informer.relists == {"nodes": 0, "pods": 0}


def test_objects_the_service_cannot_read_are_skipped_with_one_warning(
    cluster: tuple[FakeApi, Book, Informer, Any], caplog: pytest.LogCaptureFixture
) -> None:
    fake, book, informer, _ = cluster
    broken = node("bad", 2, "T4")
    broken["status"]["capacity"]["cpu"] = "lots"
    with caplog.at_level(logging.WARNING, logger="schedlab"):
        fake.put("nodes", broken)
        fake.put("nodes", node("n4", 2, "T4"))
        until(lambda: "n4" in book.nodes)
        informer.list("nodes")  # listings see it again: no second warning
        informer.list("nodes")
    assert "bad" not in book.nodes and "n4" in book.nodes
    warned = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(warned) == 1 and "bad" in warned[0] and "cpu" in warned[0], warned


def test_health_is_unready_while_the_view_is_stale_and_not_live_once_the_loops_stop(
    cluster: tuple[FakeApi, Book, Informer, Any],
) -> None:
    fake, book, informer, _ = cluster
    health = Health(informer, stale_after=1.0)
    http = TestClient(make_app(book, health=health))
    assert http.get("/readyz").status_code == 200 and http.get("/livez").text == "ok"
    fake.down()
    until(lambda: http.get("/readyz").status_code == 503)
    assert "old" in http.get("/readyz").text and http.get("/livez").status_code == 200
    metrics = http.get("/metrics").text
    assert 'schedlab_watch_restarts_total{kind="pods"}' in metrics
    fake.up()
    until(lambda: http.get("/readyz").status_code == 200)
    informer.close()
    until(lambda: http.get("/livez").status_code == 503)
    assert http.get("/healthz").status_code == 503


def test_readyz_waits_for_the_kernels_to_warm_up() -> None:
    book = Book("fgd", TYPICAL)
    health = Health()
    http = TestClient(make_app(book, health=health, warm_up=True))
    until(health.warm.is_set, 120)
    assert http.get("/readyz").text == "ok" and not book.pending


def test_a_slow_api_server_does_not_hold_up_filter_calls(
    cluster: tuple[FakeApi, Book, Informer, Any],
) -> None:
    """Binds whose writes take 100 ms (two of 50 ms) run beside filter calls that do not wait."""
    import uvicorn

    fake, book, _, api = cluster
    for i in range(3, 9):
        fake.put("nodes", node(f"n{i}", 8, "T4"))
    until(lambda: len(book.nodes) == 8)
    for j in range(12):
        fake.put("pods", pod(f"w{j}", 500))
    fake.write_delay = 0.05
    fake.refuse_binding.add("w5")
    fake.lose_answer.add("w7")  # bound, but the answer is lost: still a bind that holds its GPUs
    server = uvicorn.Server(uvicorn.Config(make_app(book, KubeBinder(api)), port=0, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    names = sorted(book.nodes)
    answers: dict[str, Any] = {}

    def binder(k: int) -> None:
        http = HTTPConnection("127.0.0.1", port)
        for j in range(k, 12, 3):
            post(http, "/filter", {"Pod": pod(f"w{j}", 500), "NodeNames": names})
            doc = {"PodName": f"w{j}", "PodNamespace": "default", "PodUID": f"uid-w{j}", "Node": "n5"}
            answers[f"w{j}"] = post(http, "/bind", doc)

    latencies = []
    http = HTTPConnection("127.0.0.1", port)
    for j in range(5):  # the connection and the kernels warm
        post(http, "/filter", {"Pod": pod(f"f{j}", 300), "NodeNames": names})
    threads = [threading.Thread(target=binder, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    j = 0
    while any(t.is_alive() for t in threads):
        began = time.perf_counter()
        post(http, "/filter", {"Pod": pod(f"f{j}", 300), "NodeNames": names})
        latencies.append(time.perf_counter() - began)
        j += 1
    server.should_exit = True
    assert len(answers) == 12 and answers["w5"]["Error"] == (
        "schedlab: binding default/w5 to n5 failed: the API server answered 500 Internal Server Error"
    )
    assert all(a == {"Error": ""} for k, a in answers.items() if k != "w5"), answers
    latencies.sort()
    # before binds ran off the request path, a filter waited up to 100 ms behind each bind
    assert len(latencies) > 20 and latencies[int(0.9 * len(latencies))] < 0.03, latencies[-5:]
    until(lambda: len([u for u in book.held if u.startswith("uid-w")]) == 11)
    assert "uid-w5" not in book.held and not book.inflight  # the refused one gave its GPUs back
    assert sum(free(book)[book.index["n5"]]) == 8000 - 11 * 500


def test_one_replica_holds_the_lease_and_a_standby_takes_over(
    cluster: tuple[FakeApi, Book, Informer, Any],
) -> None:
    from kubernetes import client

    from schedlab.serve.leader import Leader

    fake, book, informer, api = cluster
    leases = client.CoordinationV1Api(api.api_client)
    a, b = (Leader(leases, "kube-system", "schedlab", who, duration=1.0, renew=0.2) for who in "ab")
    assert a.try_once() and a.leading()
    assert not b.try_once() and b.holder == "a" and not b.leading()
    assert not b._write(None)  # a create racing the first one: 409, not a second leader
    standby = TestClient(make_app(book, health=Health(informer, leader=b)))
    assert standby.get("/readyz").text == "standing by: a holds the Lease"
    bind = {"PodName": "x", "PodNamespace": "default", "PodUID": "uid-x", "Node": "n1"}
    assert standby.post("/bind", json=bind).json() == {"Error": "schedlab: standing by: a holds the Lease"}
    time.sleep(0.5)
    assert a.try_once() and not b.try_once()  # a renews: b keeps waiting
    time.sleep(1.1)  # a stops renewing: after a whole lease duration b takes over
    assert b.try_once() and b.leading() and fake.leases["schedlab"]["spec"]["leaseTransitions"] == 1
    assert not a.try_once() and not a.leading() and a.holder == "b"
    assert standby.get("/readyz").text == "ok"
    b.release()  # shutting down: a may take over at once
    assert a.try_once() and a.leading()


def test_two_serve_processes_one_ready_and_the_standby_takes_over_when_the_leader_stops(
    tmp_path: Path,
) -> None:
    """`serve --leader-elect` as two processes: one binds, and SIGTERM hands the Lease over."""
    import signal
    import socket
    import subprocess
    import urllib.error
    import urllib.request

    fake = FakeApi()
    fake.put("nodes", node("n1", 4, "T4"))
    config = fake.kubeconfig(tmp_path)
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    command = [sys.executable, "-m", "schedlab", "serve", "--kubeconfig", config]
    command += ["--leader-elect", "ns/lease"]  # both replicas, one lease
    servers = {p: subprocess.Popen([*command, "--port", str(p)], stderr=subprocess.DEVNULL) for p in ports}

    def ready(port: int) -> int:
        try:
            return int(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status)
        except urllib.error.HTTPError as err:
            return int(err.code)
        except OSError:
            return 0

    try:
        until(lambda: sorted(ready(p) for p in ports) == [200, 503], 120)
        leader = next(p for p in ports if ready(p) == 200)
        standby = next(p for p in ports if p != leader)
        servers[leader].send_signal(signal.SIGTERM)
        began = time.monotonic()
        until(lambda: ready(standby) == 200, 10)
        assert time.monotonic() - began < 5  # not the Lease's 15 s: the leader gave it up
        servers[leader].wait(10)
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(10)
        fake.down()
