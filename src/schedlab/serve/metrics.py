"""The extender's Prometheus metrics (a registry per app): calls, latency, errors, binds,
the cluster's allocation and fragmentation, and the list + watch loops' health."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from schedlab.trace.tables import GPU_MILLI

if TYPE_CHECKING:
    from prometheus_client import Metric

    from schedlab.serve.book import Book
    from schedlab.serve.informer import Informer


class Metrics:
    """Prometheus metrics of one app."""

    def __init__(self, book: Book, informer: Informer | None = None) -> None:
        self.registry = reg = CollectorRegistry()
        self.requests = Counter(
            "schedlab_extender_requests", "Extender calls", ["verb", "status"], registry=reg
        )
        self.latency = Histogram(
            "schedlab_extender_latency_seconds",
            "Time to answer an extender call, from its arrival (reading its body included)",
            ["verb"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=reg,
        )
        self.errors = Counter(
            "schedlab_extender_errors", "Calls answered with an error", ["verb"], registry=reg
        )
        self.bound = Counter("schedlab_pods_bound", "Pods bound by the extender", registry=reg)
        Gauge("schedlab_gpu_allocation", "Allocated share of GPU compute", registry=reg).set_function(
            lambda: allocation(book)
        )
        Gauge(
            "schedlab_gpu_fragmentation", "FGD fragmentation share of GPU capacity", registry=reg
        ).set_function(lambda: fragmentation_share(book))
        Gauge("schedlab_nodes", "Nodes known to the extender", registry=reg).set_function(
            lambda: len(book.nodes)
        )
        Gauge("schedlab_binds_in_flight", "Binds whose API writes are under way", registry=reg).set_function(
            lambda: len(book.inflight)
        )
        if informer is not None:
            reg.register(WatchCollector(informer))


class WatchCollector(Collector):
    """The informer's counters and the age of its view, read at each scrape."""

    def __init__(self, informer: Informer) -> None:
        self.informer = informer

    def collect(self) -> Iterator[Metric]:
        inf = self.informer
        restarts = CounterMetricFamily(
            "schedlab_watch_restarts", "Watches that failed and were opened again", labels=["kind"]
        )
        relists = CounterMetricFamily(
            "schedlab_relists", "Full listings after the first (a 410 Gone)", labels=["kind"]
        )
        for kind in inf.restarts:
            restarts.add_metric([kind], inf.restarts[kind])
            relists.add_metric([kind], inf.relists[kind])
        age = inf.age()
        yield restarts
        yield relists
        yield GaugeMetricFamily(
            "schedlab_sync_age_seconds",
            "Seconds since the view of the cluster was last known current (-1: never listed)",
            value=age if age != float("inf") else -1.0,
        )


def allocation(book: Book) -> float:
    """Allocated share of the known GPUs' compute (0-1): a MIG instance counts its share."""
    with book.lock:
        c, share = book.cluster, book.rows.share
        used = float(((c.num_gpu * GPU_MILLI - c.gpu_free.sum(axis=1)) * share).sum())
        capacity = compute_capacity(book)
        return used / capacity if capacity else 0.0


def fragmentation_share(book: Book) -> float:
    """FGD's fragmentation of the cluster as a share of its GPU capacity (0-1), a MIG
    instance counting its share of a GPU."""
    with book.lock:
        c, capacity = book.cluster, compute_capacity(book)
        if not capacity or not len(c):
            return 0.0
        frag = book.fragmentation.node_frag(c.cpu_left, c.gpu_free, c.model) * book.rows.share
        return float(frag.sum()) / book.fragmentation.scale / capacity


def compute_capacity(book: Book) -> float:
    """The known GPUs' compute in milli, a MIG instance counting its share of a GPU."""
    return float((book.cluster.num_gpu * book.rows.share).sum()) * GPU_MILLI
