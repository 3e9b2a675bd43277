"""``schedlab profile``: measure a profile directory (solo and co-located DNN latency) on
the local GPU, in the format of the embedded profiles.

- :mod:`~schedlab.profile.plan`: the configurations and the measurements to make;
- :mod:`~schedlab.profile.backend`: the backend protocol and a synthetic backend;
- :mod:`~schedlab.profile.gpu` / :mod:`~schedlab.profile.worker`: PyTorch on the GPU
  (the optional extra ``schedlab[profile]``), one process per co-runner;
- :mod:`~schedlab.profile.runner`: runs a plan and writes the folder, resumably.
"""

from schedlab.profile.backend import Backend, Built, FakeBackend
from schedlab.profile.plan import Measurement, Plan, Spec, build_plan, parse_specs
from schedlab.profile.runner import run_plan

__all__ = [
    "Backend",
    "Built",
    "FakeBackend",
    "Measurement",
    "Plan",
    "Spec",
    "build_plan",
    "parse_specs",
    "run_plan",
]
