"""The model's agents: organizations (government, firms, NGOs) and households.

Organizations are few and are plain Mesa agents holding their budget, capabilities,
preferences and authority. Households are many; their state lives in the model's
:class:`~sim.welfare.Households` arrays (structure of arrays) and a :class:`Household` agent is
a thin Mesa face that reads and writes through those arrays. Household agents are created on
first use (``model.households[i]``), so a run of a million households pays nothing for them.

Capability domains (columns of :data:`CAPABILITIES`) and services (columns of
:data:`SERVICES`) are the vocabularies the delivery submodel uses.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from sim.mechanisms.partnership import (
    CAPABILITIES,
    SERVICES,
)

if TYPE_CHECKING:
    from sim.model.model import PartnershipModel

__all__ = [
    "CAPABILITIES",
    "NGO",
    "SERVICES",
    "Firm",
    "Government",
    "Household",
    "HouseholdFaces",
    "Organization",
]


class _AgentIdCounters(weakref.WeakKeyDictionary):
    """Mesa's per-model counters of agent ids, holding each model weakly.

    Mesa 3.3 numbers agents through a class attribute, ``mesa.Agent._ids``: a defaultdict
    keyed by model, which keeps every model ever built alive for the life of the process
    (mesa/mesa#3179, fixed after 3.3 by mesa/mesa#3180, which the 3.3 series does not get).
    A sweep, a benchmark or a dashboard whose Reset builds new models grew without bound.
    This dictionary gives the same numbering (1, 2, ... per model) and forgets a model once
    nothing else refers to it; :func:`_hold_models_weakly` installs it when ``sim`` is imported.
    """

    def __getitem__(self, model: mesa.Model) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


def _hold_models_weakly() -> None:
    ids = mesa.Agent.__dict__.get("_ids")
    if isinstance(ids, dict):  # Mesa 3.3's registry (a later Mesa has none: nothing to do)
        counters = _AgentIdCounters()
        counters.update(ids)  # models numbered before sim was imported
        mesa.Agent._ids = counters


_hold_models_weakly()


class Organization(mesa.Agent):
    """A government agency, firm or NGO: a node of the stakeholder graph.

    Its traits are drawn from the scenario's trait tables for its ``kind``
    (:mod:`sim.scenario.traits`): capabilities with normal noise (sd 0.05, clipped to
    [0.01, 0.99]), preferences with ±20% noise, normalized; authority as given.

    Attributes:
        node: the organization's node id in ``model.graph`` (e.g. ``"firm_1"``).
        budget: programme resources per step (welfare units; budget per household × households).
        capabilities: (len(CAPABILITIES),) strengths in [0, 1].
        preferences: (len(SERVICES),) what it wants delivered, summing to 1.
        authority: formal authority, a source of decision power.
    """

    kind: ClassVar[str] = "organization"

    def __init__(self, model: PartnershipModel, node: str, budget: float) -> None:
        super().__init__(model)
        self.node = node
        self.budget = budget
        config = model.config
        rng = model.rng
        noise = rng.normal(0.0, 0.05, size=len(CAPABILITIES))
        base = np.array(config.capabilities.row(self.kind))
        self.capabilities = np.clip(base + noise, 0.01, 0.99)
        wishes = np.array(config.preferences.row(self.kind))
        prefs = wishes * rng.uniform(0.8, 1.2, size=len(SERVICES))
        self.preferences = prefs / prefs.sum()
        self.authority = getattr(config.authority, self.kind)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.node!r})"


class Government(Organization):
    """A district government agency: authority, some finance, public-service mandate.

    Its traits are the levers ``capabilities.government_*``, ``preferences.government_*`` and
    ``authority.government``.
    """

    kind = "government"


class Firm(Organization):
    """A private firm: finance and technical know-how.

    It wants infrastructure and a trained workforce (its social licence to operate). Its
    traits are the levers ``capabilities.firm_*``, ``preferences.firm_*``, ``authority.firm``.
    """

    kind = "firm"


class NGO(Organization):
    """A non-profit: facilitation and local knowledge; wants capacity and empowerment.

    Its traits are the levers ``capabilities.ngo_*``, ``preferences.ngo_*``, ``authority.ngo``.
    """

    kind = "ngo"


class Household(mesa.Agent):
    """A household: a Mesa agent whose state lives in the model's household arrays.

    Reading or writing an attribute reads or writes the model's arrays at ``self.index``, so
    the vectorized rules and the agent always agree.
    """

    def __init__(self, model: PartnershipModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def node(self) -> int:
        """The household's node id in ``model.graph``."""
        return self.index

    @property
    def village(self) -> int:
        """Village (community) index."""
        return int(self.model.hh.village[self.index])

    @property
    def income(self) -> float:
        """Current income (multiples of the poverty line)."""
        return float(self.model.hh.income[self.index])

    @property
    def access(self) -> np.ndarray:
        """Access to health, education and infrastructure (a view into the model's array)."""
        return self.model.hh.access[self.index]

    @property
    def capacity(self) -> float:
        """Skills and knowledge in [0, 1]."""
        return float(self.model.hh.capacity[self.index])

    @capacity.setter
    def capacity(self, value: float) -> None:
        self.model.hh.capacity[self.index] = value

    @property
    def empowerment(self) -> float:
        """Participation in decisions in [0, 1]."""
        return float(self.model.hh.empowerment[self.index])

    @empowerment.setter
    def empowerment(self, value: float) -> None:
        self.model.hh.empowerment[self.index] = value

    @property
    def voice(self) -> float:
        """Voice in community affairs in [0, 1]."""
        return float(self.model.hh.voice[self.index])

    @property
    def welfare(self) -> float:
        """Welfare index in [0, 1]."""
        return float(self.model.hh.welfare()[self.index])

    def trust_in(self, org: Organization | str) -> float:
        """This household's trust in an organization it is tied to (NaN if not tied)."""
        node = org.node if isinstance(org, Organization) else org
        if not self.model.graph.has_edge(self.index, node):
            return float("nan")
        return float(self.model.hh.trust[self.index, self.model.org_index[node]])

    def __repr__(self) -> str:
        return f"Household({self.index})"


class HouseholdFaces(Sequence):
    """``model.households[i]``: the Mesa face of household ``i``, created on first use."""

    def __init__(self, model: mesa.Model) -> None:
        self._model = model
        self._agents: dict[int, Household] = {}

    def __len__(self) -> int:
        return len(self._model.hh)

    def __getitem__(self, index: int) -> Household:  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"household {index} out of range 0..{len(self) - 1}")
        agent = self._agents.get(i)
        if agent is None:
            agent = self._agents[i] = Household(self._model, i)
        return agent
