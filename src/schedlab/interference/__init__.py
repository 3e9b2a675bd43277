"""Co-location interference: profiles of configurations alone and sharing a GPU, and
models that predict each member's slowdown for any group sharing one GPU."""

from schedlab.interference.crossval import (
    held_out,
    leave_one_config_out,
    leave_one_group_out,
    leave_one_pair_out,
)
from schedlab.interference.models import (
    DEFAULT_MODEL,
    INTERFERENCE_MODELS,
    InterferenceModel,
    Sharing,
    make_model,
    register,
)
from schedlab.interference.profiles import (
    Config,
    Profiles,
    config_name,
    default_profiles_path,
    load_all,
    load_profiles,
)

__all__ = [
    "DEFAULT_MODEL",
    "INTERFERENCE_MODELS",
    "Config",
    "InterferenceModel",
    "Profiles",
    "Sharing",
    "config_name",
    "default_profiles_path",
    "held_out",
    "leave_one_config_out",
    "leave_one_group_out",
    "leave_one_pair_out",
    "load_all",
    "load_profiles",
    "make_model",
    "register",
]
