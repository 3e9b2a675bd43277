"""Kubernetes Pods and Nodes as schedlab sees them, in the FGD GPU-sharing convention.

A pod asks for ``alibabacloud.com/gpu-milli`` (per GPU) and ``alibabacloud.com/gpu-count``,
as annotations or as container resource requests/limits (any Kubernetes quantity form:
``500``, ``1.5k``, ``2k``), and may restrict GPU models with the annotation
``alibabacloud.com/gpu-card-model`` (``|``-separated). A node gives its GPU count in
``status.capacity`` (``alibabacloud.com/gpu-count``, else ``nvidia.com/gpu``) and its model
as the label ``alibabacloud.com/gpu-card-model`` (else ``nvidia.com/gpu.product``); GPU
feature discovery's labels say when ``nvidia.com/gpu`` counts MIG instances (the ``single``
strategy) or time-slicing replicas (:mod:`schedlab.serve.gpu_labels`).

MIG (the GPU operator's ``mixed`` strategy): a node's ``status.capacity`` lists its
instances per profile (``nvidia.com/mig-1g.10gb: 7``) beside its whole GPUs
(``nvidia.com/gpu``); a pod asks for ``N`` instances of one profile as a container resource
(``nvidia.com/mig-1g.10gb: N``). Anything malformed is a :class:`BadRequest` naming the
object and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from schedlab.errors import SchedlabError
from schedlab.quantity import parse_quantity
from schedlab.serve.gpu_labels import MAX_REPLICAS, NVIDIA_REPLICAS, advertised

PREFIX = "alibabacloud.com/"
GPU_MILLI, GPU_COUNT, GPU_MODEL, GPU_INDEX = (
    PREFIX + "gpu-milli",
    PREFIX + "gpu-count",
    PREFIX + "gpu-card-model",
    PREFIX + "gpu-index",
)
NVIDIA_GPU, MIG_PREFIX = "nvidia.com/gpu", "nvidia.com/mig-"
#: Bounds that no real object comes near: a request beyond them is an error, not a number.
MAX_GPUS, MAX_CPU_MILLI, MAX_MEMORY_MIB = 64, 2**31 - 1, 2**31 - 1
#: A MIG profile's name as the GPU operator writes it (``1g.10gb``, ``1g.10gb+me``, ``1c.3g.40gb``).
PROFILE = re.compile(r"[0-9][0-9a-z.+-]{0,30}")


class BadRequest(SchedlabError):
    """A request the extender cannot answer: malformed JSON, a missing field, a bad quantity."""


@dataclass(frozen=True)
class PodRequest:
    """What a pod asks of a node: CPU (milli), memory (MiB), GPUs and per-GPU milli."""

    uid: str
    namespace: str
    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: str
    priority: int = 0  # spec.priority: only pods of lower priority may be preempted for it
    mig: str = ""  # the MIG profile whose instances it asks for (``num_gpu`` of them)

    @property
    def wants_gpu(self) -> bool:
        return self.num_gpu > 0

    @property
    def resource(self) -> str:
        """What it asks for, as the filter's reasons name it."""
        return MIG_PREFIX + self.mig if self.mig else "GPU(s)"


@dataclass(frozen=True)
class NodeSpec:
    """A node's allocatable CPU (milli) and memory (MiB), GPU count and GPU model."""

    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    model: str
    #: Its MIG instances per profile, by profile name (``(("1g.10gb", 7),)``).
    mig: tuple[tuple[str, int], ...] = ()


def quantity(text: Any, where: str) -> Decimal:
    """A Kubernetes quantity (``1.5k``, ``500m``, ``8Gi``, ``2``) as a Decimal."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise BadRequest(f"{where}: a quantity must be a string, got {type(text).__name__}")
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) < 16:
        return Decimal(text)  # the common plain integer: no need for the full parser
    try:
        value = parse_quantity(text)
    except (ValueError, InvalidOperation):
        raise BadRequest(f"{where}: not a Kubernetes quantity: {text!r}") from None
    if not value.is_finite() or value < 0 or value > Decimal(2**53):
        raise BadRequest(f"{where}: quantity out of range: {text!r}")
    return value


def _whole(value: Decimal, where: str, high: int) -> int:
    number = int(value.to_integral_value(rounding="ROUND_CEILING"))
    if number > high:
        raise BadRequest(f"{where}: {number} is beyond {high}")
    return number


def _mapping(obj: Any, key: str, where: str) -> dict[str, Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{where}.{key}: must be an object")
    return value


def _named(obj: Any, kind: str) -> tuple[dict[str, Any], str]:
    """An API object's metadata and name (both required)."""
    if not isinstance(obj, dict):
        raise BadRequest(f"{kind}: must be an object")
    meta = _mapping(obj, "metadata", kind)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{kind}.metadata.name: missing")
    return meta, name


