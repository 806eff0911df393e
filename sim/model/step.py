"""What one step's phases hand on to each other: the step record and the parties' attributes.

The model resets a :class:`StepRecord` at the start of every step; each phase reads what the
earlier phases wrote and adds its own, so the data flow between phases is explicit. The
record is public: outcomes are read from it and validation's shocks act on it
(:meth:`~sim.model.PartnershipModel.on_contribute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.mechanisms import power
from sim.mechanisms.partnership import (
    COMMUNITY,
    COMMUNITY_AUTHORITY,
    COMMUNITY_CAPABILITIES,
    Partnership,
)
from sim.mechanisms.welfare import Households
from sim.model.agents import Organization
from sim.model.build import Structure
from sim.scenario.schema import DynamicsSection, FactorsSection

__all__ = ["Parties", "StepRecord"]


@dataclass
class StepRecord:
    """One step's flows, per phase (all zero or empty at the start of a step).

    Attributes:
        funding_factor: share of external funding still flowing (1 until the funding horizon;
            phase 1).
        budget_share: (organizations,) share of each organization's budget available this step:
            its own part and what flows of its external part (phase 1; ``None``: all of it).
        talked: (members, members) bool, who met this step (phase 2).
        talked_pairs: number of pairs who met (phase 2).
        observed: (members, members) bool, whose conduct each member saw directly: those it
            met, or everyone in a month with an audit (phase 2).
        audited: whether the partnership is audited this step (an audit round; phase 2).
        evaluating: whether the partnership evaluates this step (phase 7; paid in phase 4).
        fines: fines paid into this step's pool (phase 3).
        resources: each member's resources this step (phase 3).
        pooled: resources pooled by the partnership (phase 3).
        spent, leaked, delivered: resources spent by every programme, lost to leakage, and
            the services' value delivered (phase 4).
        cost_coordination, cost_audit, cost_evaluation: what meetings and miscoordination,
            audits and evaluations cost the programmes (part of ``spent``; phase 4).
        cost_participation: the households' time spent monitoring (phase 4).
        accountability: household mean of the per-year probability that a unit of leakage is
            detected, by an audit or by villagers (phase 4).
        joint_dose: (households, services) the partnership's services (phase 4).
        received: per programme, what each household of its area received (phase 4).
            ``joint_dose`` and, in large districts, ``received["partnership"]`` are work
            arrays that the next step overwrites: copy them to keep them.
        areas: per programme, the households it served (phase 4).
        promised: per programme, what it announced per household (phase 4).
    """

    funding_factor: float = 1.0
    budget_share: np.ndarray | None = None
    talked: np.ndarray | None = None
    talked_pairs: int = 0
    observed: np.ndarray | None = None
    audited: bool = False
    evaluating: bool = False
    fines: float = 0.0
    resources: np.ndarray | None = None
    pooled: float = 0.0
    spent: float = 0.0
    leaked: float = 0.0
    delivered: float = 0.0
    cost_coordination: float = 0.0
    cost_audit: float = 0.0
    cost_evaluation: float = 0.0
    cost_participation: float = 0.0
    accountability: float = 0.0
    joint_dose: np.ndarray | None = None
    received: dict[str, np.ndarray] = field(default_factory=dict)
    areas: dict[str, np.ndarray] = field(default_factory=dict)
    promised: dict[str, float] = field(default_factory=dict)


class Parties:
    """What each party brings: organizations' traits and the community's, by node id.

    The community's resources are its in-kind contribution per household; its capabilities
    and authority are the scenario's (``capabilities.community_*``, finance, technical and
    authority constants; ``authority.community``; defaults in
    :mod:`sim.mechanisms.partnership`); its preferences follow its households' unmet needs;
    its legitimacy is their empowerment. An organization's legitimacy is the trust of the
    households it serves.
    """

    def __init__(
        self,
        organizations: Sequence[Organization],
        hh: Households,
        structure: Structure,
        community_capabilities: Sequence[float] = COMMUNITY_CAPABILITIES,
        community_authority: float = COMMUNITY_AUTHORITY,
    ) -> None:
        self.community_capabilities = np.array(community_capabilities, dtype=float)
        self.community_authority = float(community_authority)
        self.organizations = list(organizations)
        self.by_node = {o.node: o for o in self.organizations}
        self.index = {o.node: i for i, o in enumerate(self.organizations)}
        self.hh = hh
        self.structure = structure
        self._trust_positions: dict[str, np.ndarray] = {}

    def resources(
        self, node: str, community_inkind: float, budget_share: np.ndarray | None = None
    ) -> float:
        """A party's resources: an organization's budget times its available share.

        ``budget_share`` is :attr:`StepRecord.budget_share` (one entry per organization, in
        their fixed order; ``None``: the whole budget). The community brings
        ``community_inkind`` per household (the lever of that name), never cut.
        """
        if node == COMMUNITY:
            return community_inkind * len(self.hh)
        budget = self.by_node[node].budget
        return budget if budget_share is None else budget * budget_share[self.index[node]]

    def capabilities(self, node: str) -> np.ndarray:
        """A party's capabilities (columns of ``CAPABILITIES``)."""
        if node == COMMUNITY:
            return self.community_capabilities.copy()
        return self.by_node[node].capabilities

    def preferences(self, node: str) -> np.ndarray:
        """A party's wishes over services (sum 1)."""
        if node == COMMUNITY:
            need = 1.0 - self.hh.stock.mean(axis=0)
            total = need.sum()
            # Every service at its ceiling: no need steers the community's wishes.
            return need / total if total > 0 else np.full(need.size, 1.0 / need.size)
        return self.by_node[node].preferences

    def authority(self, node: str) -> float:
        """A party's formal authority."""
        return self.community_authority if node == COMMUNITY else self.by_node[node].authority

    def legitimacy(self, node: str) -> float:
        """A party's legitimacy: the community's empowerment, or its households' trust."""
        if node == COMMUNITY:
            return float(self.hh.empowerment.mean())
        served, col = self.served(node), self.index[node]
        if isinstance(served, slice):
            return float(self.hh.trust[served, col].mean())
        # The same entries, in the same order, gathered from the flat array by positions kept
        # per organization (its service area does not change): a plain take, faster than the
        # two-dimensional fancy index.
        positions = self._trust_positions.get(node)
        if positions is None:
            positions = self._trust_positions[node] = served * self.hh.trust.shape[1] + col
        return float(self.hh.trust.reshape(-1).take(positions).mean())

    def served(self, org: str) -> np.ndarray | slice:
        """``org``'s service area as an index, a slice when it serves everyone (a view)."""
        area = self.structure.service_areas[org]
        return slice(None) if area.size == len(self.hh) else area

    def decision_weights(
        self,
        p: Partnership,
        resources: np.ndarray,
        dynamics: DynamicsSection,
        factors: FactorsSection,
    ) -> np.ndarray:
        """Members' decision power from authority, what they put in and legitimacy."""
        d = dynamics
        return power.decision_weights(
            np.array([self.authority(n) for n in p.members]),
            p.contribution * p.promised * resources,
            np.array([self.legitimacy(n) for n in p.members]),
            (d.power_authority, d.power_resources, d.power_legitimacy),
            factors.power_balance,
        )
