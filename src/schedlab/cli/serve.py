"""``schedlab serve``: a kube-scheduler extender answering with schedlab's policies."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from schedlab.cli.common import PATH, PODS_HELP
from schedlab.cli.types import SEED
from schedlab.errors import ConfigError

log = logging.getLogger("schedlab")


@click.command()
@click.option("--policy", default="fgd", show_default=True, help="Placement policy (any registered name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8888, show_default=True, help="Port.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, exists=True),
    help="Learn nodes and pods from this cluster (list + watch) and create Bindings there. Needed"
    " for bind and for nodeCacheCapable: true.",
)
@click.option(
    "--nodes",
    type=PATH,
    help="Also know the nodes of this openb node list from the start (trying the service without a"
    " cluster, load tests); its optional mig column partitions GPUs into MIG instances.",
)
@click.option("--pods", type=PATH, help="Task mix of FGD's fragmentation measure. " + PODS_HELP)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of policies that draw numbers.")
@click.option(
    "--victim",
    default="least-lost",
    show_default=True,
    help="Victim policy of the preempt verb (as replay --victim): which lower-priority GPU pods go first.",
)
@click.option(
    "--leader-elect",
    metavar="NAMESPACE/NAME",
    help="With --kubeconfig: run as one of several replicas; the one holding this Lease binds and is"
    " ready, the others follow the cluster and stand by (e.g. kube-system/schedlab-extender).",
)
@click.option(
    "--api-wait",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="With --kubeconfig: seconds to keep trying the API server at start before giving up.",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="With --kubeconfig: /readyz fails while the view of the cluster has not been known"
    " current for this many seconds (the API server away).",
)
def serve(
    policy: str,
    host: str,
    port: int,
    kubeconfig: str | None,
    nodes: Path | None,
    pods: Path | None,
    seed: int,
    victim: str,
    leader_elect: str | None,
    api_wait: float,
    stale_after: float,
) -> None:
    """Answer kube-scheduler's HTTP extender calls (POST <prefix>/filter, /prioritize, /preempt, /bind;
    GET /livez, /readyz, /metrics) with a schedlab placement policy, GPU sharing in the FGD
    convention (alibabacloud.com/gpu-milli, gpu-count, gpu-card-model; GPUs written to
    alibabacloud.com/gpu-index) and MIG instances as the GPU operator's mixed strategy names them
    (nvidia.com/mig-<profile>). See docs/kubernetes.md."""
    try:
        import kubernetes  # noqa: F401
        import orjson  # noqa: F401
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as err:
        raise ConfigError(
            f"schedlab serve needs the k8s extra: pip install 'schedlab[k8s]' (no {err.name})"
        ) from None
    from schedlab.policies import parse_policies
    from schedlab.serve.app import make_app
    from schedlab.serve.book import Book
    from schedlab.serve.health import Health
    from schedlab.trace import default_pods_path, load_tasks

    if leader_elect is not None and (kubeconfig is None or leader_elect.count("/") != 1):
        raise ConfigError("--leader-elect takes NAMESPACE/NAME and needs --kubeconfig")

    parse_policies(policy)
    from schedlab.eviction.victims import VICTIM_POLICIES

    VICTIM_POLICIES.get(victim)  # an unknown name: one error line, before anything starts
    book = Book(policy, load_tasks(pods or default_pods_path()), seed)
    if nodes is not None:
        from schedlab.serve.instances import node_specs
        from schedlab.trace import load_nodes

        book.upsert(node_specs(load_nodes(nodes)))
    binder, health = None, Health(stale_after=stale_after)
    if kubeconfig is not None:
        from schedlab.serve.informer import Informer
        from schedlab.serve.kube import KubeBinder, KubeSource, connect, first_sync

        api = connect(kubeconfig)
        informer = Informer(book, KubeSource(api), keep_nodes=frozenset(book.nodes))
        first_sync(informer, api, kubeconfig, api_wait)
        informer.start()
        binder, health.informer = KubeBinder(api), informer
        if leader_elect is not None:
            import os
            import socket

            from kubernetes import client

            from schedlab.serve.leader import Leader

            namespace, name = leader_elect.split("/")
            identity = f"{socket.gethostname()}-{os.getpid()}"
            health.leader = Leader(client.CoordinationV1Api(api.api_client), namespace, name, identity)
            health.leader.start()
    import gc
    import sys

    gc.collect()
    gc.freeze()  # what was loaded stays: the collector need not walk it on every request
    # the watch loops and binds' API writes run in threads: hand the interpreter back to
    # the request loop within 0.5 ms, not Python's default 5 ms
    sys.setswitchinterval(0.0005)
    log.info("schedlab serve: policy %s on http://%s:%d", policy, host, port)
    app = make_app(book, binder, health=health, warm_up=True, victim=victim)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