def parse_pod(obj: Any) -> PodRequest:
    """The request of a Pod object (its API JSON)."""
    meta, name = _named(obj, "Pod")
    where = f"pod {meta.get('namespace', 'default')}/{name}"
    notes = _mapping(meta, "annotations", where + " metadata")
    containers = _mapping(obj, "spec", where).get("containers") or []
    if not isinstance(containers, list):
        raise BadRequest(f"{where}: spec.containers must be a list")
    cpu, memory, milli, count = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    instances: dict[str, Decimal] = {}
    for i, container in enumerate(containers):
        resources = _mapping(container, "resources", f"{where} container {i}")
        requests = _mapping(resources, "requests", f"{where} container {i} resources")
        limits = _mapping(resources, "limits", f"{where} container {i} resources")
        asked = {**limits, **requests}  # a limit alone counts as the request, as in Kubernetes
        field = f"{where} container {i} resources"
        cpu += quantity(asked["cpu"], f"{field} cpu") if "cpu" in asked else 0
        memory += quantity(asked["memory"], f"{field} memory") if "memory" in asked else 0
        milli += quantity(asked[GPU_MILLI], f"{field} {GPU_MILLI}") if GPU_MILLI in asked else 0
        count += quantity(asked[GPU_COUNT], f"{field} {GPU_COUNT}") if GPU_COUNT in asked else 0
        for key in asked:
            if isinstance(key, str) and key.startswith(MIG_PREFIX):
                instances[key] = instances.get(key, Decimal(0)) + quantity(asked[key], f"{field} {key}")
    if GPU_MILLI in notes:
        milli = quantity(notes[GPU_MILLI], f"{where} annotation {GPU_MILLI}")
    if GPU_COUNT in notes:
        count = quantity(notes[GPU_COUNT], f"{where} annotation {GPU_COUNT}")
    per_gpu = _whole(milli, f"{where} {GPU_MILLI}", MAX_GPUS * 1000)
    gpus = _whole(count, f"{where} {GPU_COUNT}", MAX_GPUS)
    if per_gpu and not gpus:
        gpus, per_gpu = (1, per_gpu) if per_gpu <= 1000 else (math.ceil(per_gpu / 1000), 1000)
    if gpus and not per_gpu:
        per_gpu = 1000
    mig = _mig_ask(where, instances, gpus)
    if mig:
        gpus, per_gpu = _whole(instances[MIG_PREFIX + mig], f"{where} {MIG_PREFIX + mig}", MAX_GPUS), 1000
    if per_gpu > 1000:
        raise BadRequest(f"{where} {GPU_MILLI}: {per_gpu} is more than one GPU (1000) per GPU")
    if gpus > 1 and per_gpu < 1000:
        raise BadRequest(f"{where}: {gpus} GPUs of {per_gpu} milli each: only one GPU can be shared")
    spec = notes.get(GPU_MODEL, "")
    if not isinstance(spec, str):
        raise BadRequest(f"{where} annotation {GPU_MODEL}: must be a string")
    uid = meta.get("uid", "")
    priority = _mapping(obj, "spec", where).get("priority") or 0
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > 2**31:
        raise BadRequest(f"{where} spec.priority: {priority!r} is not a 32-bit integer")
    return PodRequest(
        uid=uid if isinstance(uid, str) and uid else f"{meta.get('namespace', 'default')}/{name}",
        namespace=str(meta.get("namespace") or "default"),
        name=name,
        cpu_milli=_whole(cpu * 1000, f"{where} cpu", MAX_CPU_MILLI),
        memory_mib=_whole(memory / 2**20, f"{where} memory", MAX_MEMORY_MIB),
        num_gpu=gpus,
        gpu_milli=per_gpu if gpus else 0,
        gpu_spec=spec.strip(),
        priority=priority,
        mig=mig,
    )


