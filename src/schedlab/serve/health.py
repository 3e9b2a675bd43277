"""Health that tells the truth: live while the follow loops run, ready once the cluster is
listed and the kernels are warm, and only while the view of the cluster is recent."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from schedlab.serve.book import Book
    from schedlab.serve.informer import Informer
    from schedlab.serve.leader import Leader

log = logging.getLogger("schedlab")
WARM_UP_UID = "schedlab-warm-up"


class Health:
    """``informer``: the list + watch loops (none: a service without ``--kubeconfig``);
    ``stale_after``: seconds after which a view not known current makes the service unready;
    ``leader``: the leader election (none: this replica always leads)."""

    def __init__(
        self, informer: Informer | None = None, stale_after: float = 120.0, leader: Leader | None = None
    ) -> None:
        self.informer, self.stale_after, self.leader = informer, stale_after, leader
        self.warm = threading.Event()

    def live(self) -> tuple[bool, str]:
        if self.informer is not None and not self.informer.alive():
            return False, "the list + watch loops have stopped"
        if self.leader is not None and not self.leader.alive():
            return False, "the leader election loop has stopped"
        return True, "ok"

    def standing_by(self) -> str | None:
        """Why this replica does not bind (another leads), or None when it does."""
        if self.leader is None or self.leader.leading():
            return None
        return f"standing by: {self.leader.holder or 'no replica'} holds the Lease"

    def ready(self) -> tuple[bool, str]:
        live, why = self.live()
        if not live:
            return live, why
        if not self.warm.is_set():
            return False, "warming up the kernels"
        if self.informer is not None:
            if not self.informer.synced():
                return False, "the first listing of nodes and pods is not done"
            age = self.informer.age()
            if age > self.stale_after:
                return False, f"the view of the cluster is {age:.0f} s old (over {self.stale_after:g} s)"
        waiting = self.standing_by()
        return (False, waiting) if waiting else (True, "ok")

    def warm_up(self, book: Book, answer: Any) -> threading.Thread:
        """Answer one filter and one prioritize call in a thread (``answer(verb, body)``),
        so that the kernels are loaded before the first real call; then ready."""

        def run() -> None:
            began = time.perf_counter()
            body = orjson.dumps(
                {
                    "Pod": {
                        "metadata": {"name": WARM_UP_UID, "namespace": "default", "uid": WARM_UP_UID},
                        "spec": {
                            "containers": [{"resources": {"requests": {"alibabacloud.com/gpu-milli": "1"}}}]
                        },
                    },
                    "Nodes": None,
                    "NodeNames": book.names[:1] or ["schedlab-warm-up"],
                }
            )
            try:
                for verb in ("filter", "prioritize"):
                    answer(verb, body)
                with book.lock:  # and bind's GPU choice (nothing is booked)
                    if book.names:
                        book.placer.choose(book.shape(book.pending[WARM_UP_UID]), 0)
            except Exception as err:  # a warm-up that fails only costs the first call its time
                log.warning("warming up the kernels failed: %s", err)
            with book.lock:
                book.pending.pop(WARM_UP_UID, None)
            self.warm.set()
            log.info("kernels warm in %.2f s", time.perf_counter() - began)

        thread = threading.Thread(target=run, name="warm-up", daemon=True)
        thread.start()
        return thread
