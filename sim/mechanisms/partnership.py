"""Partnerships: who the members are, what they pool and what their joint delivery produces.

The essay's four types differ only in who is a member:

==========  ==========================================================
``ppp``     governments + firms
``psp``     the community + firms
``pmg``     the community + governments
``msp``     governments + firms + NGOs + the community
``none``    no partnership: every organization runs its own programme
==========  ==========================================================

The community takes part as one party, spoken for by its households' representatives
(:data:`COMMUNITY`). Nothing here depends on the type: differences between types come only from
who is a member and what each member brings.

The delivery rules are pure functions; :class:`Partnership` keeps the partnership's own state
(members' views of the goal, beliefs, contributions, counters) as arrays aligned with
``members``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.scenario.schema import PARTNERSHIP_MEMBERS
from sim.scenario.traits import (
    CAPABILITIES,
    SERVICES,
    AuthoritySection,
    CapabilitiesSection,
    RequirementsSection,
)

__all__ = [
    "CAPABILITIES",
    "COMMUNITY",
    "COMMUNITY_AUTHORITY",
    "COMMUNITY_CAPABILITIES",
    "POOLING_FORMS",
    "PROMISE_BASES",
    "SERVICES",
    "SERVICE_REQUIREMENTS",
    "Partnership",
    "allocation",
    "announced_plan",
    "capability_coverage",
    "ces_exponent",
    "coordination_cost",
    "expected_fulfilment",
    "initial_views",
    "leakage_share",
    "member_nodes",
    "service_effectiveness",
]

COMMUNITY_CAPABILITIES = CapabilitiesSection().row("community")
"""The community's default capabilities: little money but local knowledge (Ostrom 1996,
co-production); a scenario's ``[capabilities]`` levers may change them."""

COMMUNITY_AUTHORITY = AuthoritySection().community
"""The community's default formal authority in a partnership: little, as a party without
office; the lever ``authority.community``."""

COMMUNITY = "community"  # the name PARTNERSHIP_MEMBERS uses for it
"""The community's party id in a partnership (its voice is its representatives)."""

SERVICE_REQUIREMENTS = np.array(RequirementsSection().matrix())
"""The default Cobb–Douglas exponents: how much each service needs of each capability (rows
sum to 1); a scenario's ``[requirements]`` levers may change them."""

PROMISE_BASES = ("expected", "full")
"""What a partnership announces to households (the lever ``partnership.promise_basis``)."""

POOLING_FORMS = ("union", "ces")
"""How members' capabilities combine (the lever ``partnership.capability_pooling``)."""

assert SERVICE_REQUIREMENTS.shape == (len(SERVICES), len(CAPABILITIES))


def member_nodes(kind: str, orgs_by_kind: dict[str, list[str]]) -> list[str]:
    """The members of a partnership of ``kind``, organizations first, then the community.

    Example:
        >>> member_nodes("pmg", {"government": ["government_0"], "firm": ["firm_0"], "ngo": []})
        ['government_0', 'community']
    """
    parts = PARTNERSHIP_MEMBERS[kind]
    members = [node for k in parts if k != COMMUNITY for node in orgs_by_kind.get(k, [])]
    if COMMUNITY in parts:
        members.append(COMMUNITY)
    return members


def ces_exponent(substitutability: float) -> float:
    """The CES exponent of a substitutability ``s`` in [-1, 1]: ``ρ = s / (1 − |s|)``.

    A bounded lever reaches the CES family's limits exactly: ``s = −1`` gives ``ρ = −∞``
    (perfect complements), ``s = 0`` gives ``ρ = 0`` (the geometric mean), ``s = ½`` gives
    ``ρ = 1`` (the arithmetic mean) and ``s = 1`` gives ``ρ = +∞`` (the best member only).
    The inverse is ``s = ρ / (1 + |ρ|)``.

    Example:
        >>> ces_exponent(-1.0), ces_exponent(0.0), ces_exponent(0.5), ces_exponent(1.0)
        (-inf, 0.0, 1.0, inf)
    """
    if not -1.0 <= substitutability <= 1.0:
        raise ValueError(f"substitutability must be in [-1, 1]; got {substitutability}")
    if abs(substitutability) == 1.0:
        return float(np.copysign(np.inf, substitutability))
    return substitutability / (1.0 - abs(substitutability))


