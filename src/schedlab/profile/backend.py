"""Backends that run a measurement: PyTorch on the local GPU, or a synthetic one.

A backend builds each configuration once (:meth:`Backend.prepare`), then runs groups of
them at once (:meth:`Backend.run`): every member in a closed loop from a common start, a
warm-up first, returning each member's request (or training-step) latencies in ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.profile.plan import Spec


@dataclass(frozen=True)
class Built:
    """What building a configuration tells: its precision/method and the GPU memory it adds."""

    precision: str
    gpu_mem_mib: int


class Backend(Protocol):
    """Runs measurements. ``members`` may name the same configuration more than once (one
    process each); ``mps_pct`` is set for MPS measurements only."""

    name: str

    def describe(self) -> dict[str, str]:
        """The machine and software measured on (GPU, driver, library versions)."""
        ...

    def prepare(self, specs: Sequence[Spec]) -> list[Built]:
        """Build every configuration (at once where the backend can)."""
        ...

    def run(
        self, members: Sequence[Spec], mps_pct: int | None, seconds: float, warmup: float
    ) -> list[FloatArray]: ...

    def close(self) -> None: ...


class FakeBackend:
    """A synthetic GPU for tests and dry runs: no PyTorch, no GPU, instant and seeded.

    Solo latency grows with the batch; time-slicing makes each member wait for the others'
    kernels in turn (a member's latency grows by half the others' solo latencies, at most
    three times its own, per co-runner); an MPS share below 100 % slows a member alone and
    halves that contention. Latencies carry 2 % log-normal noise.
    """

    name = "fake"
    BASE_MS: ClassVar[dict[str, float]] = {
        "resnet50": 0.9,
        "mobilenet": 0.6,
        "vit": 0.75,
        "bert": 1.1,
        "gpt2": 1.2,
    }

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    def describe(self) -> dict[str, str]:
        return {"gpu": "fake (synthetic latencies, schedlab.profile.backend.FakeBackend)"}

    def solo_ms(self, spec: Spec) -> float:
        scale = 3.0 if spec.kind == "train" else 1.0
        return self.BASE_MS[spec.model] * scale * (1.0 + 0.08 * (spec.batch - 1))

    def prepare(self, specs: Sequence[Spec]) -> list[Built]:
        return [
            Built(
                "bf16 autocast, SGD step" if s.kind == "train" else "fp16, CUDA graph",
                40 + 10 * s.batch * (4 if s.kind == "train" else 1),
            )
            for s in specs
        ]

    def run(
        self, members: Sequence[Spec], mps_pct: int | None, seconds: float, warmup: float
    ) -> list[FloatArray]:
        solo = [self.solo_ms(s) for s in members]
        share = 1.0 if mps_pct is None else mps_pct / 100
        contention = 1.0 if mps_pct is None else 0.5
        out = []
        for i, own in enumerate(solo):
            wait = sum(min(0.5 * other, 3 * own) for j, other in enumerate(solo) if j != i)
            mean = own * (1 + 0.5 * (1 - share)) + contention * wait
            samples = max(int(seconds * 1000 / mean), 1)
            out.append(mean * np.exp(self._rng.normal(0.0, 0.02, samples)))
        return out

    def close(self) -> None:
        pass
