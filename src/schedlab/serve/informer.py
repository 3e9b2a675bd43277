"""The book kept in step with the API server: list + watch per kind, as client-go's
informers do.

Each kind (nodes, pods) has one loop. It lists (the full state, to which the book is
reconciled: pods no longer listed give their GPUs back, nodes no longer listed are dropped,
changed ones updated), then watches from the listing's resourceVersion with bookmarks,
resuming from the last version seen whenever a watch ends or drops. A ``410 Gone`` (the
version is older than the API server keeps) lists again. Any failure waits a capped
exponential backoff and tries again, forever: a loop ends only on :meth:`Informer.close`.

The loops talk to a :class:`Source` (:class:`~schedlab.serve.kube.KubeSource` over the
official client; a fake one in tests) in the API's JSON, so that an object the client's
models could not hold is just skipped with a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from schedlab.serve.book import Book
from schedlab.serve.objects import BadRequest, NodeSpec, gpu_index, parse_node, parse_pod, start_time

log = logging.getLogger("schedlab")
KINDS = ("nodes", "pods")
FINISHED = ("Succeeded", "Failed")


class Gone(Exception):
    """The API server no longer has the resourceVersion a watch asked for (HTTP 410)."""


class Source(Protocol):
    """Lists and watches one kind of object (``nodes``, ``pods``) as the API's JSON."""

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        """Every object of ``kind`` and the listing's resourceVersion."""
        ...

    def watch(self, kind: str, version: str, timeout: int) -> Iterator[dict[str, Any]]:
        """Events (``type``, ``object``) after ``version``, bookmarks included, until the
        server ends the watch (about ``timeout`` seconds); :class:`Gone` on a 410."""
        ...


class Informer:
    """The list + watch loops of one book. ``keep_nodes``: nodes known from elsewhere (an
    openb node list) that a listing without them does not drop."""

    def __init__(
        self,
        book: Book,
        source: Source,
        keep_nodes: frozenset[str] = frozenset(),
        watch_timeout: int = 50,
        backoff: tuple[float, float] = (0.2, 30.0),
    ) -> None:
        self.book, self.source, self.keep_nodes = book, source, keep_nodes
        self.watch_timeout, self.backoff = watch_timeout, backoff
        self.stop = threading.Event()
        self.versions: dict[str, str | None] = dict.fromkeys(KINDS)
        self.fresh = dict.fromkeys(KINDS, -float("inf"))  # when each view was last known current
        self.restarts = dict.fromkeys(KINDS, 0)  # watches that failed (not the server's clean ends)
        self.relists = dict.fromkeys(KINDS, 0)  # listings after the first (410 Gone)
        self.threads: list[threading.Thread] = []
        self._warned: set[str] = set()

    # ----- health -------------------------------------------------------------------------

    def synced(self) -> bool:
        """Every kind listed once."""
        return all(t > -float("inf") for t in self.fresh.values())

    def age(self) -> float:
        """Seconds since the older of the two views was last known current (an event, a
        bookmark, a watch the server ended, a listing); infinite before the first sync."""
        return time.monotonic() - min(self.fresh.values())

    def alive(self) -> bool:
        """Every loop still running (none started: true)."""
        return not self.stop.is_set() and all(t.is_alive() for t in self.threads)

    # ----- listing --------------------------------------------------------------------------

    def sync(self) -> None:
        """List every kind once (at start); the source's exceptions pass through."""
        for kind in KINDS:
            self.list(kind)

    def list(self, kind: str) -> None:
        """One full listing of ``kind``, reconciled into the book."""
        stamp = self.book.clock
        items, version = self.source.list(kind)
        if kind == "nodes":
            specs = [spec for item in items if (spec := self._node(item)) is not None]
            dropped = self.book.replace_nodes(specs, self.keep_nodes)
            if dropped:
                log.info("%d nodes no longer listed: dropped", dropped)
        else:
            listed = set()
            for item in items:
                uid = self.observe_pod("ADDED", item)
                if uid is not None:
                    listed.add(uid)
            freed = self.book.forget_unlisted(listed, stamp)
            if freed:
                log.info("%d pods no longer listed as holding GPUs: their GPUs are free", freed)
        self.versions[kind] = version
        self.fresh[kind] = time.monotonic()
        if kind == "pods":
            log.info("listed: %d nodes, %d pods holding GPUs", len(self.book.nodes), len(self.book.held))

    # ----- events ---------------------------------------------------------------------------

    def observe_node(self, kind: str, obj: dict[str, Any]) -> None:
        spec = self._node(obj)
        if spec is None:
            return
        if kind == "DELETED":
            if spec.name not in self.keep_nodes:
                self.book.remove_node(spec.name)
        else:
            self.book.upsert([spec])

    def observe_pod(self, kind: str, obj: dict[str, Any]) -> str | None:
        """A pod event: a bound pod with GPU indices, or on MIG instances, is booked (its
        uid returned); a finished or deleted one freed."""
        try:
            pod = parse_pod(obj)
            gpus = gpu_index(obj)
        except BadRequest as err:
            self._warn_once(_name(obj), f"ignoring a pod: {err}")
            return None
        node = (obj.get("spec") or {}).get("nodeName")
        phase = (obj.get("status") or {}).get("phase")
        if kind == "DELETED" or phase in FINISHED:
            self.book.release(pod.uid)
        elif node and pod.wants_gpu and (gpus is not None or pod.mig):
            self.book.learn(pod, str(node), gpus or (), start_time(obj))
            return pod.uid
        return None

    def _node(self, obj: dict[str, Any]) -> NodeSpec | None:
        try:
            return parse_node(obj)
        except BadRequest as err:
            self._warn_once(_name(obj), f"ignoring a node: {err}")
            return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)

    # ----- the loops ----------------------------------------------------------------------

    def start(self) -> None:
        """One daemon thread per kind, following the API server until :meth:`close`."""
        for kind in KINDS:
            thread = threading.Thread(target=self._follow, args=(kind,), name=f"follow-{kind}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()

    def _follow(self, kind: str) -> None:
        delay = self.backoff[0]
        while not self.stop.is_set():
            try:
                if self.versions[kind] is None:
                    self.relists[kind] += self.fresh[kind] > -float("inf")
                    self.list(kind)
                self._watch(kind)
                delay = self.backoff[0]
            except Gone as err:
                log.info("watching %s: %s; listing again", kind, err or "410 Gone")
                self.versions[kind] = None
            except Exception as err:  # the API server is away, a connection dropped: retry
                self.restarts[kind] += 1
                log.warning("watching %s failed (%s); trying again in %.1f s", kind, cause(err), delay)
                self.stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])

    def _watch(self, kind: str) -> None:
        observe = self.observe_node if kind == "nodes" else self.observe_pod
        for event in self.source.watch(kind, self.versions[kind] or "", self.watch_timeout):
            self.fresh[kind] = time.monotonic()
            obj = event.get("object") or {}
            if event.get("type") != "BOOKMARK":
                observe(str(event.get("type")), obj)
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                self.versions[kind] = str(version)
            if self.stop.is_set():
                return
        self.fresh[kind] = time.monotonic()  # the server ended the watch: current until now


def _name(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return str((meta or {}).get("uid") or (meta or {}).get("name") or id(obj))


def cause(err: Exception) -> str:
    """What went wrong, in a few words: a wrapped cause alone (urllib3's retry error repeats
    the whole URL before it), else the error's reason or text."""
    reason = getattr(err, "reason", None)
    if isinstance(reason, BaseException):
        return str(reason).rsplit(": ", 1)[-1]
    return str(reason or err)