def _mig_ask(where: str, instances: dict[str, Decimal], gpus: int) -> str:
    """The one MIG profile a pod asks instances of ("": none)."""
    asked = sorted(key for key, value in instances.items() if value > 0)
    if len(asked) > 1:
        listed = ", ".join(asked)
        raise BadRequest(f"{where}: asks for instances of {len(asked)} MIG profiles ({listed}); give one")
    if asked and gpus:
        raise BadRequest(f"{where}: asks for {asked[0]} and for {GPU_MILLI}/{GPU_COUNT}; give one of them")
    return _profile(asked[0], where) if asked else ""


def _profile(resource: str, where: str) -> str:
    """The MIG profile a resource ``nvidia.com/mig-<profile>`` names (``1g.10gb``)."""
    name = resource.removeprefix(MIG_PREFIX)
    if not PROFILE.fullmatch(name):
        raise BadRequest(f"{where}: {resource!r} names no MIG profile (such as nvidia.com/mig-1g.10gb)")
    return name


def start_time(obj: Any) -> float | None:
    """A pod's ``status.startTime`` as seconds since the epoch (None: absent or unreadable)."""
    text = ((obj.get("status") if isinstance(obj, dict) else None) or {}).get("startTime")
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None


def parse_node(obj: Any) -> NodeSpec:
    """The resources of a Node object (its API JSON); allocatable first, then capacity."""
    meta, name = _named(obj, "Node")
    where = f"node {name}"
    status = _mapping(obj, "status", where)
    capacity = _mapping(status, "capacity", where + " status")
    allocatable = {**capacity, **_mapping(status, "allocatable", where + " status")}
    labels = _mapping(meta, "labels", where + " metadata")
    try:
        gfd = advertised(labels, where)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if GPU_COUNT in capacity:  # the FGD convention: whole GPUs, as they are
        gpus = _whole(quantity(capacity[GPU_COUNT], f"{where} capacity {GPU_COUNT}"), where, MAX_GPUS)
        single = 0
    else:  # the device plugin's units: whole GPUs or (single strategy) instances, each replicated
        units = quantity(capacity.get(NVIDIA_GPU, "0"), f"{where} capacity {NVIDIA_GPU}")
        count = _whole(units, where, MAX_GPUS * MAX_REPLICAS)
        if count % gfd.replicas:
            raise BadRequest(
                f"{where}: {NVIDIA_GPU} {count} is not a multiple of {NVIDIA_REPLICAS} {gfd.replicas}"
            )
        gpus, single = (0, count // gfd.replicas) if gfd.profile else (count // gfd.replicas, 0)
    model = labels.get(GPU_MODEL) or gfd.model
    mig = tuple(
        (_profile(key, where), n)
        for key in sorted(k for k in capacity if isinstance(k, str) and k.startswith(MIG_PREFIX))
        if (n := _whole(quantity(capacity[key], f"{where} capacity {key}"), f"{where} {key}", MAX_GPUS))
    )
    if single:  # MIG's single strategy: every unit an instance of the product's profile
        mig = tuple(sorted({**dict(mig), gfd.profile: single}.items()))
    if gpus > MAX_GPUS or max((n for _, n in mig), default=0) > MAX_GPUS:
        raise BadRequest(f"{where}: more than {MAX_GPUS} GPUs (or instances of a profile)")
    return NodeSpec(
        name=name,
        cpu_milli=_whole(quantity(allocatable.get("cpu", "0"), f"{where} cpu") * 1000, where, MAX_CPU_MILLI),
        memory_mib=_whole(
            quantity(allocatable.get("memory", "0"), f"{where} memory") / 2**20, where, MAX_MEMORY_MIB
        ),
        num_gpu=gpus,
        model=str(model) if gpus or mig else "",
        mig=mig,
    )


def gpu_index(obj: Any) -> tuple[int, ...] | None:
    """The GPUs a bound pod holds, from its ``alibabacloud.com/gpu-index`` annotation."""
    notes = _mapping(_mapping(obj, "metadata", "Pod"), "annotations", "Pod metadata")
    text = notes.get(GPU_INDEX)
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        gpus = tuple(int(g) for g in text.split(","))
    except ValueError:
        raise BadRequest(
            f"annotation {GPU_INDEX}: not a comma-separated list of GPU indices: {text!r}"
        ) from None
    if any(g < 0 or g >= MAX_GPUS for g in gpus) or len(set(gpus)) != len(gpus):
        raise BadRequest(f"annotation {GPU_INDEX}: bad GPU indices {text!r}")
    return gpus
