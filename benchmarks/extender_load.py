"""Load test of ``schedlab serve`` on localhost: is it fast enough for a real kube-scheduler?

Starts ``schedlab serve --policy fgd`` (one process) knowing ``--nodes`` nodes (the embedded
openb GPU nodes repeated, renamed), then ``--clients`` concurrent clients alternate filter
and prioritize calls with ``nodeCacheCapable: true`` bodies (every node name, in a shuffled
order, as kube-scheduler sends them) for pods drawn from the openb pod list, until
``--requests`` calls or ``--seconds`` have passed, after ``--warmup`` calls (not measured)
that fill the per-shape caches as a running service has them. Prints per-verb p50/p99 latency (client
side, the whole HTTP exchange), the sustained rate, and the server's peak RSS. Bounded in
count and time; loopback only. With ``--mig F`` a share ``F`` of the nodes are 8-GPU A100s
whose GPUs are MIG-partitioned (``3g.40gb,2g.20gb,2x1g.10gb``, the node list's ``mig``
column) and a share ``F`` of the pods ask for one instance (``nvidia.com/mig-1g.10gb``,
``-2g.20gb`` or ``-3g.40gb``). Usage: ``python benchmarks/extender_load.py [--nodes 5000]
[--clients 8] [--requests 6000] [--seconds 60] [--mig 0.2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from schedlab.trace import default_nodes_path, default_pods_path, load_nodes, load_tasks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The layout of the partitioned nodes' GPUs, and the profiles MIG pods ask for (with weights).
LAYOUT, PROFILES, WEIGHTS = '"3g.40gb,2g.20gb,2x1g.10gb"', ("1g.10gb", "2g.20gb", "3g.40gb"), (0.5, 0.3, 0.2)


def node_list(count: int, path: Path, mig: float = 0.0) -> list[str]:
    """``count`` GPU nodes of the embedded openb list, repeated and renamed, as a CSV; a share
    ``mig`` of them (evenly spread) 8-GPU A100s, MIG-partitioned."""
    every = load_nodes(default_nodes_path())
    gpu = np.flatnonzero(every.num_gpu > 0)
    rows, names = ["sn,cpu_milli,memory_mib,gpu,model,mig"], []
    for k in range(count):
        i = int(gpu[k % len(gpu)])
        name = f"{every.name[i]}-{k // len(gpu)}"
        names.append(name)
        if int((k + 1) * mig) > int(k * mig):
            rows.append(f"{name},{every.cpu_milli[i]},{every.memory_mib[i]},8,A100-SXM4-80GB,{LAYOUT}")
            continue
        model = every.model[i]
        rows.append(f"{name},{every.cpu_milli[i]},{every.memory_mib[i]},{every.num_gpu[i]},{model},")
    path.write_text("\n".join(rows) + "\n")
    return names


def pod_bodies(names: list[str], count: int, seed: int, mig: float = 0.0) -> list[bytes]:
    """Filter/prioritize bodies for ``count`` openb GPU pods (a share ``mig`` of them asking
    for one MIG instance instead), node names shuffled per call."""
    tasks = load_tasks(default_pods_path())
    gpu = np.flatnonzero(tasks.num_gpu > 0)
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(names)) for _ in range(8)]
    bodies = []
    for k in range(count):
        t = int(gpu[rng.integers(len(gpu))])
        milli = int(tasks.gpu_milli[t]) if int(tasks.num_gpu[t]) == 1 else 1000
        notes = {
            "alibabacloud.com/gpu-milli": str(milli),
            "alibabacloud.com/gpu-count": str(int(tasks.num_gpu[t])),
        }
        if tasks.gpu_spec[t]:
            notes["alibabacloud.com/gpu-card-model"] = str(tasks.gpu_spec[t])
        resources = {"requests": {"cpu": f"{tasks.cpu_milli[t]}m", "alibabacloud.com/gpu-milli": str(milli)}}
        if rng.random() < mig:
            notes = {}
            profile = PROFILES[int(rng.choice(len(PROFILES), p=WEIGHTS))]
            resources = {"requests": {"cpu": f"{tasks.cpu_milli[t]}m", f"nvidia.com/mig-{profile}": "1"}}
        pod = {
            "metadata": {"name": f"p{k}", "namespace": "default", "uid": f"u{k}", "annotations": notes},
            "spec": {"containers": [{"name": "main", "resources": resources}]},
        }
        order = orders[k % len(orders)]
        bodies.append(orjson.dumps({"Pod": pod, "Nodes": None, "NodeNames": [names[i] for i in order]}))
    return bodies


async def client(port: int, bodies: list[bytes], deadline: float, latencies: dict[str, list[float]]) -> None:
    """One keep-alive connection: alternate filter and prioritize, as one scheduler would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for k, body in enumerate(bodies):
        if time.perf_counter() > deadline:
            break
        verb = "filter" if k % 2 == 0 else "prioritize"
        head = (
            f"POST /scheduler/{verb} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Go-http-client/1.1\r\n"
            f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n"
        )
        began = time.perf_counter()
        writer.write(head.encode() + body)
        await writer.drain()
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies[verb].append(time.perf_counter() - began)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{verb}: {status!r}")
    writer.close()


