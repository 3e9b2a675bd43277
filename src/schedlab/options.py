"""Parsing of user-facing list values shared by the CLI and config files (seeds, ratios)."""

from __future__ import annotations

import math

from schedlab.errors import ConfigError

#: The most seeds one list may name (a longer list is almost surely a typo such as 1-10000000).
MAX_SEEDS = 10_000
#: Tune ratios above this offer more than a hundred times the cluster: surely a mistake.
MAX_TUNE_RATIO = 100.0


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
                if high - low >= MAX_SEEDS:
                    raise ConfigError(f"seed range {part!r} is too long (at most {MAX_SEEDS} seeds)")
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ConfigError(f"bad seed list {text!r}: expected e.g. 42, 42,43 or 42-51") from None
    if any(s < 0 for s in seeds):
        raise ConfigError(f"bad seed list {text!r}: seeds must not be negative")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"seed list {text!r} is too long (at most {MAX_SEEDS} seeds)")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seed list {text!r} repeats a seed")
    return seeds


def parse_ratios(text: str) -> tuple[float, ...]:
    """Parse a comma list of positive tune ratios, e.g. ``1.3`` or ``1.0,1.3``."""
    try:
        ratios = tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ConfigError(f"bad tune ratio list {text!r}: expected e.g. 1.3 or 1.0,1.3") from None
    return check_ratios(ratios, text)


def check_ratios(ratios: tuple[float, ...], text: str) -> tuple[float, ...]:
    """Tune ratios must be finite, positive, at most :data:`MAX_TUNE_RATIO` and distinct."""
    if not ratios:
        raise ConfigError(f"bad tune ratio list {text!r}: no ratio given")
    for r in ratios:
        if not (math.isfinite(r) and 0 < r <= MAX_TUNE_RATIO):
            raise ConfigError(
                f"bad tune ratio {r!r} in {text!r}: must be a number in (0, {MAX_TUNE_RATIO:g}]"
            )
    if len(set(ratios)) != len(ratios):
        raise ConfigError(f"tune ratio list {text!r} repeats a ratio")
    return ratios