def capability_coverage(
    capabilities: np.ndarray, pooling: str = "union", substitutability: float = 1.0
) -> np.ndarray:
    """What a group of members can do together, per capability: ``cov_k`` in [0, 1].

    Two forms (the lever ``partnership.capability_pooling``):

    - ``"union"``: ``cov_k = 1 − Π_i (1 − C_ik)``, the chance that at least one member
      masters capability ``k`` when members' capabilities are independent chances.
      Hirshleifer's summation technology (1983, Public Choice 41:371) applied to the
      intensities ``−ln(1 − C_ik)``: every member adds to every capability, so the union is
      never below the best member and two mediocre members make a good one.
    - ``"ces"``: the CES (power) mean of the members' capabilities,
      ``cov_k = ((1/m) Σ_i C_ik^ρ)^{1/ρ}`` with ``ρ = ces_exponent(s)``: ``s = 1`` is the
      best member only (Hirshleifer's best shot: ``max_i C_ik``), ``s = −1`` perfect
      complements (his weakest link, Kremer's 1993 O-ring within a task: ``min_i C_ik``),
      ``s = 0`` the geometric mean. Cornes & Hartley (2007, JPubE 91:1684) use a CES
      composition function whose limits are the weakest link and the best shot.

    No CES mean contains the union: ``union ≥ max ≥`` every power mean, equal only when one
    member masters a capability fully or all others lack it. One member alone covers what it
    has under every form.

    Args:
        capabilities: (members, capabilities) in [0, 1].
        pooling: ``"union"`` or ``"ces"``.
        substitutability: ``s`` in [-1, 1], used by ``"ces"``.

    Example:
        >>> caps = np.array([[0.5, 0.0], [0.5, 1.0]])
        >>> capability_coverage(caps)
        array([0.75, 1.  ])
        >>> capability_coverage(caps, "ces", 1.0), capability_coverage(caps, "ces", -1.0)
        (array([0.5, 1. ]), array([0.5, 0. ]))
    """
    caps = np.asarray(capabilities, dtype=float)
    if pooling == "union":
        return 1.0 - np.prod(1.0 - caps, axis=0)
    if pooling != "ces":
        raise ValueError(f"pooling must be one of {POOLING_FORMS}; got {pooling!r}")
    rho = ces_exponent(substitutability)
    if rho == np.inf:
        return caps.max(axis=0)
    if rho == -np.inf:
        return caps.min(axis=0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if abs(rho) < 1e-280:  # the limit ρ → 0 (closer to 0 the products go subnormal)
            return np.exp(np.log(caps).mean(axis=0))
        # Relative to the largest (ρ > 0) or smallest (ρ < 0) entry, so that ρ·ln r ≤ 0 and
        # nothing overflows however large |ρ| is; expm1/log1p keep every digit as ρ → 0.
        scale = caps.max(axis=0) if rho > 0 else caps.min(axis=0)
        # A capability nobody (ρ > 0) or someone (ρ < 0) has is 0 whatever the others hold.
        safe = np.where(scale > 0, scale, 1.0)
        log_ratio = np.where(scale > 0, np.log(caps) - np.log(safe), 0.0)
        mean = np.expm1(rho * log_ratio).mean(axis=0)
        return np.where(scale > 0, safe * np.exp(np.log1p(mean) / rho), 0.0)


def service_effectiveness(
    coverage: np.ndarray, requirements: np.ndarray = SERVICE_REQUIREMENTS
) -> np.ndarray:
    """Welfare delivered per unit of resource, per service: ``e_s = Π_k cov_k^{R_sk}``.

    A Cobb–Douglas production function over capabilities (``requirements``, rows summing to
    1; default :data:`SERVICE_REQUIREMENTS`): a missing capability cannot be replaced by more
    of another, so complementarity across capabilities matters.

    Example:
        >>> service_effectiveness(np.ones(5))
        array([1., 1., 1., 1., 1.])
    """
    return np.prod(np.power(coverage[None, :], requirements), axis=1)


def allocation(preferences: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """What is delivered follows the members' preferences weighted by their power.

    ``a = wᵀ P / Σ(wᵀ P)`` (a weighted-average collective choice; French 1956 and DeGroot-style
    weighted aggregation; power as decision weight: Purdy 2012).

    Example:
        >>> allocation(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.75, 0.25]))
        array([0.75, 0.25])
    """
    a = weights @ preferences
    return a / a.sum()


def expected_fulfilment(belief: np.ndarray) -> np.ndarray:
    """What the partners expect each member to fulfil of its promise: ``b̂_j = mean_{i≠j} b_i``.

    ``belief[i]`` is what member ``i`` believes the others fulfil (it decided its own
    contribution on it); member ``j``'s partners expect of ``j`` what they expect of others.
    A member alone is expected to fulfil its own belief.

    Example:
        >>> expected_fulfilment(np.array([1.0, 0.5, 0.0])).tolist()
        [0.25, 0.5, 0.75]
    """
    m = belief.size
    if m < 2:
        return belief.astype(float).copy()
    return (belief.sum() - belief) / (m - 1)


def announced_plan(
    promised: np.ndarray,
    resources: np.ndarray,
    belief: np.ndarray,
    coordination: float,
    mix_effectiveness: float,
    basis: str = "expected",
) -> float:
    """The value of services a partnership announces it will deliver this step.

    ``"expected"`` (honest promises): the pool the partners expect from each other's
    promises, net of what coordinating costs, at the effectiveness of the chosen mix,
    ``V = max(0, Σ_j π_j R_j b̂_j − C) · (a · e)`` with ``b̂`` from
    :func:`expected_fulfilment`. ``"full"``: every promise fulfilled and nothing spent on
    coordination, ``V = Σ_j π_j R_j · (a · e)`` (the model's former announcement). Neither
    plans for leakage or misunderstanding: partners do not announce losses.

    Households judge a programme against what it announced (expectancy disconfirmation:
    Van Ryzin 2006, JPART 16:599; meta-analysis: Zhang, Chen, Petrovsky &
    Walker 2022, PAR 82:147).

    Args:
        promised: π, the share of its resources each member promised.
        resources: R, each member's resources this step.
        belief: b, each member's belief in the others' fulfilment (last step's).
        coordination: C, this step's coordination cost.
        mix_effectiveness: ``a · e``, the effectiveness of a unit spent in the chosen mix.
        basis: ``"expected"`` or ``"full"``.

    Example:
        >>> round(announced_plan(np.array([0.5, 0.5]), np.array([10.0, 10.0]),
        ...                      np.array([0.6, 0.8]), 1.0, 0.5), 12)  # (5·0.8 + 5·0.6 − 1)/2
        3.0
        >>> announced_plan(np.array([0.5, 0.5]), np.array([10.0, 10.0]),
        ...                np.array([0.6, 0.8]), 1.0, 0.5, "full")
        5.0
    """
    full = float((promised * resources).sum())
    if basis == "full":
        return full * mix_effectiveness
    if basis != "expected":
        raise ValueError(f"basis must be one of {PROMISE_BASES}; got {basis!r}")
    expected = float((promised * resources * expected_fulfilment(belief)).sum())
    return max(0.0, expected - coordination) * mix_effectiveness


def coordination_cost(
    households: int,
    members: int,
    met_pairs: int,
    meeting_cost: float,
    miscoordination_cost: float,
) -> float:
    """Resources a partnership spends (or loses) coordinating its members in one step.

    ``C = n · (c_meet · met + c_miss · (m(m − 1)/2 − met))``: each of the ``m(m − 1)/2``
    pairs of members is an interdependence that costs something every step, either the
    meeting that coordinates it or, for a pair that did not meet, the duplication and gaps of
    uncoordinated work. Transaction costs grow with the number of relationships to manage
    (Williamson 1985; Provan & Kenis 2008, JPART 18:229), and poor communication turns
    meeting costs into coordination failures rather than saving them (Bryson, Crosby &
    Stone 2006, PAR 66:44).

    Args:
        households: n, the costs are per household.
        members: m, the number of members.
        met_pairs: pairs that met this step (at most m(m − 1)/2).
        meeting_cost: cost of one pair's meeting, per household.
        miscoordination_cost: cost of one pair's missing coordination, per household.

    Example:
        >>> coordination_cost(100, 3, 1, 0.002, 0.001)  # 100 · (0.002 + 2 · 0.001)
        0.4
    """
    pairs = members * (members - 1) // 2
    if not 0 <= met_pairs <= pairs:
        raise ValueError(f"met_pairs must be in 0..{pairs} for {members} members; got {met_pairs}")
    return households * (meeting_cost * met_pairs + miscoordination_cost * (pairs - met_pairs))


def leakage_share(
    base: float,
    role_clarity: float,
    role_clarity_effect: float,
    audit_probability: float,
    audit_deterrence: float,
    monitoring: float,
    monitoring_effect: float,
) -> float:
    """Share of a programme's resources lost to leakage (corruption, waste, shirking).

    ``ℓ = ℓ0 (1 − δ_r·clarity)(1 − δ_a·P_audit)(1 − δ_g·g)``: clear roles, the threat of an
    audit within the year (``P_audit``) and grassroots monitoring each cut leakage
    proportionally (Olken 2007, JPE 115:200: raising the audit probability from 4% to 100% cut
    missing expenditures by about 8 points of 28, i.e. about 30%). ``g`` may be an array (one
    entry per village: the monitored share of what households can see), and so is ``ℓ``.

    Example:
        >>> round(leakage_share(0.3, 1.0, 0.5, 1.0, 0.5, 0.0, 0.3), 6)
        0.075
    """
    return (
        base
        * (1.0 - role_clarity_effect * role_clarity)
        * (1.0 - audit_deterrence * audit_probability)
        * (1.0 - monitoring_effect * monitoring)
    )


MEMBER_ARRAYS = (
    "views",
    "anchors",
    "positions",
    "belief",
    "contribution",
    "promised",
    "low_trust_steps",
    "loss_steps",
    "weights",
    "unfairness",
    "net_benefit",
    "arrears",
    "owed",
)
"""The :class:`Partnership` arrays with one entry per member (in ``members`` order)."""


def initial_views(
    n: int, goal_clarity: float, view_spread: float, rng: np.random.Generator
) -> np.ndarray:
    """Views of the goal for ``n`` new members: ``0.5 ± (1 − goal_clarity)·view_spread / 2``.

    Uniform around the middle, clipped to [0, 1]; clear goals leave little room for members to
    read them differently (Ansell & Gash 2008). Used at formation and when a member joins.

    Example:
        >>> initial_views(3, 1.0, 0.6, np.random.default_rng(0))
        array([0.5, 0.5, 0.5])
    """
    half = 0.5 * (1.0 - goal_clarity) * view_spread
    return np.clip(0.5 + rng.uniform(-half, half, size=n), 0.0, 1.0)


@dataclass
class Partnership:
    """A partnership's own state, one entry per member (aligned with ``members``).

    Attributes:
        kind: the partnership type it was formed as.
        members: party ids: organization nodes and possibly :data:`COMMUNITY`.
        views: each member's view of the goal, in [0, 1].
        anchors: the positions members hold on to (Friedkin–Johnsen ``x0``).
        positions: each member's own position, its view when it joined (kept: evaluation
            re-aligns the anchors from it).
        belief: what each member believes the others fulfil of their promises, in [0, 1].
        contribution: the share of its promise each member fulfilled last step, in [0, 1].
        promised: the share of its resources each member promised when joining.
        low_trust_steps: consecutive steps with mean trust in partners below the exit threshold.
        loss_steps: consecutive steps with a negative net benefit.
        weights: decision weights (power) in the last decision, summing to 1.
        unfairness: perceived unfairness after the last delivery.
        net_benefit: value per unit pooled minus what the member could get alone.
        arrears: what each member withheld of its promise since the last check (an audit or
            an evaluation), in resources.
        owed: what each member promised since the last check, in resources.
        fines_due: fines (restitution) detected members still owe the pool.
        fine_instalment: what they pay of it each step (a year's instalments).
        signal: joint output against plan last step (what members see without meeting).
        effort: learned tilt of effort across services (multiplies the allocation).
        active: whether the partnership still exists.
        formed_at: step at which it formed.
    """

    kind: str
    members: list[str]
    views: np.ndarray
    anchors: np.ndarray
    positions: np.ndarray
    belief: np.ndarray
    contribution: np.ndarray
    promised: np.ndarray
    low_trust_steps: np.ndarray
    loss_steps: np.ndarray
    weights: np.ndarray
    unfairness: np.ndarray
    net_benefit: np.ndarray
    arrears: np.ndarray = field(default_factory=lambda: np.zeros(0))
    owed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fines_due: float = 0.0
    fine_instalment: float = 0.0
    signal: float = 1.0
    effort: np.ndarray = field(default_factory=lambda: np.ones(len(SERVICES)))
    spent: np.ndarray = field(default_factory=lambda: np.zeros(len(SERVICES)))
    gained: np.ndarray = field(default_factory=lambda: np.zeros(len(SERVICES)))
    active: bool = True
    formed_at: int = 0

    @classmethod
    def form(
        cls,
        kind: str,
        members: list[str],
        *,
        goal_clarity: float,
        view_spread: float,
        commitment: float,
        rng: np.random.Generator,
        step: int = 0,
    ) -> Partnership:
        """Form a partnership: views start spread by ``(1 − goal_clarity)·view_spread``."""
        m = len(members)
        views = initial_views(m, goal_clarity, view_spread, rng)
        return cls(
            kind=kind,
            members=list(members),
            views=views,
            anchors=views.copy(),
            positions=views.copy(),
            belief=np.ones(m),
            contribution=np.ones(m),
            promised=np.full(m, commitment),
            low_trust_steps=np.zeros(m, dtype=np.int64),
            loss_steps=np.zeros(m, dtype=np.int64),
            weights=np.full(m, 1.0 / m),
            unfairness=np.zeros(m),
            net_benefit=np.zeros(m),
            arrears=np.zeros(m),
            owed=np.zeros(m),
            formed_at=step,
        )

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.members)

    @property
    def includes_community(self) -> bool:
        """Whether the community is a member."""
        return COMMUNITY in self.members

    def add_member(self, node: str, view: float, commitment: float) -> None:
        """Admit a member holding ``view`` and promising ``commitment``."""
        if node in self.members:
            raise ValueError(f"{node!r} is already a member of the partnership")
        self.members.append(node)
        self.views = np.append(self.views, view)
        self.anchors = np.append(self.anchors, view)
        self.positions = np.append(self.positions, view)
        self.belief = np.append(self.belief, 1.0)
        self.contribution = np.append(self.contribution, 1.0)
        self.promised = np.append(self.promised, commitment)
        self.low_trust_steps = np.append(self.low_trust_steps, 0)
        self.loss_steps = np.append(self.loss_steps, 0)
        self.weights = np.append(self.weights, 1.0 / len(self.members))
        self.weights /= self.weights.sum()
        self.unfairness = np.append(self.unfairness, 0.0)
        self.net_benefit = np.append(self.net_benefit, 0.0)
        self.arrears = np.append(self.arrears, 0.0)
        self.owed = np.append(self.owed, 0.0)

    def remove_member(self, node: str) -> None:
        """A member leaves; the partnership ends when fewer than two remain."""
        i = self.members.index(node)
        self.members.pop(i)
        for name in MEMBER_ARRAYS:
            setattr(self, name, np.delete(getattr(self, name), i))
        if self.weights.sum() > 0:
            self.weights = self.weights / self.weights.sum()
        if len(self.members) < 2:
            self.active = False
