"""Kueue's own ``Configuration`` (``config.kueue.x-k8s.io/v1beta1``, the controller manager's
settings): of it schedlab models ``fairSharing`` (``enable``, ``preemptionStrategies``); the
other fields are warnings."""

from __future__ import annotations

from typing import Any

from schedlab.kueue import objects as o
from schedlab.kueue.fairness import STRATEGIES
from schedlab.kueue.fields import Doc

GROUP = "config.kueue.x-k8s.io"


def read(config: o.KueueConfig, d: Doc, doc: dict[str, Any]) -> None:
    """The fair-sharing settings of a ``Configuration`` document."""
    known = {"apiVersion", "kind", "metadata", "fairSharing"}
    d.fields(
        doc, "", known, {k: "a controller setting schedlab does not model" for k in doc if k not in known}
    )
    fair = d.mapping(doc, "fairSharing", "")
    d.fields(fair, "fairSharing", {"enable", "preemptionStrategies"})
    enable = fair.get("enable", False)
    if not isinstance(enable, bool):
        raise d.error("fairSharing.enable", f"must be true or false, not {enable!r}")
    names = d.items(fair, "preemptionStrategies", "fairSharing") if "preemptionStrategies" in fair else []
    for name in names:
        if name not in STRATEGIES:
            raise d.error(
                "fairSharing.preemptionStrategies", f"{name!r} is not one of {', '.join(STRATEGIES)}"
            )
    strategies = tuple(str(n) for n in names) or STRATEGIES
    if strategies not in (STRATEGIES, STRATEGIES[:1], STRATEGIES[1:]):
        raise d.error(
            "fairSharing.preemptionStrategies",
            f"{list(strategies)}: Kueue accepts {STRATEGIES[0]}, {STRATEGIES[1]}, or both in that order",
        )
    config.fair_sharing = strategies if enable else None
