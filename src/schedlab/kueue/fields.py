"""Reading one YAML document's fields: every problem names the file, the document, the
object and the field; fields schedlab does not model are warned about by name, once."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from schedlab.errors import ConfigError
from schedlab.quantity import parse_quantity

log = logging.getLogger("schedlab")


class Doc:
    """One document of a file (``where``: ``FILE document N``), read as object ``label``."""

    def __init__(self, where: str, label: str) -> None:
        self.where, self.label = where, label

    def error(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where} ({self.label}): {field}: {problem}")

    def warn(self, field: str, problem: str) -> None:
        log.warning("%s (%s): %s: %s", self.where, self.label, field, problem)

    def fields(
        self, obj: dict[str, Any], at: str, known: set[str], unsupported: dict[str, str] | None = None
    ) -> None:
        """Warn about each key of ``obj`` (at field path ``at``) that is not ``known``:
        the ``unsupported`` ones with why, the others as unknown."""
        unsupported = unsupported or {}
        for key in obj:
            if key in unsupported:
                self.warn(f"{at}.{key}", f"not modelled ({unsupported[key]}); ignored")
            elif key not in known:
                self.warn(f"{at}.{key}", "unknown field; ignored")

    def _given(self, obj: dict[str, Any], key: str, at: str, required: bool, blank: bool = False) -> Any:
        """The value at ``key`` (None when absent, or empty with ``blank``); a required one that
        is not there is an error."""
        value = obj.get(key)
        if value is None or (blank and value == ""):
            if required:
                raise self.error(f"{at}.{key}", "missing")
            return None
        return value

    def mapping(self, obj: dict[str, Any], key: str, at: str, required: bool = False) -> dict[str, Any]:
        value = self._given(obj, key, at, required)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(f"{at}.{key}", f"must be a mapping, not {type(value).__name__}")
        return value

    def items(self, obj: dict[str, Any], key: str, at: str, low: int = 0, high: int = 1 << 30) -> list[Any]:
        value = obj.get(key)
        if value is None:
            value = []
        if not isinstance(value, list):
            raise self.error(f"{at}.{key}", f"must be a list, not {type(value).__name__}")
        if not low <= len(value) <= high:
            raise self.error(f"{at}.{key}", f"must have {low} to {high} items, has {len(value)}")
        return value

    def string(self, obj: dict[str, Any], key: str, at: str, required: bool = False) -> str:
        value = self._given(obj, key, at, required, blank=True)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(f"{at}.{key}", f"must be a string, not {type(value).__name__}")
        return value

    def choice(self, obj: dict[str, Any], key: str, at: str, choices: tuple[str, ...]) -> str:
        """An enum field; absent: its default (the first choice)."""
        value = self.string(obj, key, at) or choices[0]
        if value not in choices:
            raise self.error(f"{at}.{key}", f"{value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, obj: dict[str, Any], key: str, at: str, required: bool = False) -> int | None:
        value = self._given(obj, key, at, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise self.error(f"{at}.{key}", f"must be a 32-bit integer, not {value!r}")
        return value

    def quantity(self, obj: dict[str, Any], key: str, at: str, required: bool = False) -> Decimal | None:
        """A non-negative Kubernetes quantity (``40``, ``500m``, ``64Gi``)."""
        value = self._given(obj, key, at, required)
        if value is None:
            return None
        try:
            number = parse_quantity(value)
        except (ValueError, InvalidOperation) as err:
            raise self.error(f"{at}.{key}", str(err)) from None
        if number < 0:
            raise self.error(f"{at}.{key}", f"must not be negative, is {value!r}")
        return number
