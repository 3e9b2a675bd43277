"""The API server side (the official Kubernetes client, ``schedlab[k8s]``): bind pods, and
learn nodes and pods by list + watch so that the book survives a restart.

After a restart the book is rebuilt from the pods' ``alibabacloud.com/gpu-index``
annotations (written before each Binding): a pod that holds GPUs keeps them, so no GPU is
booked twice. Pods that finish (Succeeded, Failed) or are deleted give their GPUs back.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from schedlab.errors import ConfigError
from schedlab.serve.book import Book
from schedlab.serve.objects import GPU_INDEX, BadRequest, PodRequest, gpu_index, parse_node, parse_pod

log = logging.getLogger("schedlab")
FINISHED = ("Succeeded", "Failed")


def connect(kubeconfig: str) -> Any:
    """A CoreV1Api client for the cluster of ``kubeconfig``."""
    from kubernetes import client, config

    try:
        config.load_kube_config(config_file=kubeconfig)
    except Exception as err:  # the client raises many kinds for a bad file
        raise ConfigError(f"--kubeconfig {kubeconfig}: {err}") from None
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retries: our own lines say what failed
    return client.CoreV1Api()


class KubeBinder:
    """Writes the pod's GPU indices, then creates its Binding."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def bind(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        from kubernetes import client

        if gpus:
            patch = {"metadata": {"annotations": {GPU_INDEX: ",".join(str(g) for g in gpus)}}}
            self.api.patch_namespaced_pod(pod.name, pod.namespace, patch)
        binding = client.V1Binding(
            metadata=client.V1ObjectMeta(name=pod.name, namespace=pod.namespace),
            target=client.V1ObjectReference(api_version="v1", kind="Node", name=node),
        )
        # the client cannot decode the API's answer to a Binding: take it raw
        self.api.create_namespaced_pod_binding(pod.name, pod.namespace, binding, _preload_content=False)


def plain(api: Any, obj: Any) -> Any:
    """An API object as its JSON (what the extender protocol carries)."""
    return api.api_client.sanitize_for_serialization(obj)


def observe_node(book: Book, kind: str, obj: dict[str, Any]) -> None:
    try:
        node = parse_node(obj)
    except BadRequest as err:
        log.warning("ignoring a node: %s", err)
        return
    if kind == "DELETED":
        book.remove_node(node.name)
    else:
        book.upsert([node])


def observe_pod(book: Book, kind: str, obj: dict[str, Any]) -> None:
    """A pod event: a bound pod with GPU indices is booked; a finished or deleted one freed."""
    try:
        pod = parse_pod(obj)
        gpus = gpu_index(obj)
    except BadRequest as err:
        log.warning("ignoring a pod: %s", err)
        return
    node = (obj.get("spec") or {}).get("nodeName")
    phase = (obj.get("status") or {}).get("phase")
    if kind == "DELETED" or phase in FINISHED:
        book.release(pod.uid)
    elif node and pod.wants_gpu and gpus is not None:
        book.learn(pod, str(node), gpus)


def first_sync(book: Book, api: Any, kubeconfig: str) -> None:
    """:func:`sync` at start: an API server that does not answer is one clear error."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        sync(book, api)
    except (HTTPError, ApiException, OSError) as err:
        host = api.api_client.configuration.host
        reason = getattr(err, "reason", None) or err
        if isinstance(reason, HTTPError):  # urllib3 wraps the cause: name the cause alone
            reason = str(reason).rsplit(": ", 1)[-1]
        raise ConfigError(
            f"--kubeconfig {kubeconfig}: the API server at {host} cannot be reached ({reason})"
        ) from None


def sync(book: Book, api: Any) -> None:
    """List every node and pod once (at start: the state after a restart)."""
    nodes = []
    for item in api.list_node().items:
        try:
            nodes.append(parse_node(plain(api, item)))
        except BadRequest as err:
            log.warning("ignoring a node: %s", err)
    book.upsert(nodes)  # one rebuild for all of them
    for pod in api.list_pod_for_all_namespaces().items:
        observe_pod(book, "ADDED", plain(api, pod))
    log.info("learned %d nodes and %d pods holding GPUs from the API server", len(book.nodes), len(book.held))


def watch(book: Book, api: Any, stop: threading.Event) -> list[threading.Thread]:
    """Threads that keep the book up to date with node and pod events until ``stop``."""
    from kubernetes import watch as kube_watch

    def follow(lister: Any, observe: Any) -> None:
        while not stop.is_set():
            try:
                for event in kube_watch.Watch().stream(lister, timeout_seconds=60):
                    observe(book, event["type"], plain(api, event["object"]))
                    if stop.is_set():
                        return
            except Exception as err:  # a dropped watch: list again, then watch again
                log.warning("watch interrupted (%s); listing again", err)
                stop.wait(1.0)
                try:
                    sync(book, api)
                except Exception as again:  # the API server is away: the next turn tries again
                    log.warning("listing failed (%s); retrying", again)

    threads = [
        threading.Thread(target=follow, args=(api.list_node, observe_node), daemon=True),
        threading.Thread(target=follow, args=(api.list_pod_for_all_namespaces, observe_pod), daemon=True),
    ]
    for thread in threads:
        thread.start()
    return threads
