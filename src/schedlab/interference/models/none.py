"""``none``: sharing a GPU costs nothing (schedlab's behaviour before interference models)."""

from __future__ import annotations

from schedlab.interference.models.base import InterferenceModel, Sharing, register


@register
class NoInterference(InterferenceModel):
    """Every member runs as fast as alone."""

    name = "none"

    def pair(self, config: str, other: str, sharing: Sharing) -> float:
        return 1.0
