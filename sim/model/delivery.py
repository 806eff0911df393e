"""Phase 4, delivery: joint and solo programmes turn resources into services for households.

A partnership pools its members' contributions, pays coordination, audits and evaluations,
loses a share to leakage and delivers the rest in the mix its decision weights choose, with
the effectiveness of its members' combined capabilities. Organizations outside it run their
own programmes over their service areas. Services reach households by targeting weights (need,
and capture by the better-off); leakage is village by village, cut by audits upward and by
the villagers' own monitoring of what they can see downward; stocks respond with diminishing
returns (docs/ODD.md, submodels 7.7-7.10).

The rules are the pure functions of :mod:`sim.mechanisms.partnership` and
:mod:`sim.mechanisms.welfare`; this module applies them to one step's arrays and writes what
it did into the :class:`~sim.model.step.StepRecord`.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import dynamics, governance, kernels, welfare
from sim.mechanisms.partnership import (
    COMMUNITY,
    SERVICES,
    Partnership,
    allocation,
    announced_plan,
    capability_coverage,
    coordination_cost,
    leakage_share,
    service_effectiveness,
)
from sim.mechanisms.welfare import Households
from sim.model.build import Structure
from sim.model.step import Parties, StepRecord
from sim.scenario.schema import Scenario

__all__ = [
    "Scratch",
    "audit_detection",
    "deliver",
    "distribute",
    "effectiveness",
    "leakage",
    "watched_share",
]


_TAKEN_UP = tuple(int(s) for s in np.flatnonzero(welfare.TAKEN_UP))
"""Columns of the services whose take-up follows trust."""

_PARTICIPATION = SERVICES.index("participation")
"""Column of the service that the partnership's participation dose adds to (empowerment)."""


class Scratch:
    """Work arrays kept between steps, by name. Scratch, not state.

    Reusing them spares allocating fresh megabytes every step, whose page faults cost more
    than the arithmetic at large sizes.
    """

    def __init__(self, like: np.ndarray) -> None:
        self.like = like
        self._buffers: dict[str, np.ndarray] = {}

    def __call__(self, name: str, zero: bool = True, like: np.ndarray | None = None) -> np.ndarray:
        """A work array shaped like ``like`` (default: the stock); zeroed unless ``zero=False``."""
        like = self.like if like is None else like
        buf = self._buffers.get(name)
        if buf is None or buf.shape != like.shape:
            buf = self._buffers[name] = np.zeros_like(like)
        elif zero:
            buf.fill(0.0)
        return buf


def audit_detection(scenario: Scenario) -> float:
    """Probability that a programme is audited within a year (audit rounds, 7.1)."""
    a = scenario.accountability
    return governance.detection_probability(
        a.audit_probability, 0.0, 0, scenario.run.steps_per_year, audit_interval=a.audit_interval
    )


def leakage(
    scenario: Scenario, watched: np.ndarray | float, role_clarity: float | None = None
) -> np.ndarray | float:
    """Leakage of a programme in each village (``watched``: the monitored share of spending).

    A solo organization's roles are its own, hence clear (``role_clarity`` 1).
    """
    a = scenario.accountability
    return leakage_share(
        a.base_leakage,
        scenario.factors.goal_clarity if role_clarity is None else role_clarity,
        a.role_clarity_effect,
        audit_detection(scenario),
        a.audit_deterrence,
        watched,
        a.grassroots_effect,
    )


def effectiveness(
    capabilities: np.ndarray, scenario: Scenario, requirements: np.ndarray | None = None
) -> np.ndarray:
    """Effectiveness per service of a group of parties (rows of ``capabilities``).

    Their capabilities combine by the scenario's pooling form; services need them by the
    scenario's requirements (``[requirements]``, rows normalized; pass them as
    ``requirements`` when they are already at hand). A single party's rows combine to its
    own capabilities under every form.
    """
    ps = scenario.partnership
    coverage = capability_coverage(
        capabilities, ps.capability_pooling, ps.capability_substitutability
    )
    if requirements is None:
        requirements = np.array(scenario.requirements.matrix())
    return service_effectiveness(coverage, requirements)


