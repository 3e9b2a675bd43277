"""Registries of pluggable classes by name (placement, queue and victim policies)."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from schedlab.errors import ConfigError


class Named(Protocol):
    name: str


T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Name -> class. Nothing else in schedlab compares policy names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, T] = {}

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available by its ``name`` attribute."""
        name: str = getattr(cls, "name")  # noqa: B009 (T is any class with a name attribute)
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._classes[name] = cls
        return cls

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._classes)

    def get(self, name: str) -> T:
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(self._classes)
            raise ConfigError(f"unknown {self.kind} {name!r} (known: {known})") from None
