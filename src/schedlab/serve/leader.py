"""One replica binds at a time: leader election on a ``coordination.k8s.io/v1`` Lease, as
client-go's leaderelection does it.

Every replica follows the API server (its book stays current); the one holding the Lease
is ready and binds, the others stand by (unready, so the Service sends kube-scheduler to
the leader alone). The holder renews the Lease every ``renew`` seconds; a replica takes it
over once it has seen the same record unchanged for ``duration`` seconds (its own clock:
no clock skew between machines matters), and a leader that cannot renew within
``duration`` steps down. Writes carry the Lease's resourceVersion, so two replicas that
race get one 409 Conflict. On shutdown the leader gives the Lease up at once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

log = logging.getLogger("schedlab")


class Leader:
    """The election loop of one replica named ``identity`` over Lease ``namespace/name``."""

    def __init__(
        self,
        api: Any,
        namespace: str,
        name: str,
        identity: str,
        duration: float = 15.0,
        renew: float = 5.0,
    ) -> None:
        self.api, self.namespace, self.name, self.identity = api, namespace, name, identity
        self.duration, self.renew = duration, renew
        self.stop = threading.Event()
        self.holder = ""  # who holds the Lease, as last seen
        self._leading_since = -1.0  # monotonic time of the last successful renewal (-1: not leading)
        self._seen: tuple[Any, float] = (None, 0.0)  # the record last seen, and when it changed
        self.thread: threading.Thread | None = None

    def leading(self) -> bool:
        """Whether this replica holds the Lease (and renewed it within its duration)."""
        return self._leading_since >= 0 and time.monotonic() - self._leading_since < self.duration

    def alive(self) -> bool:
        return self.thread is None or self.thread.is_alive()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.try_once()
            except Exception as err:  # the API server is away: try again, lead no longer than allowed
                log.warning("leader election: %s", err)
            self.stop.wait(self.renew if self.leading() else min(self.renew, 2.0))

    def try_once(self) -> bool:
        """One round: acquire or renew the Lease if it is free, ours, or expired."""
        from kubernetes.client.exceptions import ApiException

        now = time.monotonic()
        try:
            lease = self._read()
        except ApiException as err:
            if err.status != 404:
                raise
            return self._write(None)
        spec = lease.get("spec") or {}
        self.holder = str(spec.get("holderIdentity") or "")
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseDurationSeconds"))
        if record != self._seen[0]:
            self._seen = (record, now)
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        if self.holder and self.holder != self.identity and now - self._seen[1] < duration:
            self._leading_since = -1.0
            return False  # someone else holds it and renews it
        return self._write(lease)

    def release(self) -> None:
        """Give the Lease up (on shutdown) so that a standby takes over at once."""
        self.stop.set()
        if not self.leading():
            return
        try:
            lease = self._read()
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = ""
                lease["spec"]["leaseDurationSeconds"] = 1
                self.api.replace_namespaced_lease(self.name, self.namespace, lease, _preload_content=False)
        except Exception as err:  # it will expire instead
            log.warning("leader election: could not give the Lease up (%s)", err)
        self._leading_since = -1.0

    def _read(self) -> dict[str, Any]:
        response = self.api.read_namespaced_lease(self.name, self.namespace, _preload_content=False)
        return orjson.loads(response.data)  # type: ignore[no-any-return]

    def _write(self, lease: dict[str, Any] | None) -> bool:
        """Take or renew the Lease (``lease``: as read, with its resourceVersion; None: create)."""
        from kubernetes.client.exceptions import ApiException

        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec = dict((lease or {}).get("spec") or {})
        taking = spec.get("holderIdentity") != self.identity
        if taking:
            spec["acquireTime"] = stamp
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (lease is not None)
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=int(self.duration), renewTime=stamp)
        meta = dict((lease or {}).get("metadata") or {"name": self.name, "namespace": self.namespace})
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
        try:
            if lease is None:
                self.api.create_namespaced_lease(self.namespace, body, _preload_content=False)
            else:
                self.api.replace_namespaced_lease(self.name, self.namespace, body, _preload_content=False)
        except ApiException as err:
            if err.status == 409:  # another replica wrote first
                self._leading_since = -1.0
                return False
            raise
        if taking:
            log.info("leader election: %s now holds Lease %s/%s", self.identity, self.namespace, self.name)
        self.holder = self.identity
        self._leading_since = time.monotonic()
        return True