def watched_share(hh: Households, structure: Structure, scenario: Scenario, record: StepRecord):
    """Each village's monitored share of spending, households' time and the accountability.

    Writes ``record.cost_participation`` (the households' time, in resources) and
    ``record.accountability``; returns ``v · g_v`` per village (submodel 7.9).
    """
    a = scenario.accountability
    n = len(hh)
    village_sizes = structure.village_sizes
    taking_part = structure.village_sums(hh.empowerment * hh.voice) / np.maximum(village_sizes, 1.0)
    attending = governance.attendance(taking_part, a.social_audit)
    monitoring = governance.village_monitoring(attending, village_sizes, a.free_riding_size)
    visible = governance.visible_share(a.labour_share, a.disclosure)
    detected = governance.leakage_detection(audit_detection(scenario), visible, monitoring)
    record.accountability = float(detected @ village_sizes) / n
    record.cost_participation = float(attending @ village_sizes) * a.participation_time_cost
    return visible * monitoring


def deliver(
    p: Partnership | None,
    parties: Parties,
    scenario: Scenario,
    record: StepRecord,
    scratch: Scratch,
    *,
    understanding: float,
    community_voice: float,
) -> None:
    """Every programme of the step delivers; the households' stocks respond (in place)."""
    hh = parties.hh
    structure = parties.structure
    requirements = np.array(scenario.requirements.matrix())
    # Every household's unmet need 1 − x, once: targeting and the dose response read it, and
    # the stocks do not change until the end of the phase.
    need = np.subtract(1.0, hh.stock, out=scratch("need", zero=False))
    in_partnership = set(p.members) if p is not None else set()
    solo_orgs = [o for o in parties.organizations if o.node not in in_partnership]
    # The dose of all programmes together is needed only when some organization works
    # alone (or none works together); otherwise the joint dose is all there is.
    dose = scratch("dose") if p is None or solo_orgs else None
    commitment = scenario.partnership.commitment
    watched = watched_share(hh, structure, scenario, record)
    solo_leak = leakage(scenario, watched, role_clarity=1.0)
    village = structure.village_index
    retention = np.take(1.0 - solo_leak, village) if solo_orgs else None  # solo only
    exponent_ready = False  # the joint dose's −e·d is in scratch("response") (compiled path)
    if p is not None:
        exponent_ready = _deliver_jointly(
            p,
            parties,
            scenario,
            record,
            scratch,
            dose,
            watched,
            understanding,
            community_voice,
            requirements,
            need,
        )
    a = scenario.accountability
    capture = a.capture_propensity
    for o in solo_orgs:
        budget = commitment * parties.resources(o.node, 0.0, record.budget_share)
        area = structure.service_areas[o.node]
        # A solo programme's audits are not drawn (nothing else in it depends on them): it
        # pays their expected cost every month.
        fee = min(budget, a.audit_probability * a.audit_cost * area.size / a.audit_interval)
        eff = effectiveness(o.capabilities[None, :], scenario, requirements)
        gross = (budget - fee) * o.preferences * eff
        takeup = None
        if scenario.welfare.takeup_trust > 0:
            takeup = welfare.takeup(
                hh.trust[:, parties.index[o.node]], scenario.welfare.takeup_trust
            )
        received = distribute(
            hh, scratch, dose, gross, area, capture, retention=retention, takeup=takeup,
            need=need,
        )  # fmt: skip
        record.spent += budget
        record.cost_audit += fee
        record.leaked += (budget - fee) * _lost_share(gross, received, retention, area)
        record.delivered += float(received.sum())
        record.areas[o.node] = area
        record.received[o.node] = received
        record.promised[o.node] = budget * float(o.preferences @ eff) / max(1, area.size)
    efficiency = _efficiency(scenario)
    joint = None
    if exponent_ready:  # no solo programme; the compiled path did the gain's first step
        factor = scratch("response", zero=False)
        np.exp(factor, out=factor)
        kernels.take_gain(factor, need, hh.stock)  # factor becomes the gain, stock rises
        p.gained += factor.sum(axis=0)
        return
    if p is not None:
        # Evaluation credits the partnership only with what its own services achieved.
        gain = welfare.dose_gain(
            record.joint_dose, efficiency[None, :], need, out=scratch("response", zero=False)
        )
        p.gained += gain.sum(axis=0)
        joint = np.add(gain, hh.stock, out=gain)  # welfare.dose_response, in two parts
    if joint is None or solo_orgs:
        hh.stock[:] = welfare.dose_response(
            hh.stock, dose, efficiency[None, :], out=dose, headroom=need
        )
    else:  # no solo programme: dose is the joint dose, whose response is already known
        hh.stock[:] = joint


def _efficiency(scenario: Scenario) -> np.ndarray:
    """Each service's efficiency ``e`` in the dose response (access, capacity, empowerment)."""
    w = scenario.welfare
    return np.array([w.access_efficiency] * 3 + [w.capacity_efficiency, w.empowerment_efficiency])


