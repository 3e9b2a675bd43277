"""The API server side (the official Kubernetes client, ``schedlab[k8s]``): bind pods, and
list and watch nodes and pods for the :class:`~schedlab.serve.informer.Informer`.

After a restart the book is rebuilt from the pods' ``alibabacloud.com/gpu-index``
annotations (written before each Binding): a pod that holds GPUs keeps them, so no GPU is
booked twice. A pod on MIG instances needs none (the node's device plugin picks its
instances, and instances of one profile are alike): every bound pod asking for them holds
them. Lists and watches are read as raw JSON (orjson), not through the client's
models: faster, and an object the models reject cannot stop the service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import orjson

from schedlab.errors import ConfigError
from schedlab.serve.informer import Gone, Informer, cause
from schedlab.serve.objects import GPU_INDEX, PodRequest

log = logging.getLogger("schedlab")
LISTERS = {"nodes": "list_node", "pods": "list_pod_for_all_namespaces"}


def connect(kubeconfig: str) -> Any:
    """A CoreV1Api client for the cluster of ``kubeconfig``."""
    from kubernetes import client, config

    try:
        config.load_kube_config(config_file=kubeconfig)
    except Exception as err:  # the client raises many kinds for a bad file
        raise ConfigError(f"--kubeconfig {kubeconfig}: {err}") from None
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retries: our own lines say what failed
    return client.CoreV1Api()


class KubeSource:
    """Lists and watches through a CoreV1Api (see :class:`~schedlab.serve.informer.Source`).
    ``timeout``: seconds to connect, and to wait for a listing or a watch's next bytes
    beyond the watch's own length."""

    def __init__(self, api: Any, timeout: float = 30.0) -> None:
        self.api, self.timeout = api, timeout

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        response = getattr(self.api, LISTERS[kind])(_preload_content=False, _request_timeout=self.timeout)
        try:
            doc = orjson.loads(response.data)
        finally:
            response.release_conn()
        version = (doc.get("metadata") or {}).get("resourceVersion") or ""
        return list(doc.get("items") or []), str(version)

    def watch(self, kind: str, version: str, timeout: int) -> Iterator[dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.watch.watch import iter_resp_lines

        try:
            response = getattr(self.api, LISTERS[kind])(
                watch=True,
                resource_version=version or None,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout,
                _preload_content=False,
                _request_timeout=(self.timeout, timeout + self.timeout),
            )
        except ApiException as err:
            if err.status == 410:
                raise Gone(f"resourceVersion {version} is gone (410)") from None
            raise
        try:
            for line in iter_resp_lines(response):
                if not line:
                    continue
                event = orjson.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise Gone(f"resourceVersion {version} is gone (410 {status.get('reason', '')})")
                    raise RuntimeError(f"watch error {status.get('code')}: {status.get('message')}")
                yield event
        finally:
            response.close()
            response.release_conn()


class KubeBinder:
    """Writes the pod's GPU indices, then creates its Binding."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def bind(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._write(pod, node, gpus)
        except ApiException as err:  # its text spans lines with headers: the status says it
            raise RuntimeError(f"the API server answered {err.status} {err.reason}") from None

    def _write(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        if gpus and not pod.mig:
            patch = {"metadata": {"annotations": {GPU_INDEX: ",".join(str(g) for g in gpus)}}}
            self.api.patch_namespaced_pod(pod.name, pod.namespace, patch, _preload_content=False)
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.name, "namespace": pod.namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        # plain JSON both ways: the client's models cost the bind threads time for nothing
        try:
            self.api.create_namespaced_pod_binding(pod.name, pod.namespace, binding, _preload_content=False)
        except Exception:
            if self._bound_to(pod, node):  # made after all, its answer lost (a timeout)
                return
            raise

    def _bound_to(self, pod: PodRequest, node: str) -> bool:
        """Whether the API server has ``pod`` on ``node`` (False when it cannot say)."""
        try:
            response = self.api.read_namespaced_pod(pod.name, pod.namespace, _preload_content=False)
            return bool((orjson.loads(response.data).get("spec") or {}).get("nodeName") == node)
        except Exception:
            return False


def first_sync(informer: Informer, api: Any, kubeconfig: str, wait: float) -> None:
    """The first full listing, tried with a capped backoff for up to ``wait`` seconds: an
    API server that does not answer by then is one clear error."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            informer.sync()
            return
        except (HTTPError, ApiException, OSError, ValueError) as err:
            reason = cause(err)
            left = deadline - time.monotonic()
            if left <= 0:
                host = api.api_client.configuration.host
                raise ConfigError(
                    f"--kubeconfig {kubeconfig}: the API server at {host} cannot be reached"
                    f" ({reason}; tried for {wait:g} s, see --api-wait)"
                ) from None
            log.debug("the API server does not answer yet (%s); trying again", reason)
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
