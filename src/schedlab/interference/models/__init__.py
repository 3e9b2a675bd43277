"""Interference models by name: ``none``, ``measured``, ``features``, ``groups`` (the default)."""

from schedlab.interference.models.base import (
    INTERFERENCE_MODELS,
    InterferenceModel,
    Sharing,
    make_model,
    register,
)
from schedlab.interference.models.features import FeatureModel
from schedlab.interference.models.groups import GroupModel
from schedlab.interference.models.measured import MeasuredModel
from schedlab.interference.models.none import NoInterference

#: The model ``replay --interference`` and ``interference predict`` use when given no name.
DEFAULT_MODEL = "groups"

__all__ = [
    "DEFAULT_MODEL",
    "INTERFERENCE_MODELS",
    "FeatureModel",
    "GroupModel",
    "InterferenceModel",
    "MeasuredModel",
    "NoInterference",
    "Sharing",
    "make_model",
    "register",
]
