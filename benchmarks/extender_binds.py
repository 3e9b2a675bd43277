"""Do slow API writes hold up ``schedlab serve``? kube-scheduler's loop against a slow API server.

Starts a fake Kubernetes API server on loopback (``tests/serve/fakeapi.py``) whose writes
(the gpu-index patch, the Binding) each take ``--write-ms`` (50), holding ``--nodes`` GPU
nodes of the embedded openb list, and ``schedlab serve --kubeconfig`` following it. Then
plays kube-scheduler's loop for ``--pods`` openb GPU pods, one at a time as it schedules:
filter, prioritize over the nodes that passed, and the bind started in the background (the
scheduler binds asynchronously) before the next pod's filter. Prints filter and prioritize
p50/p99 (client side), the time for all pods to be bound, and the same with instant writes.
Loopback only, bounded. Usage: ``python benchmarks/extender_binds.py [--pods 150]
[--nodes 200] [--write-ms 50]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serve.fakeapi import FakeApi

from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cluster(fake: FakeApi | None, count: int, pods: int, seed: int) -> tuple[list[str], list[dict[str, Any]]]:
    """``count`` openb GPU nodes (their names) and ``pods`` openb GPU pods, created in
    ``fake`` (unbound) when given."""
    nodes = load_nodes(default_nodes_path())
    names = []
    for i in np.flatnonzero(nodes.num_gpu > 0)[:count].tolist():
        capacity = {
            "cpu": f"{nodes.cpu_milli[i]}m",
            "memory": f"{nodes.memory_mib[i]}Mi",
            "alibabacloud.com/gpu-count": str(nodes.num_gpu[i]),
        }
        labels = {"alibabacloud.com/gpu-card-model": str(nodes.model[i])}
        meta = {"name": str(nodes.name[i]), "labels": labels}
        names.append(str(nodes.name[i]))
        if fake is not None:
            fake.put("nodes", {"metadata": meta, "status": {"capacity": capacity, "allocatable": capacity}})
    tasks = load_tasks(default_pods_path())
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.flatnonzero(tasks.num_gpu > 0), size=pods, replace=False)
    made = []
    for k, t in enumerate(chosen.tolist()):
        milli = int(tasks.gpu_milli[t]) if int(tasks.num_gpu[t]) == 1 else 1000
        notes = {
            "alibabacloud.com/gpu-milli": str(milli),
            "alibabacloud.com/gpu-count": str(tasks.num_gpu[t]),
        }
        resources = {"requests": {"cpu": f"{tasks.cpu_milli[t]}m", "alibabacloud.com/gpu-milli": str(milli)}}
        pod = {
            "metadata": {"name": f"p{k}", "namespace": "default", "uid": f"u{k}", "annotations": notes},
            "spec": {"containers": [{"name": "main", "resources": resources}]},
        }
        if fake is not None:
            fake.put("pods", pod)
        made.append(pod)
    return sorted(names), made


def post(http: HTTPConnection, path: str, doc: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    http.request("POST", path, json.dumps(doc), {"Content-Type": "application/json"})
    answer = json.loads(http.getresponse().read())
    return answer, time.perf_counter() - began


def schedule(port: int, pods: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """kube-scheduler's loop: per pod filter, prioritize, then bind in the background."""
    http = HTTPConnection("127.0.0.1", port)
    times: dict[str, list[float]] = {"filter": [], "prioritize": []}
    binds: list[threading.Thread] = []
    failed: list[str] = []

    def bind(doc: dict[str, str]) -> None:
        answer, _ = post(HTTPConnection("127.0.0.1", port), "/scheduler/bind", doc)
        if answer.get("Error"):
            failed.append(answer["Error"])

    began = time.perf_counter()
    for pod in pods:
        answer, took = post(http, "/scheduler/filter", {"Pod": pod, "Nodes": None, "NodeNames": names})
        times["filter"].append(took)
        passed = answer["NodeNames"] or []
        if not passed:
            continue
        scores, took = post(http, "/scheduler/prioritize", {"Pod": pod, "Nodes": None, "NodeNames": passed})
        times["prioritize"].append(took)
        best = max(scores, key=lambda s: s["Score"])["Host"]
        meta = pod["metadata"]
        doc = {"PodName": meta["name"], "PodNamespace": "default", "PodUID": meta["uid"], "Node": best}
        thread = threading.Thread(target=bind, args=(doc,))
        thread.start()
        binds.append(thread)
    for thread in binds:
        thread.join()
    return {"times": times, "wall": time.perf_counter() - began, "bound": len(binds) - len(failed)}


