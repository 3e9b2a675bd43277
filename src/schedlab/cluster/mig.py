"""MIG (Multi-Instance GPU): the profiles each GPU model offers and where they may be placed.

A MIG-capable GPU has a row of memory slices (8; 4 on the A30). A GPU instance of a
profile occupies ``size`` consecutive slices starting at one of the profile's allowed
starts (what ``nvidia-smi mig -lgipp`` prints, e.g. ``{0,2,4}:2`` for 2g): on an 8-slice
GPU, 1g ``{0..6}:1``, 1g with twice the memory ``{0,2,4,6}:2``, 2g ``{0,2,4}:2``, 3g
``{0,4}:4``, 4g ``{0}:4``, 7g ``{0}:8``; at most one ``+me`` (media extensions) instance.
Instances never overlap; that is the whole rule (the compute slices follow from it).
Profiles are named as NVIDIA names them per memory size (``1g.10gb`` on an A100 80GB is
``1g.18gb`` on an H200), and the Kubernetes resource of a profile is ``nvidia.com/mig-<name>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from schedlab.errors import ConfigError

RESOURCE_PREFIX = "nvidia.com/mig-"


class MigError(ConfigError):
    """A MIG layout or profile that the GPU cannot have."""


@dataclass(frozen=True)
class Profile:
    """One GPU-instance profile: compute slices (the ``g``), memory (GB, as named), the
    memory slices it occupies and where it may start; ``media``: a ``+me`` profile."""

    name: str
    compute: int
    memory_gb: int
    size: int
    starts: tuple[int, ...]
    media: bool = False

    @property
    def resource(self) -> str:
        """The Kubernetes extended resource (the GPU operator's ``mixed`` strategy)."""
        return RESOURCE_PREFIX + self.name


@dataclass(frozen=True)
class MigModel:
    """A MIG-capable GPU model: its memory slices and profiles (largest first)."""

    name: str
    slices: int
    profiles: tuple[Profile, ...]

    def profile(self, name: str) -> Profile:
        """The profile ``name`` (``3g.40gb``, ``mig-3g.40gb`` or ``nvidia.com/mig-3g.40gb``)."""
        key = name.removeprefix(RESOURCE_PREFIX).removeprefix("mig-")
        for profile in self.profiles:
            if profile.name == key:
                return profile
        known = ", ".join(p.name for p in self.profiles)
        raise MigError(f"MIG profile {name!r} does not exist on {self.name} (its profiles: {known})")

    @property
    def compute_slices(self) -> int:
        """The GPU's compute slices: 7 (4 on an A30, whose memory has 4 slices)."""
        return 7 if self.slices == 8 else 4

    def share(self, profile: Profile) -> float:
        """The compute share of one instance of ``profile`` (g/7; g/4 on an A30)."""
        return profile.compute / self.compute_slices


def _eight(gb: int) -> tuple[Profile, ...]:
    """The profiles of an 8-slice GPU whose memory slice holds ``gb`` (as NVIDIA names them)."""
    every = tuple(range(7))
    named = {5: (5, 10, 20, 40), 10: (10, 20, 40, 80), 12: (12, 24, 47, 94), 18: (18, 35, 71, 141)}
    one, two, half, whole = named[gb]
    return (
        Profile(f"7g.{whole}gb", 7, whole, 8, (0,)),
        Profile(f"4g.{half}gb", 4, half, 4, (0,)),
        Profile(f"3g.{half}gb", 3, half, 4, (0, 4)),
        Profile(f"2g.{two}gb", 2, two, 2, (0, 2, 4)),
        Profile(f"1g.{two}gb", 1, two, 2, (0, 2, 4, 6)),
        Profile(f"1g.{one}gb", 1, one, 1, every),
        Profile(f"1g.{one}gb+me", 1, one, 1, every, media=True),
    )


MODELS: dict[str, MigModel] = {
    "A100-40GB": MigModel("A100-40GB", 8, _eight(5)),
    "A100-80GB": MigModel("A100-80GB", 8, _eight(10)),
    "H100-80GB": MigModel("H100-80GB", 8, _eight(10)),
    "H100-94GB": MigModel("H100-94GB", 8, _eight(12)),
    "H200-141GB": MigModel("H200-141GB", 8, _eight(18)),
    "A30-24GB": MigModel(
        "A30-24GB",
        4,
        (
            Profile("4g.24gb", 4, 24, 4, (0,)),
            Profile("2g.12gb", 2, 12, 2, (0, 2)),
            Profile("2g.12gb+me", 2, 12, 2, (0, 2), media=True),
            Profile("1g.6gb", 1, 6, 1, (0, 1, 2, 3)),
            Profile("1g.6gb+me", 1, 6, 1, (0, 1, 2, 3), media=True),
        ),
    ),
}
#: GPU model names of node lists (upper case, as found) and the MIG model they are.
ALIASES = {
    "A100": "A100-40GB",
    "A100-40G": "A100-40GB",
    "A100-SXM4-40GB": "A100-40GB",
    "A100-PCIE-40GB": "A100-40GB",
    "A100-80G": "A100-80GB",
    "A100-SXM4-80GB": "A100-80GB",
    "A100-PCIE-80GB": "A100-80GB",
    "A100-80GB-PCIE": "A100-80GB",  # as GPU feature discovery labels them (nvidia-smi's names)
    "H100": "H100-80GB",
    "H100-SXM5-80GB": "H100-80GB",
    "H100-PCIE-80GB": "H100-80GB",
    "H100-PCIE": "H100-80GB",
    "H100-80GB-HBM3": "H100-80GB",
    "H100-NVL": "H100-94GB",
    "H200": "H200-141GB",
    "H200-SXM5-141GB": "H200-141GB",
    "H200-NVL": "H200-141GB",
    "A30": "A30-24GB",
}


def mig_model(gpu: str) -> MigModel | None:
    """The MIG model of a node list's GPU model name (``NVIDIA-`` prefix or not, as GPU
    feature discovery labels them); None when it has no MIG."""
    key = gpu.strip().upper().removeprefix("NVIDIA-")
    return MODELS.get(key) or MODELS.get(ALIASES.get(key, "")) or _by_name(key)


def _by_name(key: str) -> MigModel | None:
    for name, model in MODELS.items():
        if name.upper() == key:
            return model
    return None


def placements(model: MigModel, profile: Profile, used: int) -> list[int]:
    """The starts where an instance of ``profile`` fits on a GPU whose occupied memory
    slices are the bits of ``used``."""
    return [s for s in profile.starts if not used & (((1 << profile.size) - 1) << s)]


def mask(profile: Profile, start: int) -> int:
    """The memory slices an instance of ``profile`` at ``start`` occupies, as bits."""
    return ((1 << profile.size) - 1) << start


#: The most memory slices of a MIG-capable GPU (so the most instances a layout can have).
MOST_SLICES = max(model.slices for model in MODELS.values())


def parse_layout(text: str) -> list[str]:
    """A layout as written in a node list or on the command line: profile names joined by
    ``,`` or ``+``, each optionally repeated as ``Nx`` (``3g.40gb,2x2g.20gb``)."""
    names: list[str] = []
    for part in text.replace("+me", "\0").replace("+", ",").replace("\0", "+me").split(","):
        part = part.strip()
        repeated = re.fullmatch(r"(\d+)x(.+)", part)
        digits = (repeated[1].lstrip("0") or "0") if repeated else "1"
        count, name = (int(digits) if len(digits) < 4 else 1000), (repeated[2] if repeated else part)
        if not name or count < 1:
            raise MigError(f"MIG layout {text!r}: {part!r} is not a profile or Nx<profile> (N >= 1)")
        if len(names) + count > MOST_SLICES:  # every instance takes a memory slice at least
            raise MigError(
                f"MIG layout {text[:80]!r}: {len(names) + count if count < 1000 else 'thousands of'}"
                f" instances; a GPU holds at most {MOST_SLICES}"
            )
        names.extend([name] * count)
    return names


def place_layout(model: MigModel, names: Sequence[str]) -> tuple[tuple[Profile, int], ...]:
    """Where each instance of a layout goes (a placement without overlap, larger instances
    first, each at its lowest free start that leaves the rest placeable); MigError when the
    GPU cannot hold them all."""
    profiles = sorted((model.profile(n) for n in names), key=lambda p: (-p.size, -p.compute, p.media, p.name))
    if sum(p.media for p in profiles) > 1:
        raise MigError(f"MIG layout {' + '.join(names)} on {model.name}: at most one +me instance per GPU")
    found = _place(model.name, tuple(p.name for p in profiles), 0)
    if found is None:
        need = sum(p.size for p in profiles)
        why = (
            f"it needs {need} memory slices, the GPU has {model.slices}"
            if need > model.slices
            else "no placement without overlap: "
            + ", ".join(
                f"{p.name} starts only at {{{','.join(map(str, p.starts))}}}" for p in dict.fromkeys(profiles)
            )
        )
        raise MigError(f"MIG layout {' + '.join(names)} does not fit one {model.name}: {why}")
    return tuple((p, s) for p, s in zip(profiles, found, strict=True))


@cache
def _place(model: str, names: tuple[str, ...], used: int) -> tuple[int, ...] | None:
    """Starts for ``names`` (in order) given ``used`` slices, by depth-first search."""
    if not names:
        return ()
    m = MODELS[model]
    profile = m.profile(names[0])
    for start in placements(m, profile, used):
        rest = _place(model, names[1:], used | mask(profile, start))
        if rest is not None:
            return (start, *rest)
    return None


def free_starts(model: MigModel, layout: Sequence[tuple[Profile, int]], profile: Profile) -> list[int]:
    """Where one more ``profile`` instance fits beside ``layout`` (dynamic re-partitioning)."""
    used = 0
    for placed, start in layout:
        used |= mask(placed, start)
    if profile.media and any(p.media for p, _ in layout):
        return []
    return placements(model, profile, used)


def most_instances(model: MigModel, profile: Profile) -> int:
    """The most instances of ``profile`` one GPU of ``model`` holds."""
    count = 1
    while count < model.slices:
        try:
            place_layout(model, [profile.name] * (count + 1))
        except MigError:
            break
        count += 1
    return count
