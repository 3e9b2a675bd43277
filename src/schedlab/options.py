"""Parsing of user-facing list values shared by the CLI and config files (seeds, ratios)."""

from __future__ import annotations

from schedlab.errors import ConfigError


def parse_seeds(text: str) -> list[int]:
    """Parse ``42``, ``42,43`` or ``42-51`` (and mixes like ``1,5-7``) into a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                cut = part.index("-", 1)
                low, high = int(part[:cut]), int(part[cut + 1 :])
                if high < low:
                    raise ConfigError(f"bad seed range {part!r}: end is before start")
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ConfigError(f"bad seed list {text!r}: expected e.g. 42, 42,43 or 42-51") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seed list {text!r} repeats a seed")
    return seeds


def parse_ratios(text: str) -> tuple[float, ...]:
    """Parse a comma list of positive tune ratios, e.g. ``1.3`` or ``1.0,1.3``."""
    try:
        ratios = tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ConfigError(f"bad tune ratio list {text!r}: expected e.g. 1.3 or 1.0,1.3") from None
    if not ratios or any(r <= 0 for r in ratios):
        raise ConfigError(f"bad tune ratio list {text!r}: ratios must be positive")
    return ratios
