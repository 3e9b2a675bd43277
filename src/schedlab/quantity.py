"""Kubernetes resource quantities (``500m``, ``1.5k``, ``8Gi``, ``2e3``) as exact Decimals.

The grammar of ``k8s.io/apimachinery/pkg/api/resource``: a signed decimal number, then an
optional suffix: decimal SI (``n u m k M G T P E``), binary SI (``Ki Mi Gi Ti Pi Ei``) or a
decimal exponent (``e3``, ``E-2``).
"""

from __future__ import annotations

import re
from decimal import Decimal

_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)")


def parse_quantity(value: object) -> Decimal:
    """The quantity ``value`` (a string, or a plain YAML/JSON number) as a Decimal;
    ValueError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"a quantity must be a string or a number, not {type(value).__name__}")
    text = str(value).strip()
    found = _QUANTITY.fullmatch(text)
    if found is None:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, exponent, suffix = found.groups()
    if exponent:
        return Decimal(number).scaleb(int(exponent[1:]))
    return Decimal(number) * _SUFFIXES[suffix or ""]
