"""What NVIDIA's GPU feature discovery (GFD) labels say about a node's ``nvidia.com/gpu``.

The device plugin advertises more than whole GPUs as ``nvidia.com/gpu``, and only the labels
tell:

- MIG's ``single`` strategy: every GPU of the node is partitioned alike and each instance
  is one ``nvidia.com/gpu``; GFD appends ``-MIG-<profile>`` to ``nvidia.com/gpu.product``
  (``NVIDIA-A100-SXM4-40GB-MIG-1g.5gb``: 2 GPUs of 7 instances advertise 14).
- Time-slicing (or MPS) with ``replicas``: each GPU is advertised ``replicas`` times;
  GFD writes the factor as ``nvidia.com/gpu.replicas`` and, unless the plugin renames the
  resource, appends ``-SHARED`` to the product (``Tesla-T4-SHARED``; with MIG
  ``...-MIG-1g.5gb-SHARED``).

Read naively, such a node would offer 14 (or 4 x its) whole GPUs of a model no one asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NVIDIA_PRODUCT, NVIDIA_REPLICAS = "nvidia.com/gpu.product", "nvidia.com/gpu.replicas"
#: The most replicas per GPU read (the device plugin sets no limit; none comes near).
MAX_REPLICAS = 1024
#: A product as GFD labels it: the model, then a MIG profile (single strategy), then -SHARED.
PRODUCT = re.compile(r"(?P<model>.+?)(?:-MIG-(?P<profile>[0-9][0-9a-z.+-]{0,30}?))?(?:-SHARED)?")


@dataclass(frozen=True)
class Advertised:
    """What a node's ``nvidia.com/gpu`` count stands for."""

    model: str  # the GPU model, without GFD's suffixes
    profile: str  # the MIG profile of every unit (single strategy), or "" for whole GPUs
    replicas: int  # units advertised per GPU or per instance (time-slicing; 1: none)


def advertised(labels: dict[str, Any], where: str) -> Advertised:
    """The GPU model, single-strategy MIG profile and replicas that ``labels`` give
    (ValueError: a replicas label that is not a count)."""
    product = labels.get(NVIDIA_PRODUCT)
    found = PRODUCT.fullmatch(product) if isinstance(product, str) else None
    replicas = labels.get(NVIDIA_REPLICAS, "1")
    if not isinstance(replicas, str) or not replicas.isdigit() or not 1 <= int(replicas) <= MAX_REPLICAS:
        raise ValueError(
            f"{where}: label {NVIDIA_REPLICAS} must be an integer 1-{MAX_REPLICAS}, got {replicas!r}"
        )
    if found is None:
        return Advertised(str(product or ""), "", int(replicas))
    return Advertised(found["model"], found["profile"] or "", int(replicas))
