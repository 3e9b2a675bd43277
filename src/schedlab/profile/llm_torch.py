"""The PyTorch backend of ``schedlab profile --llm`` (``schedlab[profile]``): one block of a
model card with random weights on the local GPU (or the CPU, for a dry run).

A prefill runs ``batch`` prompts of ``tokens`` tokens through the block with causal
attention; a decode runs one token of ``batch`` requests against a KV cache of ``context``
tokens (written into a preallocated cache, as serving engines do). Attention is PyTorch's
``scaled_dot_product_attention`` (FlashAttention or memory-efficient kernels on a GPU) with
grouped KV heads. Rotary embeddings are left out (elementwise, a small share of the block).
Each shape is warmed up, then timed ``repeats`` times (CUDA events on a GPU); the median
block time times the layers, plus the output head's time for the sampled tokens, is the
iteration's time.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from typing import Any

from schedlab.errors import ConfigError
from schedlab.llm.cards import ModelCard


class TorchLlmBackend:
    """Times a model card's block and head with PyTorch on ``device``."""

    def __init__(self, card: ModelCard, device: str = "cuda", repeats: int = 20, warmup: int = 3) -> None:
        if importlib.util.find_spec("torch") is None:
            raise ConfigError(
                "schedlab profile --llm needs PyTorch: pip install 'schedlab[profile]' (or --backend fake)"
            )
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(
                "schedlab profile --llm: no CUDA GPU here (--device cpu for a dry run, or --backend fake)"
            )
        self.torch = torch
        self.card = card
        self.device = torch.device(device)
        self.dtype = torch.bfloat16 if device == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
        self.repeats, self.warmup = repeats, warmup
        gen = torch.Generator(device=self.device).manual_seed(0)
        h, kv, mlp = card.hidden, card.kv_dim, card.mlp

        def weight(*shape: int) -> Any:
            return (torch.randn(*shape, generator=gen, device=self.device) * 0.02).to(self.dtype)

        self.qkv = weight(h, h + 2 * kv)
        self.out = weight(h, h)
        self.gate_up = weight(h, 2 * mlp)
        self.down = weight(mlp, h)
        self.norm = torch.ones(h, device=self.device, dtype=self.dtype)
        self.head = weight(h, card.vocab)

    def describe(self) -> dict[str, str]:
        torch = self.torch
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        return {"device": name, "backend": "torch", "torch": torch.__version__, "dtype": str(self.dtype)}

    def time(self, kind: str, batch: int, tokens: int, context: int) -> tuple[float, int]:
        torch, card = self.torch, self.card
        with torch.inference_mode():
            x = torch.randn(batch, tokens, card.hidden, device=self.device, dtype=self.dtype)
            cache = None
            if kind == "decode":
                shape = (batch, card.kv_heads, context + 1, card.head_dim)
                cache = (torch.randn(shape, device=self.device, dtype=self.dtype),) * 2
            block = self._median(lambda: self._block(x, cache))
            last = x[:, -1, :]
            head = self._median(lambda: last @ self.head)
        return block * card.layers + head, self.repeats

    def _block(self, x: Any, cache: tuple[Any, Any] | None) -> Any:
        torch, card = self.torch, self.card
        f = torch.nn.functional
        b, s, h = x.shape
        hd, kv = card.head_dim, card.kv_dim
        y = self._rms(x)
        q, k, v = (y @ self.qkv).split([h, kv, kv], dim=-1)
        q = q.view(b, s, card.heads, hd).transpose(1, 2)
        k = k.view(b, s, card.kv_heads, hd).transpose(1, 2)
        v = v.view(b, s, card.kv_heads, hd).transpose(1, 2)
        if cache is None:
            attention = self._attend(q, k, v, causal=True)
        else:
            keys, values = cache
            keys[:, :, -1:, :] = k
            values[:, :, -1:, :] = v
            attention = self._attend(q, keys, values, causal=False)
        x = x + attention.transpose(1, 2).reshape(b, s, h) @ self.out
        gate, up = (self._rms(x) @ self.gate_up).chunk(2, dim=-1)
        return x + (f.silu(gate) * up) @ self.down

    def _attend(self, q: Any, k: Any, v: Any, causal: bool) -> Any:
        f = self.torch.nn.functional
        try:
            return f.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        except TypeError:  # PyTorch before 2.5: no grouped heads in the kernel
            groups = self.card.heads // self.card.kv_heads
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
            return f.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def _rms(self, x: Any) -> Any:
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return (x * self.torch.rsqrt(variance + 1e-5).to(x.dtype)) * self.norm

    def _median(self, work: Any) -> float:
        """Median milliseconds of ``work`` after the warm-up."""
        torch = self.torch
        for _ in range(self.warmup):
            work()
        samples = []
        for _ in range(self.repeats):
            if self.device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                work()
                end.record()
                end.synchronize()
                samples.append(start.elapsed_time(end))
            else:
                began = time.perf_counter()
                work()
                samples.append((time.perf_counter() - began) * 1000)
        return float(statistics.median(samples))
