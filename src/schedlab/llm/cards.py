"""Model cards and GPU cards: what the roofline needs to know of a transformer and a GPU.

A model card gives a decoder-only transformer's shape (layers, hidden size, attention and
KV heads, MLP size, vocabulary, whether input and output embeddings are tied, the longest
context it serves) and the bytes per parameter; its parameter count follows from the shape
(Llama-style blocks: Q, K, V and output projections, a gated MLP of three matrices). A GPU
card gives the dense FP16/BF16 tensor peak, the memory bandwidth and size, and the bandwidth
of the link between GPUs of one node (NVLink, else PCIe) that tensor parallelism
all-reduces over. The figures are the vendors' data-sheet numbers (dense, no sparsity).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schedlab.errors import SchedlabError


class LlmError(SchedlabError):
    """A model, GPU, SLO or deployment that cannot be used; the message says why."""


@dataclass(frozen=True)
class ModelCard:
    """A decoder-only transformer (Llama-style blocks)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    mlp: int
    vocab: int
    max_len: int
    tied: bool = False
    dtype_bytes: int = 2

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of the keys (and of the values) of one token in one layer."""
        return self.kv_heads * self.head_dim

    @property
    def layer_params(self) -> int:
        """Weights of one block's matrices: Q, K, V, output projection, gate, up, down."""
        h = self.hidden
        return h * (h + 2 * self.kv_dim) + h * h + 3 * h * self.mlp

    @property
    def params(self) -> int:
        """All weights (norms left out: a few thousand per layer)."""
        embeddings = self.vocab * self.hidden * (1 if self.tied else 2)
        return self.layers * self.layer_params + embeddings

    @property
    def weight_bytes(self) -> int:
        return self.params * self.dtype_bytes

    @property
    def kv_bytes_per_token(self) -> int:
        """KV-cache bytes one token holds: a key and a value per layer."""
        return 2 * self.layers * self.kv_dim * self.dtype_bytes


@dataclass(frozen=True)
class GpuCard:
    """A GPU model: dense FP16/BF16 tensor peak (FLOP/s), memory bandwidth (B/s), memory
    (B), and the per-direction bandwidth (B/s) of its link to the other GPUs of its node."""

    name: str
    flops: float
    bandwidth: float
    memory: float
    link: float
    aliases: tuple[str, ...] = ()
    #: How many of it one physical GPU holds (a MIG instance's profile alone; 1: a whole GPU).
    per_gpu: int = 1


T, G = 1e12, 1e9
GiB = 2**30

MODELS = {
    m.name: m
    for m in (
        ModelCard("llama-2-7b", 32, 4096, 32, 32, 11008, 32000, 4096),
        ModelCard("llama-2-13b", 40, 5120, 40, 40, 13824, 32000, 4096),
        ModelCard("llama-2-70b", 80, 8192, 64, 8, 28672, 32000, 4096),
        ModelCard("llama-3-8b", 32, 4096, 32, 8, 14336, 128256, 8192),
        ModelCard("llama-3-70b", 80, 8192, 64, 8, 28672, 128256, 8192),
        ModelCard("qwen2.5-1.5b", 28, 1536, 12, 2, 8960, 151936, 32768, tied=True),
    )
}

GPUS = {
    g.name: g
    for g in (
        GpuCard("H100-80GB", 989.4 * T, 3350 * G, 80 * G, 450 * G, ("H100", "H100-SXM5-80GB", "H100-SXM")),
        GpuCard("H800-80GB", 989.4 * T, 3350 * G, 80 * G, 200 * G, ("H800",)),
        GpuCard("H200-141GB", 989.4 * T, 4800 * G, 141 * G, 450 * G, ("H200",)),
        GpuCard("A100-80GB", 312 * T, 2039 * G, 80 * G, 300 * G, ("A100-SXM4-80GB", "A100-80G")),
        GpuCard("A800-80GB", 312 * T, 2039 * G, 80 * G, 200 * G, ("A800", "A800-SXM4-80GB")),
        GpuCard("A100-40GB", 312 * T, 1555 * G, 40 * G, 300 * G, ("A100", "A100-SXM4-40GB")),
        GpuCard("L40S", 362 * T, 864 * G, 48 * G, 32 * G),
        GpuCard("L4", 121 * T, 300 * G, 24 * G, 32 * G),
        GpuCard("A10", 125 * T, 600 * G, 24 * G, 32 * G),
        GpuCard("T4", 65 * T, 320 * G, 16 * G, 16 * G),
        GpuCard("V100-32GB", 125 * T, 900 * G, 32 * G, 150 * G, ("V100M32", "V100-SXM2-32GB")),
        GpuCard("V100-16GB", 125 * T, 900 * G, 16 * G, 150 * G, ("V100M16", "V100", "V100-SXM2-16GB")),
        GpuCard("P100", 18.7 * T, 732 * G, 16 * G, 40 * G),
    )
}


