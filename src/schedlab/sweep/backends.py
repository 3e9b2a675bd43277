"""Where sweep runs execute: local processes, or a Ray cluster.

A backend takes run specs and the loaded traces and yields each run's row set as it
finishes (in completion order). A run depends only on its spec and data, so every backend
gives the same rows (all but ``wall_s``) for the same matrix.
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

import pandas as pd

from schedlab import jit
from schedlab.errors import ConfigError
from schedlab.sweep.matrix import RunSpec, SweepData, run_one


class Backend(Protocol):
    """Runs specs; yields one row set per finished run."""

    name: str

    def run(self, specs: Sequence[RunSpec], data: SweepData) -> Iterator[pd.DataFrame]: ...


_WORKER_DATA: SweepData | None = None


def _init_worker(data: SweepData) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data


def _run_in_worker(spec: RunSpec) -> pd.DataFrame:
    assert _WORKER_DATA is not None, "worker not initialised"
    return run_one(spec, _WORKER_DATA.tasks[spec.workload], _WORKER_DATA.nodes)


class LocalBackend:
    """``workers`` processes on this machine (in-process when ``workers`` is 1)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ConfigError("--workers must be at least 1")
        self.workers = workers

    def run(self, specs: Sequence[RunSpec], data: SweepData) -> Iterator[pd.DataFrame]:
        if self.workers == 1 or len(specs) <= 1:
            for spec in specs:
                yield run_one(spec, data.tasks[spec.workload], data.nodes)
            return
        if jit.enabled():  # compile here once, if needed, rather than in every worker at once
            from schedlab.fill.compiled import ready

            ready()
        context = multiprocessing.get_context("spawn")  # no fork under the progress thread
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(data,)
        ) as pool:
            futures = [pool.submit(_run_in_worker, spec) for spec in specs]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()


#: Seconds to wait for a Ray head to answer before giving up.
RAY_CONNECT_TIMEOUT = 10.0


def reachable(address: str, timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """Fail fast, with a clear error, when nothing listens at a Ray ``host:port`` address
    (``ray.init`` itself may wait for minutes). ``auto`` and addresses without a port pass."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        why = f"no answer within {timeout:g} s" if isinstance(err, TimeoutError) else err.strerror or err
        raise ConfigError(f"--ray {address}: cannot reach the Ray cluster ({why})") from None


class RayBackend:
    """Runs on a Ray cluster at ``address``, or on a local Ray started for the sweep.

    Each Ray worker needs schedlab installed; the traces travel through Ray's object store,
    so workers need no access to the data files.
    """

    name = "ray"

    def __init__(self, address: str | None, workers: int) -> None:
        self.address = address
        self.workers = workers
        if address:
            reachable(address)  # before any work starts

    def run(self, specs: Sequence[RunSpec], data: SweepData) -> Iterator[pd.DataFrame]:
        try:
            import ray
        except ImportError:
            raise ConfigError("the Ray backend needs Ray: pip install 'schedlab[ray]'") from None
        started = not ray.is_initialized()
        if started:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address:
                try:
                    ray.init(address=self.address, **options)
                except (ConnectionError, TimeoutError, RuntimeError) as err:
                    raise ConfigError(f"--ray {self.address}: cannot connect: {err}") from None
            else:
                ray.init(num_cpus=self.workers, **options)
        try:
            remote = ray.remote(num_cpus=1)(run_one)
            nodes = ray.put(data.nodes)
            tasks = {w: ray.put(t) for w, t in data.tasks.items()}
            pending = [remote.remote(spec, tasks[spec.workload], nodes) for spec in specs]
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                frame: pd.DataFrame = ray.get(done[0])
                yield frame
        finally:
            if started:
                ray.shutdown()
