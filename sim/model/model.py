"""The partnership model: wires the submodels together in one documented step order.

Example:
    >>> from sim.model.model import PartnershipModel
    >>> model = PartnershipModel.from_scenario("scenarios/msp.toml", seed=1)  # doctest: +SKIP
    >>> model = PartnershipModel(seed=1, households=200).run(12)
    >>> int(model.steps), len(model.results())
    (12, 13)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from sim.mechanisms import dynamics, network, power, welfare
from sim.mechanisms.partnership import (
    COMMUNITY,
    Partnership,
    allocation,
    capability_coverage,
    coordination_cost,
    grassroots_monitoring,
    leakage_share,
    member_nodes,
    service_effectiveness,
)
from sim.model import interventions, memory
from sim.model.agents import (
    COMMUNITY_AUTHORITY,
    COMMUNITY_CAPABILITIES,
    NGO,
    SERVICES,
    Firm,
    Government,
    Household,
    Organization,
)
from sim.model.outcomes import HouseholdOutcomes, mean_of
from sim.scenario import Scenario, load_scenario, maps
from sim.scenario.outcomes import OUTCOMES

__all__ = ["OUTCOMES", "PartnershipModel"]


class _LazyHouseholds(Sequence):
    """``model.households[i]``: the Mesa face of household ``i``, created on first use."""

    def __init__(self, model: PartnershipModel) -> None:
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


class PartnershipModel(mesa.Model):
    """Partnerships between government, firms, NGOs and the community, and household welfare.

    Args:
        scenario: a validated :class:`~sim.scenario.Scenario` (defaults if omitted).
        seed: seed of the model's generators (defaults to ``scenario.run.seed``).
        replicate: replicate number, recorded in the results.
        record_steps: the steps whose outcomes are recorded (step 0 is the initial state);
            default every step. Outcomes are computed only on these steps (and on every step
            when an intervention is triggered by an outcome), which spares data collection's
            cost on the others; ``metrics`` then holds the last computed outcomes. The model's
            course does not depend on it.
        **levers: overrides by dotted or bare key, e.g. ``households=1000`` or
            ``**{"factors.trust": 0.2}``.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        seed: int | None = None,
        replicate: int = 0,
        record_steps: Iterable[int] | None = None,
        **levers: Any,
    ) -> None:
        scenario = scenario or Scenario()
        if levers:
            scenario = scenario.with_overrides(levers, source="PartnershipModel(**levers)")
        scenario, self.stakeholder_map = maps.for_scenario(scenario)
        memory.check_fits([scenario], source="PartnershipModel")  # before allocating anything
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(seed=seed)
        self.scenario = scenario
        self.seed = seed
        self.replicate = replicate
        cfg = scenario
        # Independent streams (all spawned from the model's generator) keep the population and
        # the graph identical across scenarios that share a seed: common random numbers.
        # Beta draws consume a varying amount of randomness, so each use has its own stream.
        pop_rng, net_rng, org_rng, tie_rng, rep_rng, form_rng, self._event_rng = self.rng.spawn(7)

        orgs: list[tuple[type[Organization], int, float]] = [
            (Government, cfg.organizations.governments, cfg.organizations.budget_government),
            (Firm, cfg.organizations.firms, cfg.organizations.budget_firm),
            (NGO, cfg.organizations.ngos, cfg.organizations.budget_ngo),
        ]
        n = cfg.population.households
        villages = min(cfg.population.villages, n)
        n_orgs = sum(count for _, count, _ in orgs)
        self.hh = welfare.initial_households(
            n,
            villages,
            n_orgs,
            income_median=cfg.population.income_median,
            income_sigma=cfg.population.income_sigma,
            initial_access=cfg.population.initial_access,
            initial_capacity=cfg.population.initial_capacity,
            initial_empowerment=cfg.population.initial_empowerment,
            initial_trust=cfg.population.initial_trust,
            status_gradient=cfg.population.status_gradient,
            rng=pop_rng,
        )
        maps.place_households(self.hh, self.stakeholder_map)
        self.households = _LazyHouseholds(self)

        # Organizations, in a fixed order: their column in hh.trust is their position here.
        self.organizations: list[Organization] = []
        saved_rng = self.rng
        self.rng = org_rng  # organizations draw their traits from their own stream
        for cls, count, budget in orgs:
            for k in range(count):
                name = maps.organization_id(self.stakeholder_map, cls.kind, k)
                self.organizations.append(cls(self, name, budget * n))
        self.rng = saved_rng
        self.org_index = {o.node: i for i, o in enumerate(self.organizations)}
        self.org_by_node = {o.node: o for o in self.organizations}

        # The stakeholder graph.
        social = network.small_world_edges(
            self.hh.village,
            cfg.population.ties_within,
            cfg.population.rewiring,
            cfg.population.ties_across,
            net_rng,
        )
        self.graph = nx.Graph()
        self.graph.add_nodes_from(range(n))
        self.graph.add_edges_from(social.tolist())
        self.social_ties = network.social_adjacency(social, n)
        # Each household's number of ties, repeated per organization (the shape of hh.trust),
        # so trust diffusion divides in one contiguous pass.
        degree = np.asarray(self.social_ties.sum(axis=1)).ravel()
        self._social_degree_wide = np.repeat(degree, self.hh.trust.shape[1]).reshape(
            self.hh.trust.shape
        )
        coverage = {
            o.node: {"government": 1.0, "firm": cfg.organizations.firm_coverage}.get(
                o.kind, cfg.organizations.ngo_coverage
            )
            for o in self.organizations
        }
        network.add_organizations(
            self.graph, [o.node for o in self.organizations], self.hh.village, coverage, net_rng
        )
        for o in self.organizations:
            self.graph.nodes[o.node].update(kind=o.kind, agent=o)
        # Trust and channel quality draw from separate streams, so changing one factor leaves
        # the other's draws (and the representatives) untouched.
        trust_rng, quality_rng = tie_rng.spawn(2)
        self._init_org_ties(trust_rng, quality_rng)
        self.representatives = self._choose_representatives(rep_rng, trust_rng, quality_rng)
        maps.apply(self, self.stakeholder_map)
        self._refresh_structure()

        # The partnership.
        self._form_rng = form_rng
        self.partnership: Partnership | None = None
        members = member_nodes(cfg.partnership.type, self.orgs_by_kind())
        if cfg.partnership.type != "none" and len(members) >= 2:
            self.form_partnership(cfg.partnership.type, members)
            # Month 0 reports the power the partners start with (phase 3's rule on their
            # promised contributions at full funding), not the equal shares of formation.
            # Phase 3 recomputes the weights every month, so later months are unchanged.
            p = self.partnership
            p.weights = self._decision_weights(
                p, np.array([self._resources0(n) for n in p.members])
            )

        self.interventions = interventions.Interventions(self)
        self._reset_step_records()
        self._poorest = np.flatnonzero(self.hh.poorest_quintile)  # fixed: ranked by income0
        self.metrics: dict[str, float] = {}
        self._record_steps = None if record_steps is None else frozenset(map(int, record_steps))
        self._recorded_steps: list[int] = []  # the step of each row of the DataCollector
        self.datacollector = _OutcomeCollector(
            model_reporters={name: _reporter(name) for name in OUTCOMES}
        )
        self._record()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_scenario(
        cls, path: str | Path, *, overrides: list[str] | None = None, **kwargs: Any
    ) -> PartnershipModel:
        """Build a model from a scenario file (``extends`` followed, ``--set`` style overrides)."""
        return cls(load_scenario(path, overrides), **kwargs)

    def orgs_by_kind(self) -> dict[str, list[str]]:
        """Organization nodes grouped by kind (government, firm, ngo)."""
        out: dict[str, list[str]] = {"government": [], "firm": [], "ngo": []}
        for o in self.organizations:
            out[o.kind].append(o.node)
        return out

    def _init_org_ties(
        self, trust_rng: np.random.Generator, quality_rng: np.random.Generator
    ) -> None:
        f = self.scenario.factors
        # Trust among organizations is owned by ``org_trust`` (row trusts column; 1 on the
        # diagonal, NaN where there is no tie); each tie's ``trust`` attribute is a view of it.
        n_orgs = len(self.organizations)
        self.org_trust = np.full((n_orgs, n_orgs), np.nan)
        np.fill_diagonal(self.org_trust, 1.0)
        # Pairs in the organizations' fixed order: iterating a subgraph would follow a set of
        # strings, whose order changes with Python's hash seed and breaks reproducibility.
        nodes = [o.node for o in self.organizations]
        pairs = [
            (i, j)
            for i, a in enumerate(nodes)
            for j in range(i + 1, len(nodes))
            if self.graph.has_edge(a, nodes[j])
        ]
        for i, j in pairs:
            a, b = nodes[i], nodes[j]
            self.org_trust[i, j], self.org_trust[j, i] = _beta_mean(trust_rng, f.trust, 2)
            quality = float(_beta_mean(quality_rng, f.communication, 1)[0])
            trust = network.TieTrust(self.org_trust, {a: (i, j), b: (j, i)})
            self.graph.edges[a, b].update(trust=trust, communication=quality)

    def _choose_representatives(
        self,
        rng: np.random.Generator,
        trust_rng: np.random.Generator,
        quality_rng: np.random.Generator,
    ) -> np.ndarray:
        """Each village's representatives, drawn with probability proportional to voice.

        Representatives speak for the community in a partnership, so their trust in the
        organizations and the organizations' trust in them start from the ``trust`` factor.
        The organizations' trust in them is owned by ``rep_trust`` (organization × position
        in ``representatives``; NaN where not tied), viewed from each tie's ``trust``.
        """
        reps = []
        k = self.scenario.organizations.representatives
        start, size = network.village_blocks(self.hh.village)
        for s0, sz in zip(start, size, strict=True):
            voice = self.hh.voice[s0 : s0 + sz]
            chosen = rng.choice(sz, size=min(k, sz), replace=False, p=voice / voice.sum())
            reps.append(s0 + np.sort(chosen))
        reps = np.concatenate(reps)
        f = self.scenario.factors
        self.rep_trust = np.full((len(self.organizations), reps.size), np.nan)
        for oi, o in enumerate(self.organizations):
            trust_in_community = float(_beta_mean(trust_rng, f.trust, 1)[0])
            quality = float(_beta_mean(quality_rng, f.communication, 1)[0])
            for r, h in enumerate(reps.tolist()):
                if self.graph.has_edge(o.node, h):
                    self.rep_trust[oi, r] = trust_in_community
                    trust = network.TieTrust(self.rep_trust, {o.node: (oi, r)})
                    self.graph.edges[o.node, h].update(trust=trust, communication=quality)
        n_orgs = len(self.organizations)
        self.hh.trust[reps] = _beta_mean(trust_rng, f.trust, reps.size * n_orgs).reshape(
            reps.size,
            n_orgs,  # (k, 0) when there are no organizations; -1 cannot be inferred
        )
        return reps

    def _refresh_structure(self) -> None:
        """Re-read service areas from the graph (call after ties change)."""
        n = len(self.hh)
        self.service_areas = {
            o.node: network.service_area(self.graph, o.node) for o in self.organizations
        }
        tied = np.zeros((n, len(self.organizations)), dtype=bool)
        for o in self.organizations:
            tied[self.service_areas[o.node], self.org_index[o.node]] = True
        self.tied = tied
        self.village_size = n / max(1, int(self.hh.village.max()) + 1)
        # The ties as 0/1 weights over hh.trust: which trust a programme's benefits update,
        # and over which the community's mean trust is taken (data collection).
        self._tied_weight = tied.astype(float)
        self._tied_count = int(np.count_nonzero(tied))
        # Per organization, the representatives tied to it: positions in ``representatives``
        # (columns of ``rep_trust``) and household indices.
        reps = self.representatives
        self._rep_positions = [np.flatnonzero(tied[reps, col]) for col in range(tied.shape[1])]
        self._rep_households = [reps[pos] for pos in self._rep_positions]

    # ------------------------------------------------------------------ partnership handles
    def form_partnership(self, kind: str, members: list[str]) -> Partnership:
        """Form a partnership of ``members`` (organization nodes and/or ``"community"``)."""
        unknown = [m for m in members if m != COMMUNITY and m not in self.org_index]
        if unknown:
            raise ValueError(
                f"unknown partnership members {unknown}; known: {list(self.org_index)}"
            )
        self.partnership = Partnership.form(
            kind,
            members,
            goal_clarity=self.scenario.factors.goal_clarity,
            view_spread=self.scenario.dynamics.view_spread,
            commitment=self.scenario.partnership.commitment,
            rng=self._form_rng,
            step=int(self.steps),
        )
        return self.partnership

    @property
    def active_partnership(self) -> Partnership | None:
        """The partnership if it exists and is active."""
        p = self.partnership
        return p if p is not None and p.active else None

    def trust_matrix(self) -> np.ndarray:
        """Directional trust among the partnership's members (``T[i, j]``: i's trust in j).

        Read from the arrays that own trust (``org_trust``, ``rep_trust``, ``hh.trust``); the
        graph's ties view the same values. The community's trust in an organization is its
        representatives' mean trust in it; an organization's trust in the community is its
        mean trust in the representatives.
        """
        p = self.active_partnership
        if p is None:
            return np.empty((0, 0))
        m = p.size
        t = np.eye(m)
        pos = [i for i, a in enumerate(p.members) if a != COMMUNITY]
        cols = [self.org_index[p.members[i]] for i in pos]
        t[np.ix_(pos, pos)] = self.org_trust[np.ix_(cols, cols)]
        if p.includes_community:
            c = p.members.index(COMMUNITY)
            for i, col in zip(pos, cols, strict=True):
                t[c, i] = mean_of(self.hh.trust[self._rep_households[col], col])
                t[i, c] = mean_of(self.rep_trust[col, self._rep_positions[col]])
        np.fill_diagonal(t, 1.0)
        return t

    def _reps_of(self, org: str) -> np.ndarray:
        """Representatives tied to ``org`` (those the organization deals with)."""
        return self._rep_households[self.org_index[org]]

    def _write_trust(self, new: np.ndarray, old: np.ndarray) -> None:
        """Scatter an updated party trust matrix back to the arrays that own trust."""
        p = self.active_partnership
        for i, a in enumerate(p.members):
            for j, b in enumerate(p.members):
                if i == j or new[i, j] == old[i, j]:
                    continue
                if a == COMMUNITY:
                    col = self.org_index[b]
                    reps = self._rep_households[col]
                    self.hh.trust[reps, col] = np.clip(
                        self.hh.trust[reps, col] + (new[i, j] - old[i, j]), 0.0, 1.0
                    )
                elif b == COMMUNITY:
                    row = self.org_index[a]
                    self.rep_trust[row, self._rep_positions[row]] = float(new[i, j])
                else:
                    self.org_trust[self.org_index[a], self.org_index[b]] = float(new[i, j])

    def _quality_matrix(self) -> np.ndarray:
        p = self.active_partnership
        m = p.size
        q = np.zeros((m, m))
        for i, a in enumerate(p.members):
            for j in range(i + 1, m):
                b = p.members[j]
                if COMMUNITY in (a, b):
                    org = b if a == COMMUNITY else a
                    h = int(self._reps_of(org)[0])
                    q[i, j] = q[j, i] = network.communication_quality(self.graph, org, h)
                else:
                    q[i, j] = q[j, i] = network.communication_quality(self.graph, a, b)
        return q

    # ------------------------------------------------------------------ party attributes
    def _resources(self, node: str) -> float:
        return self._resources0(node) * (1.0 if node == COMMUNITY else self._funding_factor)

    def _resources0(self, node: str) -> float:
        """A member's resources before the funding horizon (full budget)."""
        if node == COMMUNITY:
            return self.scenario.organizations.community_inkind * len(self.hh)
        return self.org_by_node[node].budget

    def _capabilities(self, node: str) -> np.ndarray:
        if node == COMMUNITY:
            return np.array(COMMUNITY_CAPABILITIES)
        return self.org_by_node[node].capabilities

    def _preferences(self, node: str) -> np.ndarray:
        if node == COMMUNITY:
            need = 1.0 - self.hh.stock.mean(axis=0)
            total = need.sum()
            # Every service at its ceiling: no need steers the community's wishes.
            return need / total if total > 0 else np.full(need.size, 1.0 / need.size)
        return self.org_by_node[node].preferences

    def _authority(self, node: str) -> float:
        return COMMUNITY_AUTHORITY if node == COMMUNITY else self.org_by_node[node].authority

    def _legitimacy(self, node: str) -> float:
        if node == COMMUNITY:
            return float(self.hh.empowerment.mean())
        return float(self.hh.trust[self._served(node), self.org_index[node]].mean())

    def _served(self, org: str) -> np.ndarray | slice:
        """``org``'s service area as an index, a slice when it serves everyone (a view)."""
        area = self.service_areas[org]
        return slice(None) if area.size == len(self.hh) else area

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One month, in this order (docs/ODD.md, "Process overview and scheduling").

        0. intervene: the design's scheduled and triggered interventions (sim/interventions.py).
        1. fund: budgets available this step (the funding horizon cuts them).
        2. communicate: partners meet; views of the goal converge (Friedkin–Johnsen).
        3. contribute: decision power; conditional cooperation sets contributions.
        4. deliver: joint and solo programmes turn resources into services for households.
        5. depreciate: services decay unless the community maintains them.
        6. update_trust: partners learn from each other's conduct; households from benefits.
        7. evaluate: every k steps, joint evaluation and learning.
        8. review_membership: members leave after sustained low trust or net loss.
        9. update_welfare: incomes follow capacity and infrastructure; outcomes recorded.
        """
        self.intervene()
        self._reset_step_records()
        self.fund()
        self.communicate()
        self.contribute()
        self.deliver()
        self.depreciate()
        self.update_trust()
        self.evaluate()
        self.review_membership()
        self.update_welfare()

    def run(self, steps: int | None = None) -> PartnershipModel:
        """Run ``steps`` steps (default: the scenario's) and return the model (chainable)."""
        for _ in range(self.scenario.run.steps if steps is None else steps):
            self.step()
        return self

    # 0 ---------------------------------------------------------------------------------------
    def intervene(self) -> None:
        """Fire the interventions due at this step; each firing is logged in ``events``."""
        self.interventions.apply()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The interventions fired so far: step, intervention, action, target, old, new."""
        return self.interventions.events

    def events_frame(self) -> pd.DataFrame:
        """The event log as a table keyed by scenario, replicate and seed."""
        return self.interventions.frame()

    def _reset_step_records(self) -> None:
        self._observed = None
        self._talked_pairs = 0
        self._pooled = 0.0
        self._delivered = 0.0
        self._spent = 0.0
        self._leaked = 0.0
        self._received: dict[str, np.ndarray] = {}
        self._areas: dict[str, np.ndarray] = {}
        self._promised: dict[str, float] = {}

    # 1 ---------------------------------------------------------------------------------------
    def fund(self) -> None:
        """Budgets this step: after the funding horizon only ``funding_after`` of them remain."""
        ps = self.scenario.partnership
        ended = ps.funding_horizon > 0 and self.steps > ps.funding_horizon
        self._funding_factor = ps.funding_after if ended else 1.0

    # 2 ---------------------------------------------------------------------------------------
    def communicate(self) -> None:
        """Partners who communicate move their views toward each other, trust-weighted."""
        p = self.active_partnership
        if p is None:
            return
        trust = self.trust_matrix()
        prob = dynamics.communication_probability(trust, self._quality_matrix())
        draw = self._event_rng.random(prob.shape)
        talked = np.triu(draw < prob, 1)
        talked = talked | talked.T
        self._talked_pairs = int(talked.sum() // 2)
        d = self.scenario.dynamics
        weights = dynamics.degroot_weights(trust, talked, d.self_weight)
        p.views = dynamics.friedkin_johnsen_step(p.views, p.anchors, weights, d.susceptibility)
        audited = self._event_rng.random() < self._per_step(
            self.scenario.accountability.audit_probability
        )
        self._talked = talked
        self._observed = np.ones_like(talked) if audited else talked.copy()

    # 3 ---------------------------------------------------------------------------------------
    def contribute(self) -> None:
        """Members decide their contributions (conditional cooperation) and pool them."""
        p = self.active_partnership
        if p is None:
            return
        d = self.scenario.dynamics
        resources = np.array([self._resources(n) for n in p.members])
        p.weights = self._decision_weights(p, resources)
        trust = self.trust_matrix()
        m = p.size
        trust_in_others = (trust.sum(axis=1) - 1.0) / max(1, m - 1)
        dialogue = self._talked.sum(axis=1) / max(1, m - 1)
        motive = dynamics.motivation(
            trust_in_others,
            self.understanding,
            self.accountability,
            dialogue,
            p.unfairness,
            d.motivation_weights,
        )
        p.contribution = dynamics.conditional_contribution(p.belief, motive, d.conditional_slope)
        self._resources_now = resources
        self._pooled = float((p.contribution * p.promised * resources).sum())

    def _decision_weights(self, p: Partnership, resources: np.ndarray) -> np.ndarray:
        """Members' decision power from authority, what they put in and legitimacy."""
        d = self.scenario.dynamics
        return power.decision_weights(
            np.array([self._authority(n) for n in p.members]),
            p.contribution * p.promised * resources,
            np.array([self._legitimacy(n) for n in p.members]),
            (d.power_authority, d.power_resources, d.power_legitimacy),
            self.scenario.factors.power_balance,
        )

    # 4 ---------------------------------------------------------------------------------------
    def deliver(self) -> None:
        """Joint and solo programmes deliver services; stocks respond with diminishing returns."""
        p = self.active_partnership
        in_partnership = set(p.members) if p is not None else set()
        solo_orgs = [o for o in self.organizations if o.node not in in_partnership]
        # The dose of all programmes together is needed only when some organization works
        # alone (or none works together); otherwise the joint dose is all there is.
        dose = self._work("dose") if p is None or solo_orgs else None
        commitment = self.scenario.partnership.commitment
        monitoring = grassroots_monitoring(
            float(self.hh.empowerment.mean() * self.hh.voice.mean()),
            self.village_size,
            self.scenario.accountability.free_riding_size,
        )
        if p is not None:
            self._deliver_jointly(p, dose, monitoring)
        solo = bool(solo_orgs)
        for o in solo_orgs:
            budget = commitment * o.budget * self._funding_factor
            eff = service_effectiveness(capability_coverage(o.capabilities[None, :]))
            leak = self._leakage(monitoring, role_clarity=1.0)
            value = budget * (1.0 - leak) * o.preferences * eff
            area = self.service_areas[o.node]
            self._spent += budget
            self._leaked += budget * leak
            self._delivered += float(value.sum())
            self._areas[o.node] = area
            self._received[o.node] = self._distribute(
                dose, value, area, self.scenario.accountability.capture_propensity
            )
            self._promised[o.node] = budget * float(o.preferences @ eff) / max(1, area.size)
        w = self.scenario.welfare
        efficiency = np.array(
            [w.access_efficiency] * 3 + [w.capacity_efficiency, w.empowerment_efficiency]
        )
        joint = None
        if p is not None:
            # Evaluation credits the partnership only with what its own services achieved.
            joint = welfare.dose_response(
                self.hh.stock,
                self._joint_dose,
                efficiency[None, :],
                out=self._work("response", zero=False),
                work=self._work("gained", zero=False),
            )
            p.gained += np.subtract(joint, self.hh.stock, out=self._work("gained", zero=False)).sum(
                axis=0
            )
        if joint is None or solo:
            self.hh.stock[:] = welfare.dose_response(
                self.hh.stock,
                dose,
                efficiency[None, :],
                out=dose,
                work=self._work("gained", zero=False),
            )
        else:  # no solo programme: dose is the joint dose, whose response is already known
            self.hh.stock[:] = joint

    def _work(self, name: str, zero: bool = True, like: np.ndarray | None = None) -> np.ndarray:
        """A zeroed work array shaped like ``like`` (default: the stock), kept between steps.

        Scratch, not state. Reusing it spares allocating fresh megabytes every step, whose
        page faults cost more than the arithmetic at large sizes. With ``zero=False`` it holds
        leftovers.
        """
        like = self.hh.stock if like is None else like
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if buf is None or buf.shape != like.shape:
            buf = buffers[name] = np.zeros_like(like)
        elif zero:
            buf.fill(0.0)
        return buf

    def _leakage(self, monitoring: float, role_clarity: float | None = None) -> float:
        """Leakage of a programme; a solo organization's roles are its own, hence clear."""
        a = self.scenario.accountability
        return leakage_share(
            a.base_leakage,
            self.scenario.factors.goal_clarity if role_clarity is None else role_clarity,
            a.role_clarity_effect,
            a.audit_probability,
            a.audit_deterrence,
            monitoring,
            a.grassroots_effect,
        )

    def _deliver_jointly(self, p: Partnership, dose: np.ndarray | None, monitoring: float) -> None:
        caps = np.array([self._capabilities(m) for m in p.members])
        eff = service_effectiveness(capability_coverage(caps))
        prefs = np.array([self._preferences(m) for m in p.members])
        weights = p.weights
        share = allocation(prefs, weights) * p.effort
        share = share / share.sum()
        d = self.scenario.dynamics
        n = len(self.hh)
        ps = self.scenario.partnership
        coordination = coordination_cost(
            n, p.size, self._talked_pairs, ps.meeting_cost, ps.miscoordination_cost
        )
        leak = self._leakage(monitoring)
        understanding_factor = (
            d.understanding_floor + (1 - d.understanding_floor) * self.understanding
        )
        usable = max(0.0, self._pooled - coordination)
        value = usable * understanding_factor * (1.0 - leak) * share * eff
        self._spent += self._pooled
        self._leaked += usable * leak
        self._delivered += float(value.sum())
        p.spent += usable * share
        voice = self.community_voice
        capture = self.scenario.accountability.capture_propensity * (1.0 - voice)
        if p.includes_community:
            area = np.arange(n)
        else:
            # Households tied to any member, sorted (a union of the service areas).
            cols = [self.org_index[m] for m in p.members if m != COMMUNITY]
            area = np.flatnonzero(self.tied[:, cols].any(axis=1))
        everyone = area.size == n > 0
        joint = self._work("joint_dose", zero=not everyone)  # written whole when everyone
        received = self._distribute(joint, value, area, capture, fresh=everyone)
        if voice > 0:
            if area.size == n:  # everyone, in order: a slice avoids a gather and a scatter
                joint[:, 4] += self.scenario.welfare.participation_dose * voice
            else:
                joint[area, 4] += self.scenario.welfare.participation_dose * voice
        if dose is not None:
            dose += joint
        self._joint_dose = joint
        self._received["partnership"] = received
        self._areas["partnership"] = area
        planned = float((p.promised * self._resources_now).sum()) * float(share @ eff)
        self._promised["partnership"] = planned / max(1, area.size)
        # What members see of each other without direct observation: output against plan.
        expected = planned * (1.0 - leak)
        p.signal = min(1.0, float(value.sum()) / expected) if expected > 0 else 1.0
        # Unfairness: members compare how well the delivered mix serves their wishes
        # (distributive), and how much say they had in choosing it (procedural).
        p.unfairness = np.clip(
            dynamics.unfairness(dynamics.satisfaction(prefs, value))
            + d.procedural_weight * dynamics.procedural_unfairness(weights),
            0.0,
            1.0,
        )
        # Net benefit: what a unit pooled delivers, valued by each member, against what a unit
        # would deliver if the same members ran their own programmes.
        per_unit = value / self._pooled if self._pooled > 0 else np.zeros(len(SERVICES))
        alone = np.zeros(len(SERVICES))
        solo_leak = self._leakage(monitoring, role_clarity=1.0)
        budget_alone = 0.0
        for node in p.members:
            if node == COMMUNITY:
                continue
            o = self.org_by_node[node]
            own = service_effectiveness(capability_coverage(o.capabilities[None, :]))
            alone += o.budget * o.preferences * own * (1.0 - solo_leak)
            budget_alone += o.budget
        if budget_alone > 0:
            alone /= budget_alone
        per_unit, solo = prefs @ per_unit, prefs @ alone
        p.net_benefit = per_unit - solo

    def _distribute(
        self,
        dose: np.ndarray,
        value: np.ndarray,
        area: np.ndarray,
        capture: float,
        *,
        fresh: bool = False,
    ) -> np.ndarray:
        """Share a programme's services among the households of ``area`` by targeting weights.

        Adds to ``dose`` in place and returns the total received per household in the area.
        ``fresh`` says that ``dose`` holds nothing yet: when the area is everyone, the amounts
        are then written into it rather than added to zeros (the same values, one pass less,
        and ``dose`` need not be zeroed first).
        """
        if area.size == 0:
            return np.zeros(0)
        full = area.size == len(self.hh)
        stock = self.hh.stock if full else self.hh.stock[area]
        income = self.hh.income if full else self.hh.income[area]
        per_household = value / area.size
        if full:  # every service at once, over the columns of the stock
            need = np.subtract(1.0, stock, out=self._work("need", zero=False))
            amount = welfare.targeting_weights(need, income, capture, out=dose if fresh else need)
            amount *= per_household  # a service with nothing to share adds exact zeros
            if not fresh:
                dose += amount
            received = amount[:, 0].copy()
            for s in range(1, len(SERVICES)):
                received += amount[:, s]
            return received
        received = np.zeros(area.size)
        for s in range(len(SERVICES)):
            if per_household[s] == 0:
                continue
            t = welfare.targeting_weights(1.0 - stock[:, s], income, capture)
            amount = per_household[s] * t
            dose[area, s] += amount
            received += amount
        return received

    # 5 ---------------------------------------------------------------------------------------
    def depreciate(self) -> None:
        """Services decay; a capable, empowered community maintains part of them."""
        w = self.scenario.welfare
        maintenance = w.maintenance * self.hh.capacity * self.hh.empowerment
        welfare.depreciate(self.hh.stock, w.depreciation, maintenance[:, None], out=self.hh.stock)

    # 6 ---------------------------------------------------------------------------------------
    def update_trust(self) -> None:
        """Partners update trust in each other; households in the organizations serving them."""
        d = self.scenario.dynamics
        p = self.active_partnership
        if p is not None:
            # Partners seen directly are judged by their conduct; the others by the joint
            # output against plan net of expected leakage, which carries shirking,
            # coordination costs and misunderstanding alike (attribution under
            # noise: Kollock 1993; Van Lange, Ouwerkerk & Tazelaar 2002, JPSP 82:768).
            trust = self.trust_matrix()
            inferred = np.where(self._observed, p.contribution[None, :], p.signal)
            direct = dynamics.partner_experience(p.contribution, p.unfairness, p.weights)
            seen = dynamics.partner_experience(np.ones(p.size), p.unfairness, p.weights)
            experience = np.where(self._observed, direct, seen * p.signal)
            new = dynamics.trust_update(trust, experience, d.trust_gain, d.trust_loss)
            self._write_trust(new, trust)
            _update_beliefs(p, inferred)
        # Households: benefits received against what was promised to them.
        for programme, received in self._received.items():
            promised = self._promised[programme]
            if promised <= 0:
                continue
            experience = np.minimum(1.0, received / promised)
            area = self._areas[programme]
            orgs = (
                [m for m in p.members if m != COMMUNITY]
                if programme == "partnership"
                else [programme]
            )
            if len(orgs) > 1 and area.size == len(self.hh):
                self._update_household_trust(experience, [self.org_index[o] for o in orgs])
                continue
            for org in orgs:
                col = self.org_index[org]
                idx, seen = self._tied_in(area, experience, org)
                self.hh.trust[idx, col] = dynamics.trust_update(
                    self.hh.trust[idx, col], seen, d.trust_gain, d.trust_loss
                )
        if d.household_diffusion > 0 and self.social_ties.nnz:
            dynamics.diffuse_on_ties(
                self.hh.trust,
                self.social_ties,
                d.household_diffusion,
                degree=self._social_degree_wide,
                out=self.hh.trust,
            )

    def _update_household_trust(self, experience: np.ndarray, cols: list[int]) -> None:
        """Households' trust in several organizations after one programme served everyone.

        ``experience`` (n,) is each household's; only households tied to an organization
        update their trust in it (its ties are the mask). The arithmetic per entry is that of
        one organization at a time, in one pass over the columns ``cols`` of ``hh.trust``.
        """
        d = self.scenario.dynamics
        trust = self.hh.trust
        if sorted(cols) == list(range(trust.shape[1])):  # all of them: no gather, no scatter
            dynamics.trust_update(
                trust,
                experience[:, None],
                d.trust_gain,
                d.trust_loss,
                observed=self._tied_weight,
                out=trust,
                work=(
                    self._work("trust_a", zero=False, like=trust),
                    self._work("trust_b", zero=False, like=trust),
                ),
            )
        else:
            trust[:, cols] = dynamics.trust_update(
                trust[:, cols],
                experience[:, None],
                d.trust_gain,
                d.trust_loss,
                observed=self._tied_weight[:, cols],
            )

    def _tied_in(
        self, area: np.ndarray, values: np.ndarray, org: str
    ) -> tuple[np.ndarray | slice, np.ndarray]:
        """The households of ``area`` tied to ``org``, and their entries of ``values``.

        The households come as an index array, or as a slice when they are everyone (which
        spares a gather and a scatter over all households).
        """
        own = self._served(org)
        if area is self.service_areas[org]:  # a solo programme: its area is the service area
            return own, values
        if area.size == len(self.hh):  # everyone: the service area, in the same order
            return own, values if isinstance(own, slice) else values[own]
        tied = self.tied[area, self.org_index[org]]
        return np.compress(tied, area), np.compress(tied, values)

    # 7 ---------------------------------------------------------------------------------------
    def evaluate(self) -> None:
        """Every ``evaluation_interval`` steps members review outcomes against goals together.

        They re-align goals, shift effort toward services that delivered most per unit, see
        every member's contribution (shirking is detected) and repair trust gaps that the
        evidence explains.
        """
        interval = self.scenario.factors.evaluation_interval
        p = self.active_partnership
        if p is None or interval == 0 or self.steps % interval != 0:
            return
        d = self.scenario.dynamics
        p.anchors = dynamics.realign_anchors(p.anchors, p.views, d.realign_rate)
        if p.spent.sum() > 0:
            returns = np.divide(p.gained, p.spent, out=np.zeros_like(p.gained), where=p.spent > 0)
            if returns.sum() > 0:
                learned = returns / returns.mean()
                p.effort = (1.0 - d.learning_rate) * p.effort + d.learning_rate * learned
            p.spent[:] = 0.0
            p.gained[:] = 0.0
        _update_beliefs(p, np.broadcast_to(p.contribution, (p.size, p.size)))
        trust = self.trust_matrix()
        gap = p.contribution[None, :] - trust
        repaired = trust + d.repair_rate * np.maximum(gap, 0.0)
        np.fill_diagonal(repaired, 1.0)
        self._write_trust(repaired, trust)

    # 8 ---------------------------------------------------------------------------------------
    def review_membership(self) -> None:
        """Members leave after ``exit_patience`` steps of low trust or negative net benefit."""
        p = self.active_partnership
        if p is None:
            return
        ps = self.scenario.partnership
        trust = self.trust_matrix()
        mean_trust = (trust.sum(axis=1) - 1.0) / max(1, p.size - 1)
        p.low_trust_steps = np.where(mean_trust < ps.exit_threshold, p.low_trust_steps + 1, 0)
        p.loss_steps = np.where(p.net_benefit < 0, p.loss_steps + 1, 0)
        leaving = [
            node
            for node, low, loss in zip(p.members, p.low_trust_steps, p.loss_steps, strict=True)
            if low >= ps.exit_patience or loss >= ps.exit_patience
        ]
        for node in leaving:
            if p.active:
                p.remove_member(node)

    # 9 ---------------------------------------------------------------------------------------
    def update_welfare(self) -> None:
        """Incomes follow capacity and infrastructure; the step's outcomes are recorded."""
        w = self.scenario.welfare
        hh = self.hh
        welfare.income_from_capital(
            hh.income0,
            hh.capacity,
            hh.stock0[:, 3],
            hh.access[:, 2],
            hh.stock0[:, 2],
            w.return_capacity,
            w.return_infrastructure,
            out=hh.income,
            work=self._work("need", zero=False)[:, 0],  # scratch: targeting's need is spent
        )
        self._record()

    # ------------------------------------------------------------------ derived quantities
    @property
    def understanding(self) -> float:
        """Shared understanding of the partnership's goal (1 with no partnership)."""
        p = self.active_partnership
        return dynamics.shared_understanding(p.views) if p is not None else 1.0

    @property
    def community_voice(self) -> float:
        """The community's decision weight relative to an equal share, capped at 1."""
        p = self.active_partnership
        if p is None or not p.includes_community:
            return 0.0
        return min(1.0, float(p.weights[p.members.index(COMMUNITY)]) * p.size)

    @property
    def accountability(self) -> float:
        """Probability that shirking is detected within a year: audits or evaluations."""
        spy = self.scenario.run.steps_per_year
        interval = self.scenario.factors.evaluation_interval
        a = self.scenario.accountability
        evaluations_per_year = spy / interval if interval > 0 else 0.0
        evaluation = 1.0 - (1.0 - a.evaluation_detection) ** evaluations_per_year
        audit = a.audit_probability
        return 1.0 - (1.0 - audit) * (1.0 - evaluation)

    def _per_step(self, annual: float) -> float:
        return 1.0 - (1.0 - annual) ** (1.0 / self.scenario.run.steps_per_year)

    def _record(self) -> None:
        step = int(self.steps)
        keep = self._record_steps is None or step in self._record_steps
        if keep or self.interventions.reads_outcomes:
            self.metrics = self._outcomes()
        if keep:
            self.datacollector.collect(self)
            self._recorded_steps.append(step)

    def _outcomes(self) -> dict[str, float]:
        hh = self.hh
        # Household outcomes: the formulas of sim.metrics and sim.welfare on reused buffers.
        household = self.__dict__.setdefault("_household_outcomes", HouseholdOutcomes())
        out = household(
            hh,
            poorest=self._poorest,
            tied_weight=self._tied_weight,
            tied_count=self._tied_count,
            cutoff=self.scenario.welfare.deprivation_cutoff,
            k=self.scenario.welfare.poverty_k,
        )
        p = self.active_partnership
        out |= {
            "pooled_resources": self._pooled / len(hh),
            "delivered": self._delivered / len(hh),
            "leakage": self._leaked / self._spent if self._spent > 0 else 0.0,
            "partnership_active": float(p is not None),
            "partnership_size": float(p.size if p is not None else 0),
            "spent": self._spent / len(hh),
        }
        if p is not None:
            m = p.size
            trust = self.trust_matrix()
            out.update(
                # The mean off the diagonal, whose entries are exactly 1.
                trust_partners=float((trust.sum() - m) / (m * m - m)),
                shared_understanding=self.understanding,
                power_balance=power.power_balance(p.weights),
                community_voice=self.community_voice,
                contribution_rate=float(p.contribution.mean()),
            )
        else:
            out.update(
                trust_partners=float("nan"),
                shared_understanding=float("nan"),
                power_balance=float("nan"),
                community_voice=0.0,
                contribution_rate=float("nan"),
            )
        return out

    # ------------------------------------------------------------------ results
    def results(self) -> pd.DataFrame:
        """The tidy model-level table: scenario, replicate, seed, step and every outcome."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "step", np.array(self._recorded_steps, dtype=np.int64))
        df.insert(0, "seed", self.seed)
        df.insert(0, "replicate", self.replicate)
        df.insert(0, "scenario", self.scenario.name)
        return df

    def household_frame(self) -> pd.DataFrame:
        """Agent-level data: one row per household at the current step."""
        hh = self.hh
        frame = {
            "household": np.arange(len(hh)),
            "village": hh.village,
            "income0": hh.income0,
            "income": hh.income,
            "voice": hh.voice,
            "welfare": hh.welfare(),
            "poorest_quintile": hh.poorest_quintile,
        }
        for s, name in enumerate(SERVICES):
            frame[name] = hh.stock[:, s]
        df = pd.DataFrame(frame)
        df.insert(0, "step", int(self.steps))
        return df


class _OutcomeCollector(mesa.DataCollector):
    """Mesa's DataCollector for the model's outcomes, without a deep copy of each value.

    Mesa deep-copies every reported value so that a mutable one cannot change after it was
    recorded; the outcomes are floats, which cannot change, and the copies cost a quarter of
    data collection at 1,000 households. Everything else (reporters, tables) is Mesa's.
    """

    def collect(self, model: mesa.Model) -> None:
        if self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))


def _reporter(name: str):
    def report(model: PartnershipModel) -> float:
        return model.metrics[name]

    report.__name__ = name
    return report


def _beta_mean(rng: np.random.Generator, mean: float, size: int, conc: float = 20.0) -> np.ndarray:
    """Beta draws with the given mean (exact 0 or 1 means give exactly 0 or 1)."""
    if mean <= 0.0 or mean >= 1.0:
        return np.full(size, float(np.clip(mean, 0.0, 1.0)))
    return rng.beta(mean * conc, (1.0 - mean) * conc, size=size)


def _update_beliefs(p: Partnership, seen: np.ndarray) -> None:
    """Each member's belief about the others' contributions: the mean of what it saw of them.

    ``seen[i, j]`` is what member ``i`` makes of member ``j``'s fulfilment of its promise.
    """
    others = ~np.eye(p.size, dtype=bool)
    counts = others.sum(axis=1)
    p.belief = np.where(counts > 0, (seen * others).sum(axis=1) / np.maximum(counts, 1), p.belief)