def fake_api(args: argparse.Namespace, folder: str) -> None:
    """The fake API server's own process (so that its threads do not slow the client):
    writes its kubeconfig into ``folder`` and serves until stdin closes."""
    fake = FakeApi()
    cluster(fake, args.nodes, args.pods, args.seed)
    fake.write_delay = args.write_ms / 1000
    fake.kubeconfig(Path(folder))
    print("ready", flush=True)
    sys.stdin.read()


def run(args: argparse.Namespace, write_ms: float) -> dict[str, Any]:
    names, pods = cluster(None, args.nodes, args.pods, args.seed)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        mine = [sys.executable, __file__, "--fake-api", tmp, "--write-ms", str(write_ms)]
        sizes = ["--nodes", str(args.nodes), "--pods", str(args.pods), "--seed", str(args.seed)]
        fake = subprocess.Popen([*mine, *sizes], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert fake.stdout is not None and fake.stdout.readline().strip() == "ready"
        command = [sys.executable, "-m", "schedlab", "serve", "--port", str(port)]
        server = subprocess.Popen([*command, "--kubeconfig", str(Path(tmp) / "kubeconfig")])
        try:
            deadline = time.monotonic() + 120
            while True:  # ready: listed and warm
                try:
                    ready = HTTPConnection("127.0.0.1", port, timeout=2)
                    ready.request("GET", "/readyz")
                    if ready.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("schedlab serve did not become ready in 120 s")
                time.sleep(0.1)
            result = schedule(port, pods, names)
            result["inside"] = inside(port)
            return result
        finally:
            server.terminate()
            server.wait(10)
            fake.communicate("", timeout=10)


def inside(port: int) -> dict[str, tuple[float, float]]:
    """Per verb, from the server's latency histogram: the mean (ms) and the share of calls
    answered within 5 ms."""
    http = HTTPConnection("127.0.0.1", port, timeout=10)
    http.request("GET", "/metrics")
    lines = http.getresponse().read().decode().splitlines()
    found = {}
    for verb in ("filter", "prioritize", "bind"):

        def value(prefix: str, lines: list[str] = lines, verb: str = verb) -> float:
            key = prefix.replace("VERB", verb)
            return next(float(line.split()[-1]) for line in lines if line.startswith(key))

        count = value('schedlab_extender_latency_seconds_count{verb="VERB"}')
        total = value('schedlab_extender_latency_seconds_sum{verb="VERB"}')
        within = value('schedlab_extender_latency_seconds_bucket{le="0.005",verb="VERB"}')
        found[verb] = (1000 * total / count, within / count)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=150)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--write-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fake-api", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_api:
        return fake_api(args, args.fake_api)
    print(f"{args.pods} openb GPU pods on {args.nodes} openb GPU nodes, policy fgd, one pod at a time")
    for write_ms in (0.0, args.write_ms):
        result = run(args, write_ms)
        parts = []
        for verb, values in result["times"].items():
            p50, p99 = np.percentile(np.array(values) * 1000, [50, 99])
            parts.append(f"{verb} p50 {p50:5.2f} ms p99 {p99:5.2f} ms")
        print(
            f"API writes {write_ms:4.0f} ms: {'; '.join(parts)}; {result['bound']} pods bound"
            f" in {result['wall']:.2f} s"
        )
        server = ", ".join(
            f"{verb} mean {mean:.2f} ms, {100 * share:.1f} % within 5 ms"
            for verb, (mean, share) in result["inside"].items()
        )
        print(f"  inside the server: {server}")


if __name__ == "__main__":
    main()
