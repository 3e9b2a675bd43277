"""The process that holds one configuration on the GPU (PyTorch; imported in the child only).

Inference: fp16, the whole forward pass captured as one CUDA graph; a request is one replay
and a synchronize, timed on the host. Training: one SGD step (forward, backward, update)
under bf16 autocast, eager. Models have random weights: latency does not depend on them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

VISION = {"resnet50": "resnet50", "mobilenet": "mobilenet_v3_large", "vit": "vit_b_16"}
SEQUENCE = {"bert": 128, "gpt2": 256}


def serve(conn: Connection, model: str, batch: int, kind: str) -> None:
    """Build the configuration, report ``("ready", precision, gpu_mem_mib, machine)``, then answer
    ``("run", start_at, warmup, seconds)`` with ``("done", latencies_ms)`` until ``("quit",)``."""
    try:
        step, precision, memory = _build(model, batch, kind)
        conn.send(("ready", precision, memory, _machine()))
        while True:
            message = conn.recv()
            if message[0] == "quit":
                return
            _, start_at, warmup, seconds = message
            conn.send(("done", _closed_loop(step, start_at, warmup, seconds)))
    except Exception:
        conn.send(("error", traceback.format_exc()))


def _closed_loop(step: Callable[[], None], start_at: float, warmup: float, seconds: float) -> list[float]:
    """Requests back to back from the wall-clock time ``start_at`` (shared by the
    co-runners); those that start after the warm-up and before its end are kept."""
    while (ahead := start_at - time.time()) > 0.002:
        time.sleep(ahead - 0.002)
    while time.time() < start_at:
        pass
    measure_from, until = start_at + warmup, start_at + warmup + seconds
    kept: list[float] = []
    while True:
        began = time.time()
        if began >= until and kept:
            return kept
        t0 = time.perf_counter()
        step()
        elapsed = time.perf_counter() - t0
        if began >= measure_from:
            kept.append(elapsed * 1e3)


def _machine() -> dict[str, str]:
    """The GPU and the library versions this process runs with."""
    import torch

    props = torch.cuda.get_device_properties(0)
    info = {
        "gpu": f"{props.name}, {props.total_memory // 2**20} MiB, {props.multi_processor_count} SMs",
        "torch": str(torch.__version__),
        "cuda": str(torch.version.cuda),
    }
    for package in ("torchvision", "transformers"):
        try:
            info[package] = str(__import__(package).__version__)
        except ImportError:
            info[package] = "not installed"
    return info


def _build(model: str, batch: int, kind: str) -> tuple[Callable[[], None], str, int]:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("PyTorch sees no CUDA GPU in this process")
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    net, make_input = _network(model, batch)
    net = net.to(device)
    x = make_input(device)
    sync = torch.cuda.synchronize
    if kind == "train":
        net.train()
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-4)

        def train_step() -> None:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = _output(net(x)).float().mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync()

        for _ in range(3):
            train_step()
        return train_step, "bf16 autocast, SGD step", _peak_mib()
    net = net.half().eval()
    if x.is_floating_point():
        x = x.half()
    with torch.no_grad():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                net(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            net(x)
    sync()

    def replay() -> None:
        graph.replay()
        sync()

    return replay, "fp16, CUDA graph", _peak_mib()


def _network(model: str, batch: int) -> tuple[Any, Callable[[Any], Any]]:
    """The model (random weights) and a function making its input on a device."""
    import torch

    if model in VISION:
        import torchvision

        net = getattr(torchvision.models, VISION[model])(weights=None)
        return net, lambda device: torch.randn(batch, 3, 224, 224, device=device)
    import transformers

    if model == "bert":
        config = transformers.BertConfig()
        net = transformers.BertModel(config)
    else:
        config = transformers.GPT2Config(use_cache=False)
        net = transformers.GPT2Model(config)
    length = SEQUENCE[model]
    return net, lambda device: torch.randint(0, config.vocab_size, (batch, length), device=device)


def _output(result: Any) -> Any:
    """The tensor a network returns: logits, or a transformer's last hidden state."""
    return getattr(result, "last_hidden_state", result)


def _peak_mib() -> int:
    import torch

    return round(int(torch.cuda.max_memory_reserved()) / 2**20)
