"""Admission policies, one file each, registered by name (``--admission NAME``)."""

from schedlab.sim.admission import backfill, strict
from schedlab.sim.admission.base import ADMISSION_POLICIES, Actions, AdmissionPolicy, register

__all__ = ["ADMISSION_POLICIES", "Actions", "AdmissionPolicy", "backfill", "register", "strict"]
