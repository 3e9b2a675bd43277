"""The PyTorch backend: one process per co-runner on the local GPU (``schedlab[profile]``).

Each configuration is built once in its own process (a second copy when a group holds it
twice) and kept for every measurement it takes part in, so that a measurement costs its
warm-up and run time only. Processes of one measurement start their closed loops at the
same wall-clock time. Under MPS, an MPS control daemon is started for the measurements
(pipe and log folders of its own) and every process is limited to the SM share through
``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE``; processes of other shares are stopped first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.errors import ConfigError, SchedlabError
from schedlab.profile.backend import Built
from schedlab.profile.plan import Spec

log = logging.getLogger("schedlab")

#: Seconds a process may take to build its configuration, and a run beyond its own length.
BUILD_TIMEOUT = 600.0
RUN_SLACK = 120.0


class ProfileError(SchedlabError):
    """The GPU backend could not build or run a configuration."""


class TorchBackend:
    """Measures on the local CUDA GPU with PyTorch (random weights; torchvision and
    transformers build the models)."""

    name = "torch"

    def __init__(self) -> None:
        if importlib.util.find_spec("torch") is None:
            raise ConfigError(
                "schedlab profile needs PyTorch: pip install 'schedlab[profile]' (or --backend fake)"
            )
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[tuple[Spec, int, int | None], tuple[BaseProcess, Connection]] = {}
        self._built: dict[Spec, Built] = {}
        self._machine: dict[str, str] = {}
        self._mps: tuple[str, str] | None = None  # pipe and log folders of our daemon

    def describe(self) -> dict[str, str]:
        """What the first process built reported (the parent never touches CUDA)."""
        driver = _driver_version()
        return self._machine | ({"driver": driver} if driver else {})

    def prepare(self, specs: Sequence[Spec]) -> list[Built]:
        """Start one process per configuration at once, then wait for all of them."""
        self._start_all([(spec, 0, None) for spec in specs])
        return [self._built[spec] for spec in specs]

    def run(
        self, members: Sequence[Spec], mps_pct: int | None, seconds: float, warmup: float
    ) -> list[FloatArray]:
        self._sharing(mps_pct)
        copies: dict[Spec, int] = {}
        keys = []
        for spec in members:
            copies[spec] = copies.get(spec, -1) + 1
            keys.append((spec, copies[spec], mps_pct))
        conns = self._start_all(keys)
        start_at = time.time() + 0.25
        for conn in conns:
            conn.send(("run", start_at, warmup, seconds))
        return [np.asarray(_answer(conn, "done", warmup + seconds + RUN_SLACK)[1]) for conn in conns]

    def close(self) -> None:
        for process, conn in self._workers.values():
            _stop(process, conn)
        self._workers.clear()
        self._stop_mps()

    def _start_all(self, keys: Sequence[tuple[Spec, int, int | None]]) -> list[Connection]:
        """The processes of ``keys`` (configuration, copy, SM share), started where missing:
        all at once, then each one's build awaited."""
        from schedlab.profile.worker import serve

        fresh = [key for key in dict.fromkeys(keys) if key not in self._workers]
        for key in fresh:
            spec, _, mps_pct = key
            parent, child = self._context.Pipe()
            env = {"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": str(mps_pct)} if mps_pct is not None else {}
            if self._mps is not None:
                env |= {"CUDA_MPS_PIPE_DIRECTORY": self._mps[0], "CUDA_MPS_LOG_DIRECTORY": self._mps[1]}
            process = self._context.Process(
                target=serve, args=(child, spec.model, spec.batch, spec.kind), daemon=True
            )
            with _environment(env):
                process.start()
            child.close()
            self._workers[key] = (process, parent)
        for key in fresh:
            spec = key[0]
            _, precision, memory, machine = _answer(self._workers[key][1], "ready", BUILD_TIMEOUT, spec.name)
            self._built.setdefault(spec, Built(precision, memory))
            self._machine = self._machine or machine
        return [self._workers[key][1] for key in keys]

    def _sharing(self, mps_pct: int | None) -> None:
        """Stop the processes of other sharing modes; start or stop the MPS daemon."""
        stale = [k for k in self._workers if k[2] != mps_pct]
        for key in stale:
            _stop(*self._workers.pop(key))
        if mps_pct is not None and self._mps is None:
            self._start_mps()
        elif mps_pct is None:
            self._stop_mps()

    def _start_mps(self) -> None:
        control = shutil.which("nvidia-cuda-mps-control")
        if control is None:
            raise ConfigError("--mps needs nvidia-cuda-mps-control (NVIDIA MPS) on the PATH")
        pipe, logs = (
            tempfile.mkdtemp(prefix="schedlab-mps-pipe-"),
            tempfile.mkdtemp(prefix="schedlab-mps-log-"),
        )
        env = {**os.environ, "CUDA_MPS_PIPE_DIRECTORY": pipe, "CUDA_MPS_LOG_DIRECTORY": logs}
        done = subprocess.run([control, "-d"], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ProfileError(f"could not start the MPS daemon: {done.stderr.strip() or done.returncode}")
        self._mps = (pipe, logs)
        log.info("started an MPS control daemon (pipes in %s)", pipe)

    def _stop_mps(self) -> None:
        if self._mps is None:
            return
        control = shutil.which("nvidia-cuda-mps-control") or "nvidia-cuda-mps-control"
        env = {**os.environ, "CUDA_MPS_PIPE_DIRECTORY": self._mps[0], "CUDA_MPS_LOG_DIRECTORY": self._mps[1]}
        subprocess.run([control], input="quit\n", env=env, capture_output=True, text=True, check=False)
        self._mps = None


def _answer(conn: Connection, expected: str, timeout: float, what: str = "a measurement") -> Any:
    if not conn.poll(timeout):
        raise ProfileError(f"no answer from the GPU process for {what} within {timeout:.0f} s")
    try:
        message = conn.recv()
    except EOFError:
        raise ProfileError(f"the GPU process for {what} died (out of GPU memory?)") from None
    if message[0] == "error":
        log.debug("%s", message[1])
        last = message[1].strip().splitlines()[-1]
        raise ProfileError(f"the GPU process for {what} failed: {last} (-v shows the traceback)")
    if message[0] != expected:
        raise ProfileError(f"unexpected answer {message[0]!r} from the GPU process for {what}")
    return message


def _stop(process: BaseProcess, conn: Connection) -> None:
    with contextlib.suppress(OSError):
        conn.send(("quit",))
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join()
    conn.close()


class _environment:
    """Set environment variables for the duration of a ``with`` block (a spawned child
    inherits them)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *_: object) -> None:
        for key, old in self.saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _driver_version() -> str:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    done = subprocess.run(
        [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else ""
