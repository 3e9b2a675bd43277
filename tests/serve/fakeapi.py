"""A Kubernetes API server on loopback for the extender's tests: nodes and pods, list and
watch with resourceVersions and bookmarks, annotation patches and Bindings, and the knobs
of a real cluster's bad days: dropped watches, history compacted (410 Gone), the server away
for seconds, slow writes. The official client talks to it through a kubeconfig."""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

KINDS = {"/api/v1/nodes": "nodes", "/api/v1/pods": "pods"}


class FakeApi:
    """The API server's state and its HTTP face (``up``/``down`` start and stop listening)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.version = 100
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"nodes": {}, "pods": {}}
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []
        self.oldest = 0  # watches from a version below this get 410 Gone
        self.epoch = 0  # bumped to end every open watch
        self.write_delay = 0.0
        self.bookmark_every = 0.2
        self.refuse_binding: set[str] = set()  # pod names whose Binding is answered 500
        self.lose_answer: set[str] = set()  # pod names whose Binding is made, then answered 504
        self.leases: dict[str, dict[str, Any]] = {}
        self.port = 0
        self.serving = False
        self.server: ThreadingHTTPServer | None = None
        self.up()

    # ----- the cluster -------------------------------------------------------------------

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        with self.cond:
            key = _key(obj)
            self._record(kind, "MODIFIED" if key in self.objects[kind] else "ADDED", obj)

    def delete(self, kind: str, key: str) -> None:
        with self.cond:
            obj = self.objects[kind][key]
            self._record(kind, "DELETED", obj)

    def _record(self, kind: str, event: str, obj: dict[str, Any]) -> None:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        if event == "DELETED":
            self.objects[kind].pop(_key(obj))
        else:
            self.objects[kind][_key(obj)] = obj
        self.log.append((self.version, kind, event, obj))
        self.cond.notify_all()

    def compact(self) -> None:
        """Forget the history: every watch from an older version gets 410 Gone."""
        with self.cond:
            self.oldest = self.version + 1
            self.log.clear()

    def drop_watches(self) -> None:
        with self.cond:
            self.epoch += 1
            self.cond.notify_all()

    # ----- listening ---------------------------------------------------------------------

    def up(self) -> None:
        api = self

        class Handler(_Handler):
            fake = api

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.serving = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self.server is not None
        with self.cond:
            self.serving = False
        self.drop_watches()
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def kubeconfig(self, folder: Path) -> str:
        path = folder / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster: {{server: 'http://127.0.0.1:{self.port}'}}\n"
            "users:\n- name: u\n  user: {token: t}\n"
            "contexts:\n- name: c\n  context: {cluster: fake, user: u}\ncurrent-context: c\n"
        )
        return str(path)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-watch is normal here: no traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeApi

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _lease(self, method: str) -> None:
        """Leases (coordination.k8s.io/v1): get, create, replace with optimistic concurrency."""
        parts = urlparse(self.path).path.strip("/").split("/")  # apis group v1 namespaces NS leases [NAME]
        fake = self.fake
        with fake.cond:
            if method == "GET":
                found = fake.leases.get(parts[6])
                return self._send(200, found) if found else self._send(404, {"kind": "Status", "code": 404})
            body = self._body()
            name = body["metadata"]["name"]
            old = fake.leases.get(name)
            stale = not old or old["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion")
            if (method == "POST" and old) or (method == "PUT" and stale):
                return self._send(409, {"kind": "Status", "code": 409, "reason": "Conflict"})
            fake.version += 1
            body["metadata"]["resourceVersion"] = str(fake.version)
            fake.leases[name] = body
            return self._send(201 if method == "POST" else 200, body)

    def do_PUT(self) -> None:
        self._lease("PUT")

    def do_GET(self) -> None:
        if self.path.startswith("/apis/coordination.k8s.io/"):
            return self._lease("GET")
        url = urlparse(self.path)
        kind = KINDS.get(url.path)
        if kind is None and url.path.count("/") == 6 and "/pods/" in url.path:  # one pod
            pod = self._pod()
            return self._send(200, pod) if pod else self._send(404, {"kind": "Status", "code": 404})
        if kind is None:
            return self._send(404, {"kind": "Status", "code": 404})
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        fake = self.fake
        if query.get("watch") not in ("true", "1"):
            with fake.cond:
                items = list(fake.objects[kind].values())
                version = fake.version
            return self._send(200, {"metadata": {"resourceVersion": str(version)}, "items": items})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        since = int(query.get("resourceVersion") or fake.version)
        deadline = time.monotonic() + float(query.get("timeoutSeconds", 60))
        bookmarks = query.get("allowWatchBookmarks") == "true"
        with fake.cond:
            epoch = fake.epoch
            if not fake.serving:  # accepted as the server went down
                return None
            if since < fake.oldest - 1:
                gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
                return self._line({"type": "ERROR", "object": gone})
        while time.monotonic() < deadline:
            with fake.cond:
                fresh = [(v, e, o) for v, k, e, o in fake.log if v > since and k == kind]
                if not fresh:
                    fake.cond.wait(min(fake.bookmark_every, max(deadline - time.monotonic(), 0)))
                    # what came while waiting: a bookmark must never pass an event unsent
                    fresh = [(v, e, o) for v, k, e, o in fake.log if v > since and k == kind]
                if fake.epoch != epoch or not fake.serving:
                    return
                version = fake.version
            for v, event, obj in fresh:
                self._line({"type": event, "object": obj})
                since = v
            if not fresh and bookmarks:
                self._line({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(version)}}})
        return None

    def _line(self, doc: Any) -> None:
        self.wfile.write(json.dumps(doc).encode() + b"\n")
        self.wfile.flush()

    def _pod(self) -> dict[str, Any] | None:
        parts = urlparse(self.path).path.strip("/").split("/")  # api v1 namespaces NS pods NAME [binding]
        with self.fake.cond:
            return copy.deepcopy(self.fake.objects["pods"].get(f"{parts[3]}/{parts[5]}"))

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")

    def do_PATCH(self) -> None:
        time.sleep(self.fake.write_delay)
        pod = self._pod()
        patch = self._body()
        if pod is None:
            return self._send(404, {"kind": "Status", "code": 404})
        notes = pod["metadata"].setdefault("annotations", {})
        notes.update(patch.get("metadata", {}).get("annotations", {}))
        self.fake.put("pods", pod)
        return self._send(200, pod)

    def do_POST(self) -> None:
        if self.path.startswith("/apis/coordination.k8s.io/"):
            return self._lease("POST")
        time.sleep(self.fake.write_delay)
        pod = self._pod()
        target = self._body()["target"]["name"]
        if pod is None:
            return self._send(404, {"kind": "Status", "code": 404})
        if pod["metadata"]["name"] in self.fake.refuse_binding:
            return self._send(500, {"kind": "Status", "code": 500, "message": "refused"})
        if pod["spec"].get("nodeName") not in (None, target):
            return self._send(409, {"kind": "Status", "code": 409, "reason": "Conflict"})
        pod["spec"]["nodeName"] = target
        self.fake.put("pods", pod)
        if pod["metadata"]["name"] in self.fake.lose_answer:
            return self._send(504, {"kind": "Status", "code": 504, "reason": "Timeout"})
        return self._send(201, {"kind": "Status", "code": 201})
