"""The reference model: linear memory and the guests' exports, written in Python from the spec."""

from conformance.model import bulk, multi  # noqa: F401  (register the bulk and multi guests)
from conformance.model import limits as _limits  # noqa: F401  (registers the mem32-/mem64- guests)
from conformance.model import paged as _paged  # noqa: F401  (registers the paged- guests)
from conformance.model.check import Checker, Mismatch, Verdict, check, check_against
from conformance.model.guests import GUEST_MODELS, GuestModel
from conformance.model.memory import Memory, ModelTrap

__all__ = ["GUEST_MODELS", "Checker", "GuestModel", "Memory", "Mismatch", "ModelTrap", "Verdict", "check",
           "check_against"]
