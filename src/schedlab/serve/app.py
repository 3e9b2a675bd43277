"""The HTTP side of the extender (Starlette): the protocol's verbs, health and metrics.

``POST <prefix>/filter``, ``<prefix>/prioritize`` and ``<prefix>/bind`` answer in the wire
format kube-scheduler v1.25 uses (Go field names; unset fields as ``null``); the prefix is
whatever the scheduler's ``urlPrefix`` has. Malformed JSON is an HTTP 400; a request that
parses but cannot be answered (a bad quantity, a missing field) gets the protocol's ``Error``
(prioritize, which has none: a 400). Nothing a client sends makes a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from schedlab.errors import SchedlabError
from schedlab.serve.book import MAX_SCORE, BindError, Book
from schedlab.serve.objects import BadRequest, PodRequest, parse_node, parse_pod

log = logging.getLogger("schedlab")

#: The largest request body read (a NodeList of 5,000 full Node objects is about 7 MB).
MAX_BODY = 64 * 2**20


class Binder(Protocol):
    """Creates the Binding (and writes the GPU indices) through the API server."""

    def bind(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None: ...


class NoBinder:
    """Without an API server nothing can be bound."""

    def bind(self, pod: PodRequest, node: str, gpus: tuple[int, ...]) -> None:
        raise BindError("schedlab serve was started without --kubeconfig: it cannot create Bindings")


class Metrics:
    """Prometheus metrics of one app (a registry of its own)."""

    def __init__(self, book: Book) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "schedlab_extender_requests", "Extender calls", ["verb", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "schedlab_extender_latency_seconds",
            "Time to answer an extender call",
            ["verb"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.errors = Counter(
            "schedlab_extender_errors", "Calls answered with an error", ["verb"], registry=self.registry
        )
        self.bound = Counter("schedlab_pods_bound", "Pods bound by the extender", registry=reg)
        allocation = Gauge(
            "schedlab_gpu_allocation", "Allocated share of the known GPUs", registry=self.registry
        )
        allocation.set_function(book.allocation)
        frag = Gauge(
            "schedlab_gpu_fragmentation", "FGD fragmentation share of GPU capacity", registry=self.registry
        )
        frag.set_function(book.fragmentation_share)
        nodes = Gauge("schedlab_nodes", "Nodes known to the extender", registry=reg)
        nodes.set_function(lambda: len(book.nodes))


def make_app(book: Book, binder: Binder | None = None, compiled: bool = True) -> Starlette:
    """The extender's ASGI app over ``book``; ``binder`` creates Bindings (none: bind fails).
    ``compiled``: answer ``NodeNames`` filter and prioritize calls on the compiled path
    (:mod:`schedlab.serve.fast`; the same answers) when numba is there."""
    from schedlab import jit

    fast = None
    if compiled and jit.enabled():
        from schedlab.serve.fast import FastNames

        fast = FastNames()
    metrics = Metrics(book)
    bind_with = binder or NoBinder()
    answers = Scores()
    verbs: dict[str, Callable[[Any], Any]] = {
        "filter": lambda body: _filter(book, body),
        "prioritize": lambda body: _prioritize(book, answers, body),
        "bind": lambda body: _bind(book, bind_with, metrics, body),
    }

    async def call(request: Request) -> Response:
        verb = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if verb not in verbs:
            return JSONResponse({"Error": f"unknown extender verb {verb!r} (filter, prioritize, bind)"}, 404)
        began = time.perf_counter()
        status = 200
        try:
            body = await request.body()
            if len(body) > MAX_BODY:
                raise BadRequest(f"request body over {MAX_BODY} bytes")
            answer: Any = None
            if fast is not None and verb != "bind":
                try:
                    answer = fast.filter(book, body) if verb == "filter" else fast.prioritize(book, body)
                except BadRequest:
                    answer = None  # the plain path says what is wrong, in the verb's own way
            if answer is None:
                try:
                    doc = orjson.loads(body)
                except orjson.JSONDecodeError as err:
                    raise BadRequest(f"malformed JSON: {err}") from None
                answer = verbs[verb](doc)
            raw = answer if isinstance(answer, bytes) else orjson.dumps(answer)
            response: Response = Response(raw, media_type="application/json")
            if isinstance(answer, dict) and answer.get("Error"):
                metrics.errors.labels(verb).inc()
        except BadRequest as err:
            status = 400
            metrics.errors.labels(verb).inc()
            response = JSONResponse({"Error": str(err)}, status)
        except SchedlabError as err:  # a policy broke its contract: still an answer, not a crash
            metrics.errors.labels(verb).inc()
            response = JSONResponse(_error_answer(verb, str(err)), 200)
        metrics.requests.labels(verb, str(status)).inc()
        metrics.latency.labels(verb).observe(time.perf_counter() - began)
        return response

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/{path:path}", call, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _error_answer(verb: str, message: str) -> Any:
    if verb == "filter":
        return {
            "Nodes": None,
            "NodeNames": None,
            "FailedNodes": None,
            "FailedAndUnresolvableNodes": None,
            "Error": message,
        }
    return {"Error": message}


def _filter_answer(nodes: Any, names: Any, failed: Any, never: Any, error: str) -> dict[str, Any]:
    """A filter answer with every field present (unset ones ``null``, as Go sends them)."""
    return {
        "Nodes": nodes,
        "NodeNames": names,
        "FailedNodes": failed,
        "FailedAndUnresolvableNodes": never,
        "Error": error,
    }


def _args(body: Any) -> tuple[PodRequest, list[str], list[Any] | None]:
    """The pod, the node names, and the full Node objects when the node cache is off."""
    if not isinstance(body, dict):
        raise BadRequest("the request must be a JSON object with Pod, Nodes and NodeNames")
    if "Pod" not in body:
        raise BadRequest("missing field Pod")
    pod = parse_pod(body["Pod"])
    nodes, names = body.get("Nodes"), body.get("NodeNames")
    if nodes is not None:
        items = nodes.get("items") if isinstance(nodes, dict) else None
        if not isinstance(items, list):
            raise BadRequest("Nodes must be a NodeList with items")
        return pod, [parse_node(item).name for item in items], items
    if not isinstance(names, list) or not set(map(type, names)) <= {str}:
        raise BadRequest("give Nodes (a NodeList) or NodeNames (a list of names)")
    return pod, names, None


def _filter(book: Book, body: Any) -> dict[str, Any]:
    try:
        pod, names, items = _args(body)
        if items is not None:
            book.upsert([parse_node(item) for item in items])
    except BadRequest as err:
        if isinstance(body, dict) and "Pod" in body:  # answerable: say it in the protocol
            return _filter_answer(None, None, None, None, f"schedlab: {err}")
        raise
    passed, failed, never = book.filter(pod, names)
    if items is not None:
        keep = set(passed)
        chosen = [item for item, name in zip(items, names, strict=True) if name in keep]
        return _filter_answer({"metadata": {}, "items": chosen}, None, failed, never, "")
    return {
        "Nodes": None,
        "NodeNames": passed,
        "FailedNodes": failed,
        "FailedAndUnresolvableNodes": never,
        "Error": "",
    }


class Scores:
    """Prioritize answers as bytes: each known node's ``{"Host":...,"Score":s}`` for every
    score 0-10 made once per node set, so an answer for thousands of nodes is one join."""

    def __init__(self) -> None:
        self.generation = -1
        self.table = np.empty((0, MAX_SCORE + 1), dtype=object)

    def answer(self, book: Book, names: list[str], at: Any, scores: Any) -> bytes:
        with book.lock:
            if self.generation != book.generation:
                table = np.empty((len(book.names), MAX_SCORE + 1), dtype=object)
                for i, name in enumerate(book.names):
                    table[i] = [_entry(name, s) for s in range(MAX_SCORE + 1)]
                self.table, self.generation = table, book.generation
        known = at >= 0
        if known.all():  # the usual case: one fancy index, one join
            return b"[" + b",".join(self.table[at, scores].tolist()) + b"]"
        parts = [
            self.table[i, score] if i >= 0 else _entry(name, score)
            for name, i, score in zip(names, at.tolist(), scores.tolist(), strict=True)
        ]
        return b"[" + b",".join(parts) + b"]"


def _entry(name: str, score: int) -> bytes:
    return orjson.dumps({"Host": name, "Score": score})


def _prioritize(book: Book, scores: Scores, body: Any) -> bytes:
    pod, names, items = _args(body)
    if items is not None:
        book.upsert([parse_node(item) for item in items])
    at, points = book.prioritize(pod, names)
    return scores.answer(book, names, at, points)


def _bind(book: Book, binder: Binder, metrics: Metrics, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request must be a JSON object with PodName, PodNamespace, PodUID and Node")
    fields = {}
    for key in ("PodName", "PodNamespace", "PodUID", "Node"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            return {"Error": f"schedlab: bind request without {key}"}
        fields[key] = value
    try:
        done = book.bind(fields["PodUID"], fields["Node"])
        if done is None:
            return {"Error": ""}  # bound there already: a repeated bind
        pod, gpus = done
        try:
            binder.bind(pod, fields["Node"], gpus)
        except Exception as err:
            book.release(pod.uid)
            raise BindError(
                f"schedlab: binding {pod.namespace}/{pod.name} to {fields['Node']} failed: {err}"
            ) from None
    except BindError as err:
        return {"Error": str(err)}
    metrics.bound.inc()
    return {"Error": ""}