def _lost_share(
    gross: np.ndarray, received: np.ndarray, retention: np.ndarray, area: np.ndarray
) -> float:
    """The share of a programme's value lost to leakage across its villages.

    What the households received against what was sent; with nothing sent, the mean
    leakage of the area's households.
    """
    sent = float(gross.sum())
    if sent > 0:  # clipped: the sums round differently, the shares lie in [0, 1]
        return min(1.0, max(0.0, 1.0 - float(received.sum()) / sent))
    if area.size == 0:
        return 0.0
    return 1.0 - float(retention[area].mean())


def _deliver_jointly(
    p: Partnership,
    parties: Parties,
    scenario: Scenario,
    record: StepRecord,
    scratch: Scratch,
    dose: np.ndarray | None,
    watched: np.ndarray,
    understanding: float,
    voice: float,
    requirements: np.ndarray,
    need: np.ndarray,
) -> bool:
    """The partnership's programme delivers; whether the compiled path ran.

    ``True``: everyone was served, no organization works alone, and the joint dose's exponent
    ``−e·d`` is in ``scratch("response")`` for :func:`deliver` to finish.
    """
    hh = parties.hh
    caps = np.array([parties.capabilities(m) for m in p.members])
    eff = effectiveness(caps, scenario, requirements)
    prefs = np.array([parties.preferences(m) for m in p.members])
    weights = p.weights
    share = allocation(prefs, weights) * p.effort
    share = share / share.sum()
    d = scenario.dynamics
    n = len(hh)
    if p.includes_community:
        area = np.arange(n)
    else:
        # Households tied to any member, sorted (a union of the service areas).
        cols = [parties.index[m] for m in p.members if m != COMMUNITY]
        area = np.flatnonzero(parties.structure.tied[:, cols].any(axis=1))
    ps, a = scenario.partnership, scenario.accountability
    costs = np.array(
        [
            coordination_cost(
                n, p.size, record.talked_pairs, ps.meeting_cost, ps.miscoordination_cost
            ),
            a.audit_cost * area.size * record.audited,
            a.evaluation_cost * area.size * record.evaluating,
        ]
    )
    # The pool pays its costs first; what it cannot pay is not spent.
    total = float(costs.sum())
    if total > record.pooled:
        costs *= record.pooled / total
    record.cost_coordination += float(costs[0])
    record.cost_audit += float(costs[1])
    record.cost_evaluation += float(costs[2])
    leak = leakage(scenario, watched)
    village = parties.structure.village_index
    retention = np.take(1.0 - leak, village)
    understanding_factor = d.understanding_floor + (1 - d.understanding_floor) * understanding
    usable = max(0.0, record.pooled - total)
    gross = usable * understanding_factor * share * eff
    record.spent += record.pooled
    p.spent += usable * share
    capture = scenario.accountability.capture_propensity * (1.0 - voice)
    everyone = area.size == n > 0
    joint = scratch("joint_dose", zero=not everyone)  # written whole when everyone
    takeup = None
    if scenario.welfare.takeup_trust > 0:
        orgs = [parties.index[m] for m in p.members if m != COMMUNITY]
        structure = parties.structure
        if orgs == list(range(hh.trust.shape[1])) and kernels.enabled(n):  # the same bits
            takeup = kernels.tied_takeup(
                hh.trust, structure.tied, structure.tie_counts(orgs),
                scenario.welfare.takeup_trust, out=scratch("takeup", zero=False, like=hh.income),
            )  # fmt: skip
        else:
            trust = welfare.programme_trust(
                hh.trust, orgs, structure.tied_weight,
                count=structure.tie_counts(orgs),
                work=scratch("trust_a", zero=False, like=hh.trust),  # free until phase 6
            )  # fmt: skip
            takeup = welfare.takeup(trust, scenario.welfare.takeup_trust, out=trust)
    participation = scenario.welfare.participation_dose * voice if voice > 0 else 0.0
    compiled = False
    if everyone and dose is None and kernels.enabled(n):  # the same bits as distribute
        received = scratch("received", zero=False, like=hh.income)
        compiled = kernels.share_out(
            need, hh.income, capture, gross / n, retention, takeup, welfare.TAKEN_UP,
            participation, _efficiency(scenario), participation_column=_PARTICIPATION, dose=joint,
            exponent=scratch("response", zero=False), received=received,
        )  # fmt: skip
    if not compiled:
        received = distribute(
            hh,
            scratch,
            joint,
            gross,
            area,
            capture,
            fresh=everyone,
            retention=retention,
            takeup=takeup,
            need=need,
        )
    lost = _lost_share(gross, received, retention, area)
    value = gross * (1.0 - lost)
    record.leaked += usable * lost
    record.delivered += float(received.sum())
    if voice > 0 and not compiled:
        if area.size == n:  # everyone, in order: a slice avoids a gather and a scatter
            joint[:, _PARTICIPATION] += participation
        else:
            joint[area, _PARTICIPATION] += participation
    if dose is not None:
        dose += joint
    record.joint_dose = joint
    record.received["partnership"] = received
    record.areas["partnership"] = area
    mix = float(share @ eff)
    # Households judge the partnership against what it announced (its honest plan: the pool
    # partners expect from each other, net of this step's coordination and oversight costs);
    # members hold each other to their full promises (the signal below).
    announced = announced_plan(p.promised, record.resources, p.belief, total, mix, ps.promise_basis)
    record.promised["partnership"] = announced / max(1, area.size)
    planned = float((p.promised * record.resources).sum()) * mix
    # What members see of each other without direct observation: output against plan. The
    # plan includes the fines' instalment, which members know of: restitution of past
    # shortfalls is not read as this month's contributions.
    expected = (planned + record.fines * mix) * (1.0 - lost)
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
    per_unit = value / record.pooled if record.pooled > 0 else np.zeros(len(SERVICES))
    alone = np.zeros(len(SERVICES))
    solo_leak = float(np.mean(np.take(leakage(scenario, watched, role_clarity=1.0), village)))
    budget_alone = 0.0
    for node in p.members:
        if node == COMMUNITY:
            continue
        o = parties.by_node[node]
        own = effectiveness(o.capabilities[None, :], scenario, requirements)
        alone += o.budget * o.preferences * own * (1.0 - solo_leak)
        budget_alone += o.budget
    if budget_alone > 0:
        alone /= budget_alone
    per_unit, solo = prefs @ per_unit, prefs @ alone
    p.net_benefit = per_unit - solo
    return compiled


