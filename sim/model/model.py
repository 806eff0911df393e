"""The partnership model: wires the submodels together in one documented step order.

The model owns the run's state and lists the step's phases; the pieces it wires live beside
it: :mod:`~sim.model.build` (the district at step 0), :mod:`~sim.model.ties` (trust and
channel quality of the organizations' ties), :mod:`~sim.model.delivery` (phase 4),
:mod:`~sim.model.learning` (phase 6), :mod:`~sim.model.accountability` (audits, the books,
sanctions), :mod:`~sim.model.outcomes` (data collection) and :mod:`~sim.model.interventions`
(phase 0). The rules they apply are in :mod:`sim.mechanisms`.

Example:
    >>> from sim.model.model import PartnershipModel
    >>> model = PartnershipModel.from_scenario("scenarios/msp.toml", seed=1)  # doctest: +SKIP
    >>> model = PartnershipModel(seed=1, households=200).run(12)
    >>> int(model.steps), len(model.results())
    (12, 13)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.mechanisms import dynamics, governance, sustainability, welfare
from sim.mechanisms.partnership import (
    COMMUNITY,
    Partnership,
    initial_views,
    member_nodes,
)
from sim.model import accountability, build, delivery, interventions, learning, memory
from sim.model.agents import HouseholdFaces
from sim.model.outcomes import (
    HouseholdOutcomes,
    OutcomeCollector,
    household_frame,
    results_frame,
    step_outcomes,
    upkeep_outcomes,
)
from sim.model.step import Parties, StepRecord
from sim.scenario import Scenario, load_scenario, maps
from sim.scenario.outcomes import OUTCOMES

__all__ = ["OUTCOMES", "PartnershipModel"]


class PartnershipModel(mesa.Model):
    """Partnerships between government, firms, NGOs and the community, and household welfare.

    Args:
        scenario: a validated :class:`~sim.scenario.Scenario` (defaults if omitted).
        seed: seed of the model's generators. ``None`` (with no ``rng``) draws fresh entropy
            from the operating system, as Mesa does, and records it in ``model.seed``; the
            scenario's ``run.seed`` is the root of an experiment's replicate seeds
            (:func:`sim.experiments.replicate_seeds`), not a model's default.
        rng: Mesa's name for the seed (Mesa 3.5 deprecates ``seed=``): an integer, or a numpy
            ``Generator`` from which an integer seed is drawn and recorded. Pass one or neither.
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
        rng: int | np.random.Generator | None = None,
        replicate: int = 0,
        record_steps: Iterable[int] | None = None,
        **levers: Any,
    ) -> None:
        scenario = scenario or Scenario()
        if levers:
            scenario = scenario.with_overrides(levers, source="PartnershipModel(**levers)")
        scenario, self.stakeholder_map = maps.for_scenario(scenario)
        memory.check_fits([scenario], source="PartnershipModel")  # before allocating anything
        seed = build.resolve_seed(seed, rng)
        super().__init__(rng=seed)  # Mesa seeds self.rng and self.random from it
        # ``config``, not ``scenario``: Mesa 3.4+ reserves ``Model.scenario`` for its own.
        self.config, self.seed, self.replicate = scenario, seed, replicate
        cfg = scenario
        # Independent streams (all spawned from the model's generator) keep the population and
        # the graph identical across scenarios that share a seed: common random numbers.
        # Beta draws consume a varying amount of randomness, so each use has its own stream.
        # Spawned in this order, each new stream last: the streams before it are those of
        # earlier versions. Exits for distrust draw from their own stream; so do audits and
        # evaluations' detections, so the meetings of two scenarios that differ only in
        # oversight stay the same.
        streams = self.rng.spawn(9)
        pop_rng, net_rng, org_rng, tie_rng, rep_rng, self._form_rng, self._event_rng = streams[:7]
        self._exit_rng, self._audit_rng = streams[7], streams[8]
        self.organizations = build.organizations(self, self.stakeholder_map, org_rng)
        self.org_index = {o.node: i for i, o in enumerate(self.organizations)}
        self.org_by_node = {o.node: o for o in self.organizations}
        district = build.district(
            cfg, self.stakeholder_map, self.organizations, (pop_rng, net_rng, tie_rng, rep_rng)
        )
        self.hh, self.graph, self.ties = district.hh, district.graph, district.ties
        self.social_ties = district.social_ties
        self._diffusion = learning.Diffusion(self.social_ties)
        self.structure = district.structure
        self.households = HouseholdFaces(self)
        self.parties = Parties(
            self.organizations,
            self.hh,
            self.structure,
            community_capabilities=self.config.capabilities.row(COMMUNITY),
            community_authority=self.config.authority.community,
        )
        self.record = StepRecord()
        self._scratch = delivery.Scratch(self.hh.stock)
        self.upkeep = sustainability.Upkeep(peak_access=float(self.hh.access.mean()))

        self.partnership: Partnership | None = None
        members = member_nodes(cfg.partnership.type, self.orgs_by_kind())
        if cfg.partnership.type != "none" and len(members) >= 2:
            p = self.form_partnership(cfg.partnership.type, members)
            # Month 0 reports the power the partners start with (phase 3's rule on their
            # promised contributions at full funding), not the equal shares of formation.
            # Phase 3 recomputes the weights every month, so later months are unchanged.
            inkind = cfg.organizations.community_inkind
            full = np.array([self.parties.resources(m, inkind) for m in p.members])
            p.weights = self.parties.decision_weights(p, full, cfg.dynamics, cfg.factors)

        self.interventions = interventions.Interventions(self)
        self.poorest = np.flatnonzero(self.hh.poorest_quintile)  # fixed: ranked by income0
        self.metrics: dict[str, float] = {}
        self._record_steps = None if record_steps is None else frozenset(map(int, record_steps))
        self._recorded_steps: list[int] = []  # the step of each row of the DataCollector
        self._household_outcomes = HouseholdOutcomes()
        self.datacollector = OutcomeCollector(OUTCOMES)
        self._record()

    @classmethod
    def from_scenario(
        cls, path: str | Path, *, overrides: list[str] | None = None, **kwargs: Any
    ) -> PartnershipModel:
        """Build a model from a scenario file (``extends`` followed, ``--set`` style overrides)."""
        return cls(load_scenario(path, overrides), **kwargs)

    # ------------------------------------------------------------------ public views
    def orgs_by_kind(self) -> dict[str, list[str]]:
        """Organization nodes grouped by kind (government, firm, ngo)."""
        out: dict[str, list[str]] = {"government": [], "firm": [], "ngo": []}
        for o in self.organizations:
            out[o.kind].append(o.node)
        return out

    representatives = property(lambda self: self.ties.representatives, doc="Household ids.")
    org_trust = property(lambda self: self.ties.org_trust, doc="Ties.org_trust (the owner).")
    rep_trust = property(lambda self: self.ties.rep_trust, doc="Ties.rep_trust (the owner).")
    service_areas = property(lambda self: self.structure.service_areas, doc="By organization.")
    tied = property(lambda self: self.structure.tied, doc="(households, organizations) ties.")
    village_size = property(lambda self: self.structure.village_size, doc="Mean households.")

    def authority(self, node: str) -> float:
        """A party's formal authority (an organization id or ``"community"``)."""
        return self.parties.authority(node)

    def form_partnership(self, kind: str, members: list[str]) -> Partnership:
        """Form a partnership of ``members`` (organization nodes and/or ``"community"``)."""
        unknown = [m for m in members if m != COMMUNITY and m not in self.org_index]
        if unknown:
            raise ValueError(
                f"unknown partnership members {unknown}; known: {list(self.org_index)}"
            )
        f = self.config.factors
        self.partnership = Partnership.form(
            kind, members, goal_clarity=f.goal_clarity,
            view_spread=self.config.dynamics.view_spread,
            commitment=self.config.partnership.commitment, rng=self._form_rng,
            step=int(self.steps),
        )  # fmt: skip
        return self.partnership

    def new_member_view(self) -> float:
        """A newly admitted member's view of the goal, drawn as at formation."""
        s = self.config
        return float(
            initial_views(1, s.factors.goal_clarity, s.dynamics.view_spread, self._form_rng)[0]
        )

    @property
    def active_partnership(self) -> Partnership | None:
        """The partnership if it exists and is active."""
        p = self.partnership
        return p if p is not None and p.active else None

    def trust_matrix(self) -> np.ndarray:
        """Directional trust among the partnership's members (``T[i, j]``: i's trust in j)."""
        p = self.active_partnership
        if p is None:
            return np.empty((0, 0))
        s = self.structure
        return self.ties.party_trust(p.members, self.hh.trust, s.rep_households, s.rep_positions)

    def write_trust(self, new: np.ndarray, old: np.ndarray) -> None:
        """Write an updated :meth:`trust_matrix` back to the arrays that own trust."""
        s = self.structure
        self.ties.write_party_trust(
            self.active_partnership.members, new, old, self.hh.trust, s.rep_households,
            s.rep_positions,
        )  # fmt: skip

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One month, in this order (docs/ODD.md, "Process overview and scheduling").

        0. intervene: the design's scheduled and triggered interventions (model/interventions).
        1. fund: budgets available this step (the funding horizon ends external funding).
        2. communicate: partners meet; views of the goal converge (Friedkin–Johnsen).
        3. contribute: decision power; conditional cooperation sets contributions.
        4. deliver: joint and solo programmes turn resources into services for households.
        5. depreciate: the community O&M body forms or erodes; assets decay unless maintained.
        6. update_trust: partners learn from each other's conduct; households from benefits.
        7. evaluate: every k steps, joint evaluation and learning.
        8. review_membership: members leave after sustained low trust or net loss.
        9. update_welfare: incomes follow capacity and infrastructure; outcomes recorded.
        """
        self.intervene()
        self.record = StepRecord()
        self.fund()
        self.communicate()
        self.contribute()
        self.deliver()
        self.depreciate()
        self.update_trust()
        self.evaluate()
        self.review_membership()
        self.update_welfare()
        if self.steps >= self.config.run.steps:
            self.running = False  # Mesa's batch_run and servers stop at the horizon

    def run(self, steps: int | None = None) -> PartnershipModel:
        """Run ``steps`` steps (default: the scenario's) and return the model (chainable)."""
        for _ in range(self.config.run.steps if steps is None else steps):
            self.step()
        return self

    def intervene(self) -> None:
        """0. Fire the interventions due at this step; each firing is logged in ``events``."""
        self.interventions.apply()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The interventions fired so far: step, intervention, action, target, old, new."""
        return self.interventions.events

    def events_frame(self) -> pd.DataFrame:
        """The event log as a table keyed by scenario, replicate and seed."""
        return self.interventions.frame()

    def fund(self) -> None:
        """1. Budgets this step: after the funding horizon ``funding_after`` of external funds."""
        ps, orgs = self.config.partnership, self.config.organizations
        f = sustainability.external_factor(int(self.steps), ps.funding_horizon, ps.funding_after)
        external = [getattr(orgs, f"external_{o.kind}") for o in self.organizations]
        self.record.funding_factor = f
        self.record.budget_share = sustainability.available_share(external, f)

    def communicate(self) -> None:
        """2. Partners who communicate move their views toward each other, trust-weighted.

        An audit round (every ``audit_interval`` steps) audits the partnership with probability
        ``audit_probability``: the audit makes every member's conduct visible this step and
        sanctions every shortfall since the last check.
        """
        a = self.config.accountability
        audited = accountability.audit_drawn(int(self.steps), a, self._audit_rng)
        p = self.active_partnership
        if p is None:
            return
        interval = self.config.factors.evaluation_interval
        self.record.audited = audited
        self.record.evaluating = interval > 0 and self.steps % interval == 0
        trust = self.trust_matrix()
        prob = dynamics.communication_probability(trust, self.ties.party_quality(p.members))
        talked = np.triu(self._event_rng.random(prob.shape) < prob, 1)
        talked = talked | talked.T
        self.record.talked, self.record.talked_pairs = talked, int(talked.sum() // 2)
        d = self.config.dynamics
        weights = dynamics.degroot_weights(trust, talked, d.self_weight)
        p.views = dynamics.friedkin_johnsen_step(p.views, p.anchors, weights, d.susceptibility)
        self.record.observed = np.ones_like(talked) if audited else talked.copy()
        if audited:
            self._sanction(p, np.ones(p.size, dtype=bool))

    def contribute(self) -> None:
        """3. Members decide their contributions (conditional cooperation) and pool them.

        Motivation responds to the expected sanction (:attr:`deterrence`); what each member
        withholds of its promise is owed until the next audit or evaluation checks it; fines
        are paid into the pool in instalments over the year after their detection.
        """
        p = self.active_partnership
        if p is None:
            return
        d = self.config.dynamics
        inkind, share = self.config.organizations.community_inkind, self.record.budget_share
        resources = np.array([self.parties.resources(m, inkind, share) for m in p.members])
        p.weights = self.parties.decision_weights(p, resources, d, self.config.factors)
        dialogue = self.record.talked.sum(axis=1) / max(1, p.size - 1)
        motive = dynamics.motivation(
            governance.mean_trust_in_others(self.trust_matrix()), self.understanding,
            self.deterrence, dialogue, p.unfairness, d.motivation_weights,
        )  # fmt: skip
        p.contribution = dynamics.conditional_contribution(p.belief, motive, d.conditional_slope)
        self.on_contribute(p)
        self.record.resources = resources
        paid, self.record.fines = accountability.book(p, resources)
        self.record.pooled = paid + self.record.fines

    def on_contribute(self, p: Partnership) -> None:
        """A hook after the members decide their contributions, before they are pooled.

        Does nothing here; a subclass may change ``p.contribution`` (validation's shocks do).
        """

    def deliver(self) -> None:
        """4. Joint and solo programmes deliver services; stocks respond (diminishing returns)."""
        delivery.deliver(
            self.active_partnership, self.parties, self.config, self.record, self._scratch,
            understanding=self.understanding, community_voice=self.community_voice,
        )  # fmt: skip

    def depreciate(self) -> None:
        """5. Upkeep: the community O&M body forms or erodes; services decay unless maintained.

        Everything decays at ``depreciation``; households' own upkeep (a capable, empowered
        community) offsets part of it, and funded O&M (the community body, agencies' O&M
        budgets) a further part of the access services' (the built assets') decay.
        """
        w, hh, up = self.config.welfare, self.hh, self.upkeep
        p = self.active_partnership
        facilitation = self.community_voice * self.record.funding_factor if p else 0.0
        continuity = sustainability.service_continuity(float(hh.access.mean()), up.peak_access)
        payment = sustainability.user_payment(w.fee_compliance, continuity)
        up.body = sustainability.om_body_step(
            up.body, facilitation, payment, w.om_formation, w.om_decay
        )
        om = sustainability.om_share(up.body, w.om_coverage, w.om_agency)
        community = w.maintenance * hh.capacity * hh.empowerment
        if om == 0.0:  # one pass over every service, as before funded O&M existed
            welfare.depreciate(hh.stock, w.depreciation, community[:, None], out=hh.stock)
            up.share = float(community.mean())
        else:
            assets = sustainability.upkeep_share(community, om)
            access, other = hh.stock[:, :3], hh.stock[:, 3:]
            welfare.depreciate(access, w.depreciation, assets[:, None], out=access)
            welfare.depreciate(other, w.depreciation, community[:, None], out=other)
            up.share = float(assets.mean())
        up.peak_access = max(up.peak_access, float(hh.access.mean()))

    def update_trust(self) -> None:
        """6. Partners update trust in each other; households in the organizations serving them."""
        d = self.config.dynamics
        p = self.active_partnership
        if p is not None:
            trust = self.trust_matrix()
            self.write_trust(learning.partner_experience(p, self.record.observed, trust, d), trust)
        diffusion = self._diffusion.operator(d.household_diffusion)
        learning.household_trust(p, self.parties, self.record, self._scratch, diffusion, d)

    def evaluate(self) -> None:
        """7. Every ``evaluation_interval`` steps members review outcomes against goals together.

        They re-align goals, shift effort toward services that delivered most per unit, see
        every member's contribution and repair trust gaps that the evidence explains; each
        member's shortfall since the last check is detected with probability
        ``evaluation_detection`` and sanctioned.
        """
        interval = self.config.factors.evaluation_interval
        p = self.active_partnership
        if p is None or interval == 0 or self.steps % interval != 0:
            return
        d = self.config.dynamics
        p.anchors = dynamics.realign_anchors(p.positions, p.views, d.realign_rate)
        if p.spent.sum() > 0:
            lr = d.learning_rate
            p.effort = governance.effort_after_learning(p.effort, p.gained, p.spent, lr)
            p.spent[:] = 0.0
            p.gained[:] = 0.0
        p.belief = governance.beliefs(np.broadcast_to(p.contribution, (p.size, p.size)), p.belief)
        trust = self.trust_matrix()
        self.write_trust(governance.repaired_trust(trust, p.contribution, d.repair_rate), trust)
        e = self.config.accountability.evaluation_detection
        self._sanction(p, self._audit_rng.random(p.size) < e)

    def _sanction(self, p: Partnership, detected: np.ndarray) -> None:
        """Sanction detected shortfalls; partners withdraw trust from the detected members.

        The books and fines: :func:`sim.model.accountability.sanction`. Trust in a detected
        member falls in proportion to its shortfall, written through the trust's owner.
        """
        a = self.config.accountability
        short = accountability.sanction(p, detected, a, self.config.run.steps_per_year)
        if short is not None:
            trust = self.trust_matrix()
            new = governance.sanctioned_trust(trust, short, detected, a.sanction_reputation)
            self.write_trust(new, trust)

    def review_membership(self) -> None:
        """8. Members leave for distrust (a hazard) or after ``exit_patience`` steps of net loss."""
        p = self.active_partnership
        if p is None:
            return
        ps = self.config.partnership
        trust_in_others = governance.mean_trust_in_others(self.trust_matrix())
        p.low_trust_steps = np.where(trust_in_others < ps.exit_threshold, p.low_trust_steps + 1, 0)
        p.loss_steps = np.where(p.net_benefit < 0, p.loss_steps + 1, 0)
        hazard = governance.exit_probability(
            trust_in_others, ps.exit_threshold, ps.exit_spread, ps.exit_patience
        )
        exits = self._exit_rng.random(p.size) < hazard
        for node in governance.leaving_members(p.members, exits, p.loss_steps, ps.exit_patience):
            if p.active:
                p.remove_member(node)

    def update_welfare(self) -> None:
        """9. Incomes follow capacity and infrastructure; the step's outcomes are recorded."""
        w, hh = self.config.welfare, self.hh
        welfare.income_from_capital(
            hh.income0, hh.capacity, hh.stock0[:, 3], hh.access[:, 2], hh.stock0[:, 2],
            w.return_capacity, w.return_infrastructure, out=hh.income,
            work=self._scratch("need", zero=False)[:, 0],  # scratch: targeting's need is spent
        )  # fmt: skip
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
        return 0.0 if p is None else governance.community_voice(p.weights, p.members, COMMUNITY)

    @property
    def detection(self) -> float:
        """Probability that a unit a member withholds is sanctioned within a year (7.15)."""
        return accountability.detection(self.config)

    @property
    def deterrence(self) -> float:
        """The expected sanction per unit withheld: detection × (fine + reputation), at most 1."""
        return accountability.deterrence(self.config)

    # ------------------------------------------------------------------ results
    def outcomes(self) -> dict[str, float]:
        """Every outcome of the current state (what data collection records)."""
        hh, s, w = self.hh, self.structure, self.config.welfare
        out = self._household_outcomes(
            hh, poorest=self.poorest, tied_weight=s.tied_weight, tied_count=s.tied_count,
            cutoff=w.deprivation_cutoff, k=w.poverty_k,
            tie_counts=s.tie_counts(range(s.tied_weight.shape[1])), tied=s.tied,
        )  # fmt: skip
        p = self.active_partnership
        trust = self.trust_matrix() if p is not None else None
        voice = self.community_voice
        out |= step_outcomes(self.record, len(hh), p, trust, self.understanding, voice)
        return out | upkeep_outcomes(self.upkeep, out["access_mean"])

    def _record(self) -> None:
        step = int(self.steps)
        keep = self._record_steps is None or step in self._record_steps
        if keep or self.interventions.reads_outcomes:
            self.metrics = self.outcomes()
        if keep:
            self.datacollector.collect(self)
            self._recorded_steps.append(step)

    def results(self) -> pd.DataFrame:
        """The tidy model-level table: scenario, replicate, seed, step and every outcome."""
        return results_frame(self.datacollector, self._recorded_steps, self.config.name,
                             self.seed, self.replicate)  # fmt: skip

    def household_frame(self) -> pd.DataFrame:
        """Agent-level data: one row per household at the current step."""
        return household_frame(self.hh, int(self.steps))
