"""The HTTP side of the extender (Starlette): the protocol's verbs, health and metrics.

``POST <prefix>/filter``, ``<prefix>/prioritize``, ``<prefix>/preempt`` and ``<prefix>/bind``
answer in the wire format kube-scheduler v1.25 uses (Go field names; unset fields as
``null``); the prefix is whatever the scheduler's ``urlPrefix`` has. Malformed JSON is an
HTTP 400; a request that parses but cannot be answered (a bad quantity, a missing field)
gets the protocol's ``Error`` (prioritize and preempt, which have none: a 400). Nothing a
client sends makes a 500.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from schedlab.errors import SchedlabError
from schedlab.serve.book import BindError, Book
from schedlab.serve.fit import Scores, scores
from schedlab.serve.health import Health
from schedlab.serve.metrics import Metrics
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


def make_app(
    book: Book,
    binder: Binder | None = None,
    compiled: bool = True,
    health: Health | None = None,
    warm_up: bool = False,
    victim: str = "least-lost",
) -> Starlette:
    """The extender's ASGI app over ``book``; ``binder`` creates Bindings (none: bind fails).
    ``compiled``: answer ``NodeNames`` filter and prioritize calls on the compiled path
    (:mod:`schedlab.serve.fast`; the same answers) when numba is there. ``health``: what
    ``/livez`` and ``/readyz`` answer from (its informer's loops and view); ``warm_up``:
    load the kernels in a thread first, unready until then (else ready at once). ``victim``:
    the victim policy of the preempt verb (:mod:`schedlab.serve.preempt`)."""
    from schedlab import jit
    from schedlab.eviction.victims import VICTIM_POLICIES
    from schedlab.serve.preempt import preempt

    victims = VICTIM_POLICIES.get(victim)()

    fast = None
    if compiled and jit.enabled():
        from schedlab.serve.fast import FastNames

        fast = FastNames()
    health = health or Health()
    metrics = Metrics(book, health.informer)
    bind_with = binder or NoBinder()
    answers = Scores()
    verbs: dict[str, Callable[[Any], Any]] = {
        "filter": lambda body: _filter(book, body),
        "prioritize": lambda body: _prioritize(book, answers, body),
        "preempt": lambda body: preempt(book, victims, body),
    }

    def answer(verb: str, body: bytes) -> Any:
        """A filter or prioritize answer (the compiled path first)."""
        if fast is not None:
            try:
                found = fast.filter(book, body) if verb == "filter" else fast.prioritize(book, body)
                if found is not None:
                    return found
            except BadRequest:
                pass  # the plain path says what is wrong, in the verb's own way
        return verbs[verb](_json(body))

    if warm_up:
        health.warm_up(book, answer)
    else:
        health.warm.set()

    async def call(request: Request) -> Response:
        began = time.perf_counter()
        verb = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if verb not in ("filter", "prioritize", "preempt", "bind"):
            message = f"unknown extender verb {verb!r} (filter, prioritize, preempt, bind)"
            return JSONResponse({"Error": message}, 404)
        status = 200
        try:
            body = await request.body()
            if len(body) > MAX_BODY:
                raise BadRequest(f"request body over {MAX_BODY} bytes")
            if verb == "bind":  # its API writes run in a thread: no other call waits for them
                waiting = health.standing_by()
                doc = _json(body)
                result: Any = (
                    {"Error": f"schedlab: {waiting}"}
                    if waiting
                    else await _bind(book, bind_with, metrics, doc)
                )
            elif verb == "preempt":
                result = verbs[verb](_json(body))
            else:
                result = answer(verb, body)
            raw = result if isinstance(result, bytes) else orjson.dumps(result)
            response: Response = Response(raw, media_type="application/json")
            if isinstance(result, dict) and result.get("Error"):
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

    def probe(check: Callable[[], tuple[bool, str]]) -> Callable[[Request], Any]:
        async def answer_probe(_: Request) -> Response:
            ok, why = check()
            return PlainTextResponse(why, 200 if ok else 503)

        return answer_probe

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if health.leader is not None:  # a standby takes over at once, not after the Lease expires
            await run_in_threadpool(health.leader.release)

    routes = [
        Route("/livez", probe(health.live), methods=["GET"]),
        Route("/healthz", probe(health.live), methods=["GET"]),
        Route("/readyz", probe(health.ready), methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/{path:path}", call, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"malformed JSON: {err}") from None


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


def _prioritize(book: Book, table: Scores, body: Any) -> bytes:
    pod, names, items = _args(body)
    if items is not None:
        book.upsert([parse_node(item) for item in items])
    at = book.lookup(names)
    points = scores(book, pod, at)
    return table.answer(book, names, at, points)


async def _bind(book: Book, binder: Binder, metrics: Metrics, body: Any) -> dict[str, Any]:
    """Book the GPUs at once (under the lock), then write them and the Binding in a
    thread; a failed write gives the GPUs back and answers an ``Error``."""
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
    except BindError as err:
        return {"Error": str(err)}
    if done is None:
        return {"Error": ""}  # bound there already: a repeated bind
    pod, gpus = done
    try:
        await run_in_threadpool(binder.bind, pod, fields["Node"], gpus)
    except Exception as err:
        book.release(pod.uid)
        return {"Error": f"schedlab: binding {pod.namespace}/{pod.name} to {fields['Node']} failed: {err}"}
    book.confirm(pod.uid)
    metrics.bound.inc()
    return {"Error": ""}