def model_card(name: str) -> ModelCard:
    """The built-in model card called ``name`` (case-insensitive)."""
    for key, card in MODELS.items():
        if key == name.strip().lower():
            return card
    raise LlmError(f"--model {name}: not a model schedlab knows ({', '.join(MODELS)})")


def gpu_card(name: str) -> GpuCard:
    """The GPU card of a GPU model name as node lists write it (``H100``, ``A100-SXM4-80GB``,
    ``V100M16``, ...; case-insensitive), or of one MIG instance of it (``MODEL/PROFILE``,
    :func:`mig_card`)."""
    physical, sep, profile = name.strip().rpartition("/")
    if sep:
        return mig_card(gpu_card(physical), physical, profile)
    key = name.strip().upper()
    for card in GPUS.values():
        if key in (card.name.upper(), *(a.upper() for a in card.aliases)):
            return card
    raise LlmError(f"GPU {name}: not a GPU model schedlab has a card for ({', '.join(GPUS)})")


def mig_card(card: GpuCard, physical: str, name: str) -> GpuCard:
    """One MIG instance of profile ``name`` on ``card`` (GPU model ``physical``): the tensor
    peak times its share of the compute slices (g/7; g/4 on an A30), the bandwidth times its
    share of the memory slices (each slice has its own memory controllers and L2), the memory
    its profile names, and no link (instances do not all-reduce: tensor parallel degree 1);
    ``per_gpu``: the most instances of the profile one GPU holds."""
    from schedlab.cluster.mig import MigError, mig_model, most_instances

    mig = mig_model(physical)
    if mig is None:
        raise LlmError(f"GPU {physical}/{name}: {physical} has no MIG (MIG-capable: A100, H100, H200, A30)")
    try:
        profile = mig.profile(name)
    except MigError as err:
        raise LlmError(f"GPU {physical}/{name}: {err}") from None
    return GpuCard(
        f"{card.name}/{profile.name}",
        card.flops * mig.share(profile),
        card.bandwidth * profile.size / mig.slices,
        profile.memory_gb * G,
        0.0,
        per_gpu=most_instances(mig, profile),
    )


def shared_card(card: GpuCard, share: float) -> GpuCard:
    """The card as a replica that time-slices ``share`` of one GPU with other tasks sees it:
    ``share`` of its memory (vLLM's ``gpu_memory_utilization`` applies to that), all its
    compute and bandwidth while it runs alone (co-runners slow it as the interference model
    says: :mod:`schedlab.sim.llm_services`)."""
    return replace(card, name=f"{card.name} ({share:g} of it)", memory=card.memory * share, aliases=())


def gpu_card_pairs(parts: list[str], what: str) -> tuple[tuple[str, str], ...]:
    """``["G2=A10", "G3=A100-40GB"]`` as (node-list GPU model, card name) pairs, each card
    checked; ``what`` names the option or key in errors."""
    pairs = []
    for part in (p.strip() for p in parts if p.strip()):
        model, sep, card = part.partition("=")
        if not sep or not model.strip() or not card.strip():
            raise LlmError(f"{what}: expected MODEL=CARD pairs (e.g. G2=A10), not '{part}'")
        try:
            pairs.append((model.strip(), gpu_card(card).name))
        except LlmError as err:
            raise LlmError(f"{what}: {err}") from None
    return tuple(pairs)
