"""Where sweep runs execute: local processes, or a Ray cluster.

A backend takes run specs and the loaded traces and yields each run's row set as it
finishes (in completion order). A run depends only on its spec and data, so every backend
gives the same rows (all but ``wall_s``) for the same matrix.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

import pandas as pd

from schedlab import jit
from schedlab.errors import ConfigError, SchedlabError
from schedlab.plugins import Plugin, load_shipped, loaded

log = logging.getLogger(__name__)


class Spec(Protocol):
    """A run of a sweep (a fill or replay spec)."""

    kind: str


class Inputs(Protocol):
    """The loaded inputs of a sweep: they run one of its specs."""

    def run(self, spec: Any) -> pd.DataFrame: ...


class Backend(Protocol):
    """Runs specs; yields one row set per finished run."""

    name: str

    def run(self, specs: Sequence[Spec], data: Inputs) -> Iterator[pd.DataFrame]: ...


_WORKER_DATA: Inputs | None = None
_WORKER_ERROR: ConfigError | None = None


def _init_worker(data: Inputs, shipped: list[Plugin]) -> None:
    """Set up a worker process: die with the parent, load the parent's plugins, keep the data."""
    global _WORKER_DATA, _WORKER_ERROR
    _die_with_parent()
    _WORKER_DATA = data
    try:
        load_shipped(shipped)
    except ConfigError as err:  # reported by the first run, in the parent
        _WORKER_ERROR = err


def _die_with_parent() -> None:
    """On Linux, ask the kernel to end this process when its parent dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _run_in_worker(spec: Spec) -> pd.DataFrame:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER_DATA is not None, "worker not initialised"
    return _WORKER_DATA.run(spec)


def _run_shipped(spec: Spec, data: Inputs, shipped: list[Plugin]) -> pd.DataFrame:
    """A Ray task: load the parent's plugins (once per worker process), then run."""
    load_shipped(shipped)
    return data.run(spec)


def _compile_once(kind: str) -> None:
    """Compile a kind's kernels here, if needed, rather than in every worker at once."""
    if not jit.enabled():
        return
    if kind == "fill":
        from schedlab.fill.compiled import ready
    else:
        from schedlab.sim.compiled import ready
    ready()


class LocalBackend:
    """``workers`` processes on this machine (in-process when ``workers`` is 1)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ConfigError("--workers must be at least 1")
        self.workers = workers

    def run(self, specs: Sequence[Spec], data: Inputs) -> Iterator[pd.DataFrame]:
        if self.workers == 1 or len(specs) <= 1:
            for spec in specs:
                yield data.run(spec)
            return
        workers = min(self.workers, len(specs), 4 * (os.cpu_count() or 1))
        if workers < self.workers:
            log.info("using %d worker processes (runs to do and cores allow no more)", workers)
        _compile_once(specs[0].kind)
        context = multiprocessing.get_context("spawn")  # no fork under the progress thread
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(data, loaded())
        )
        try:
            futures = [pool.submit(_run_in_worker, spec) for spec in specs]
            for future in as_completed(futures):
                yield future.result()
        finally:  # also on an interrupt or an error: no worker outlives the sweep
            pool.shutdown(wait=False, cancel_futures=True)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)


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
        import importlib.util

        if importlib.util.find_spec("ray") is None:  # before anything is printed or run
            raise ConfigError("the Ray backend needs Ray: pip install 'schedlab[ray]'")
        if address:
            reachable(address)  # before any work starts

    def run(self, specs: Sequence[Spec], data: Inputs) -> Iterator[pd.DataFrame]:
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
            remote = ray.remote(num_cpus=1)(_run_shipped)
            inputs = ray.put(data)
            shipped = ray.put(loaded())
            pending = [remote.remote(spec, inputs, shipped) for spec in specs]
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                try:
                    frame: pd.DataFrame = ray.get(done[0])
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, SchedlabError):  # a plugin or policy error: one line
                        raise ConfigError(str(cause)) from None
                    raise
                yield frame
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
