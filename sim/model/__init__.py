"""One run: the model wires the phases of a step; the pieces it wires live beside it."""

from sim.model.model import OUTCOMES, PartnershipModel

__all__ = ["OUTCOMES", "PartnershipModel"]