def distribute(
    hh: Households,
    scratch: Scratch,
    dose: np.ndarray,
    value: np.ndarray,
    area: np.ndarray,
    capture: float,
    *,
    fresh: bool = False,
    retention: np.ndarray | None = None,
    takeup: np.ndarray | None = None,
    need: np.ndarray | None = None,
) -> np.ndarray:
    """Share a programme's services among the households of ``area`` by targeting weights.

    Adds to ``dose`` in place and returns the total received per household in the area.
    ``fresh`` says that ``dose`` holds nothing yet: when the area is everyone, the amounts are
    then written into it rather than added to zeros (the same values, one pass less, and
    ``dose`` need not be zeroed first). ``retention`` (one entry per household of the district)
    is the share of what is sent to a household that reaches it (one minus its village's
    leakage); the rest leaks. ``takeup`` (one entry per household of the district) is the share
    of the services in :data:`~sim.mechanisms.welfare.TAKEN_UP` that a household takes up of
    what reaches it (submodel 7.10): it scales the dose, not what is returned as received
    (what households judge the programme by). ``need`` is every household's ``1 − stock``
    if already computed (read, not changed).
    """
    if area.size == 0:
        return np.zeros(0)
    full = area.size == len(hh)
    stock = hh.stock if full else hh.stock[area]
    income = hh.income if full else hh.income[area]
    per_household = value / area.size
    if full:  # every service at once, over the columns of the stock
        if need is None:
            need = np.subtract(1.0, stock, out=scratch("need", zero=False))
            weights = dose if fresh else need
        else:  # kept: the weights go elsewhere
            weights = dose if fresh else scratch("weights", zero=False)
        amount = welfare.targeting_weights(need, income, capture, out=weights)
        amount *= per_household  # a service with nothing to share adds exact zeros
        if retention is not None:
            amount *= retention[:, None]
        received = amount[:, 0].copy()
        for s in range(1, len(SERVICES)):
            received += amount[:, s]
        if takeup is not None:
            for s in _TAKEN_UP:
                amount[:, s] *= takeup
        if not fresh:
            dose += amount
        return received
    received = np.zeros(area.size)
    kept = None if retention is None else retention[area]
    taken = None if takeup is None else takeup[area]
    for s in range(len(SERVICES)):
        if per_household[s] == 0:
            continue
        t = welfare.targeting_weights(1.0 - stock[:, s], income, capture)
        amount = per_household[s] * t
        if kept is not None:
            amount *= kept
        received += amount
        if taken is not None and s in _TAKEN_UP:
            amount *= taken
        dose[area, s] += amount
    return received
