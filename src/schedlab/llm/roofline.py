"""How long one batch iteration takes on a deployment, and how many KV-cache blocks it has.

An iteration runs every layer once over the batch's tokens: the prompt chunks being
prefilled and one token of each decoding request. Each operator takes the longer of its
compute time (FLOPs over the GPU's tensor peak times an efficiency) and its memory time
(bytes moved over the bandwidth times an efficiency): the roofline. The operators are the
block's matrices (Q, K, V, output, gate, up, down: 2 FLOPs per weight per token, the weights
read once per iteration), causal attention over the prompt chunks and over the decoding
requests' contexts (4 x hidden FLOPs per query-key pair, each cached key and value read
once), the output head for each sampled token, and, with tensor parallelism over ``tp``
GPUs, two ring all-reduces of the activations per layer over the node's link. Work and
weights are split evenly over the ``tp`` GPUs; KV heads are split when there are at least
``tp`` of them, else each GPU holds a copy. Fixed times per iteration stand for kernel
launches (on the GPU) and the scheduler, sampling and detokenising (on the CPU). The
efficiencies and the launch time default to typical values; fitted to a measured profile
(:mod:`schedlab.llm.profiles`) they become the GPU's own.

The result is a handful of coefficients (:meth:`Deployment.coefficients`) the compiled
simulator evaluates for each batch (:func:`schedlab.llm.kernels.iteration_time`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schedlab.arrays import FloatArray
from schedlab.llm.cards import GpuCard, LlmError, ModelCard
from schedlab.llm.kernels import iteration_time as compiled_iteration_time

#: The same function as plain Python (a compiled helper has no Python entry point).
iteration_time = getattr(compiled_iteration_time, "py_func", compiled_iteration_time)


@dataclass(frozen=True)
class Efficiency:
    """Fractions of the data-sheet peaks that kernels reach, and fixed times per iteration
    (s): ``launch_s`` on the GPU (kernel launches, small kernels: what a profile measures),
    ``scheduler_s`` on the CPU (batch forming, sampling, detokenising: what it does not)."""

    compute: float = 0.7
    memory: float = 0.8
    launch_s: float = 0.0005
    scheduler_s: float = 0.0015
    allreduce_latency_s: float = 10e-6


@dataclass(frozen=True)
class Deployment:
    """One serving replica: a model on ``tp`` GPUs of one model (tensor parallel)."""

    model: ModelCard
    gpu: GpuCard
    tp: int = 1
    efficiency: Efficiency = Efficiency()

    def __post_init__(self) -> None:
        if self.tp > 1 and self.gpu.link <= 0:
            raise LlmError(
                f"{self.gpu.name} is a MIG instance: a replica takes one (no tensor parallelism over"
                f" instances), not {self.tp}"
            )

    @property
    def kv_dim_per_gpu(self) -> int:
        return self.model.head_dim * math.ceil(self.model.kv_heads / self.tp)

    def coefficients(self) -> FloatArray:
        """The per-batch cost coefficients the simulator evaluates (see kernels.iteration_time)."""
        m, e, tp = self.model, self.efficiency, self.tp
        flop_s = self.gpu.flops * e.compute
        byte_s = self.gpu.bandwidth * e.memory
        b, h, layers = m.dtype_bytes, m.hidden, m.layers
        # Elements each token reads and writes through the block's matrices.
        io = (h + h + 2 * m.kv_dim) + (h + h) + (h + 2 * m.mlp) + (m.mlp + h)
        kv = self.kv_dim_per_gpu
        hidden_share = h / tp
        ring = 2 * (tp - 1) / tp * h * b / self.gpu.link if tp > 1 else 0.0
        coef = np.zeros(15)
        coef[0] = layers * 2 * m.layer_params / tp / flop_s
        coef[1] = layers * m.layer_params * b / tp / byte_s
        coef[2] = layers * io * b / tp / byte_s
        coef[3] = layers * 4 * hidden_share / flop_s
        coef[4] = layers * 2 * kv * b / byte_s
        coef[5] = layers * 2 * hidden_share * b / byte_s
        coef[6] = layers * 4 * hidden_share / flop_s
        coef[7] = layers * 2 * kv * b / byte_s
        coef[8] = layers * 2 * hidden_share * b / byte_s
        coef[9] = 2 * h * m.vocab / tp / flop_s
        coef[10] = m.vocab * h * b / tp / byte_s
        coef[11] = (h * b + m.vocab * 4 / tp) / byte_s
        coef[12] = layers * 2 * ring
        coef[13] = layers * 2 * e.allreduce_latency_s if tp > 1 else 0.0
        coef[14] = e.launch_s + e.scheduler_s
        return coef

    def iteration(
        self,
        prefill_tokens: int = 0,
        prefill_pairs: float = 0.0,
        prefill_kv: int = 0,
        decodes: int = 0,
        decode_kv: int = 0,
        sampled: int = 0,
    ) -> float:
        """Seconds of one iteration (see :func:`schedlab.llm.kernels.iteration_time`)."""
        return float(
            iteration_time(
                self.coefficients(), prefill_tokens, prefill_pairs, prefill_kv, decodes, decode_kv, sampled
            )
        )

    def prefill_time(self, prompt: int) -> float:
        """One prompt prefilled alone."""
        return self.iteration(prompt, prompt * (prompt + 1) / 2, prompt, sampled=1)

    def decode_time(self, batch: int, context: int) -> float:
        """One decode step of ``batch`` requests of ``context`` tokens each."""
        return self.iteration(decodes=batch, decode_kv=batch * context, sampled=batch)

    def kv_blocks(self, block_size: int, max_batch_tokens: int, memory_fraction: float = 0.9) -> int:
        """KV-cache blocks of ``block_size`` tokens that fit beside the weights: vLLM's rule
        (``gpu_memory_utilization`` of each GPU, less the weights' share and an activation
        reserve for a full batch), the smallest GPU's count since all shard alike."""
        m = self.model
        reserve = 2**30 + max_batch_tokens * (4 * m.hidden + 2 * m.mlp / self.tp) * m.dtype_bytes
        free = self.gpu.memory * memory_fraction - m.weight_bytes / self.tp - reserve
        per_block = block_size * 2 * m.layers * self.kv_dim_per_gpu * m.dtype_bytes
        blocks = int(free // per_block) if free > 0 else 0
        if blocks * block_size < m.max_len:
            weights = m.weight_bytes / self.tp / 1e9
            raise LlmError(
                f"{m.name} on {self.tp} x {self.gpu.name}: {weights:.1f} GB of weights per GPU leave room for"
                f" {blocks * block_size} cached tokens, fewer than one {m.max_len}-token context: use more"
                " GPUs per replica (--tp) or a GPU with more memory"
            )
        return blocks
