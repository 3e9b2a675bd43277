"""Reading a sweep's TOML file: one ``error:`` line for a missing file, bad TOML, an unknown
key or a value of the wrong type, naming the file and the key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol, TypeVar

from schedlab.errors import ConfigError
from schedlab.options import parse_seeds


def sweep_kind(path: Path) -> str:
    """The ``kind`` of sweep a TOML file describes: ``fill`` (the default), ``replay`` or ``kueue``."""
    kind = read_toml(path, None).get("kind", "fill")
    if kind not in ("fill", "replay", "kueue"):
        raise ConfigError(f'{path}: key \'kind\': expected "fill", "replay" or "kueue", got {kind!r}')
    return str(kind)


def read_toml(path: Path, known: Collection[str] | None) -> dict[str, Any]:
    """The document of ``path``; refuses keys not in ``known`` (when given)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    unknown = set(doc) - set(known or doc)
    if known is not None and unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)} (known: {sorted(known)})")
    return doc


def list_of(doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> list[Any]:
    """``doc[key]``: a non-empty list of values of ``kind`` (booleans are not numbers here)."""
    value = doc[key]
    names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
    if not isinstance(value, list) or not value:
        raise ConfigError(f"key {key!r}: expected a non-empty list of {names}, got {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, kind):
            raise ConfigError(f"key {key!r}: expected {names} values, got {item!r}")
    return value


def strings(doc: dict[str, Any], key: str) -> list[str]:
    """``doc[key]``: a non-empty list of distinct, non-empty names."""
    items: list[str] = list_of(doc, key, str)
    if any(not item.strip() for item in items):
        raise ConfigError(f"key {key!r}: empty name in {items!r}")
    if len(set(items)) != len(items):
        raise ConfigError(f"key {key!r}: {items!r} names an item twice")
    return [item.strip() for item in items]


def string(doc: dict[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"key {key!r}: expected a non-empty string, got {value!r}")
    return value


def numbers(doc: dict[str, Any], key: str, positive: bool = True) -> tuple[float, ...]:
    """``doc[key]``: a non-empty list of distinct finite numbers (positive ones by default)."""
    values = tuple(float(v) for v in list_of(doc, key, (int, float)))
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise ConfigError(f"key {key!r}: expected finite numbers, got {list(values)!r}")
    if positive and any(v <= 0 for v in values):
        raise ConfigError(f"key {key!r}: expected positive numbers, got {list(values)!r}")
    if len(set(values)) != len(values):
        raise ConfigError(f"key {key!r}: {list(values)!r} names a value twice")
    return values


def seeds(doc: dict[str, Any], key: str = "seeds") -> tuple[int, ...]:
    """``doc[key]``: seeds as a list of integers or a string (``"42"``, ``"42,43"``, ``"42-51"``)."""
    value = doc[key]
    text = value if isinstance(value, str) else ",".join(str(s) for s in list_of(doc, key, int))
    return tuple(parse_seeds(text))


class Matrix(Protocol):
    def validate(self) -> None: ...


M = TypeVar("M", bound=Matrix)


def read_matrix(path: Path, known: Collection[str], build: Callable[[dict[str, Any], Path], M]) -> M:
    """The sweep matrix of the TOML file ``path`` (keys in ``known``), built from its document
    (paths relative to its folder) and validated; any error names the file."""
    doc = read_toml(path, known)
    try:
        matrix = build(doc, path.parent)
        matrix.validate()
        return matrix
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