async def load(
    port: int, bodies: list[bytes], clients: int, seconds: float
) -> tuple[dict[str, list[float]], float]:
    latencies: dict[str, list[float]] = {"filter": [], "prioritize": []}
    share = [bodies[i::clients] for i in range(clients)]
    began = time.perf_counter()
    await asyncio.gather(*(client(port, part, began + seconds, latencies) for part in share))
    return latencies, time.perf_counter() - began


def handler_means(port: int) -> dict[str, float]:
    """Mean time inside the handlers per verb (ms), from the server's Prometheus metrics."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    sums, counts = {}, {}
    for line in text.splitlines():
        for verb in ("filter", "prioritize"):
            if line.startswith(f'schedlab_extender_latency_seconds_sum{{verb="{verb}"}}'):
                sums[verb] = float(line.split()[-1])
            if line.startswith(f'schedlab_extender_latency_seconds_count{{verb="{verb}"}}'):
                counts[verb] = float(line.split()[-1])
    return {verb: 1000 * sums[verb] / counts[verb] for verb in sums if counts.get(verb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1000, help="calls before measuring (not counted)")
    parser.add_argument("--mig", type=float, default=0.0, help="share of MIG nodes and pods")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        names = node_list(args.nodes, Path(tmp) / "nodes.csv", args.mig)
        bodies = pod_bodies(names, args.requests, args.seed, args.mig)
        command = [sys.executable, "-m", "schedlab", "serve", "--policy", "fgd", "--port", str(port)]
        server = subprocess.Popen([*command, "--nodes", str(Path(tmp) / "nodes.csv")])
        try:
            for _ in range(600):  # up to 60 s to start
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            warm = pod_bodies(names, args.warmup, args.seed + 1, args.mig)  # fills the per-shape caches
            asyncio.run(load(port, warm, args.clients, 60.0))
            latencies, wall = asyncio.run(load(port, bodies, args.clients, args.seconds))
            server_ms = handler_means(port)
            with open(f"/proc/{server.pid}/status") as f:
                rss = next(line.split()[1] for line in f if line.startswith("VmHWM"))
        finally:
            server.terminate()
            server.wait(10)
    total = sum(len(v) for v in latencies.values())
    mig = f", MIG: {args.mig:.0%} of nodes and pods" if args.mig else ""
    print(f"{args.nodes} nodes, {args.clients} clients, policy fgd, nodeCacheCapable true{mig}")
    for verb, values in latencies.items():
        ms = np.array(values) * 1000
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"{verb:<11} {len(ms):6d} calls  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    print(
        f"sustained {total / wall:.0f} requests/s over {wall:.1f} s; server peak RSS {int(rss) / 1024:.0f} MB"
    )
    means = ", ".join(f"{verb} {ms:.2f} ms" for verb, ms in server_ms.items())
    print(f"inside the server (mean, from /metrics): {means}")
    print(f"(machine: {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
