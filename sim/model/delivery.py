"""Phase 4, delivery: joint and solo programmes turn resources into services for households.

A partnership pools its members' contributions, pays coordination, loses a share to leakage
and delivers the rest in the mix its decision weights choose, with the effectiveness of its
members' combined capabilities. Organizations outside it run their own programmes over their
service areas. Services reach households by targeting weights (need, and capture by the
better-off), and stocks respond with diminishing returns (docs/ODD.md, submodel 7.4).

The rules are the pure functions of :mod:`sim.mechanisms.partnership` and
:mod:`sim.mechanisms.welfare`; this module applies them to one step's arrays and writes what
it did into the :class:`~sim.model.step.StepRecord`.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import dynamics, welfare
from sim.mechanisms.partnership import (
    COMMUNITY,
    SERVICES,
    Partnership,
    allocation,
    capability_coverage,
    coordination_cost,
    grassroots_monitoring,
    leakage_share,
    service_effectiveness,
)
from sim.mechanisms.welfare import Households
from sim.model.step import Parties, StepRecord
from sim.scenario.schema import Scenario

__all__ = ["Scratch", "deliver", "distribute", "effectiveness", "leakage"]


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


def leakage(scenario: Scenario, monitoring: float, role_clarity: float | None = None) -> float:
    """Leakage of a programme; a solo organization's roles are its own, hence clear."""
    a = scenario.accountability
    return leakage_share(
        a.base_leakage,
        scenario.factors.goal_clarity if role_clarity is None else role_clarity,
        a.role_clarity_effect,
        a.audit_probability,
        a.audit_deterrence,
        monitoring,
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
    in_partnership = set(p.members) if p is not None else set()
    solo_orgs = [o for o in parties.organizations if o.node not in in_partnership]
    # The dose of all programmes together is needed only when some organization works
    # alone (or none works together); otherwise the joint dose is all there is.
    dose = scratch("dose") if p is None or solo_orgs else None
    commitment = scenario.partnership.commitment
    monitoring = grassroots_monitoring(
        float(hh.empowerment.mean() * hh.voice.mean()),
        structure.village_size,
        scenario.accountability.free_riding_size,
    )
    if p is not None:
        _deliver_jointly(
            p,
            parties,
            scenario,
            record,
            scratch,
            dose,
            monitoring,
            understanding,
            community_voice,
            requirements,
        )
    capture = scenario.accountability.capture_propensity
    for o in solo_orgs:
        budget = commitment * parties.resources(o.node, 0.0, record.budget_share)
        eff = effectiveness(o.capabilities[None, :], scenario, requirements)
        leak = leakage(scenario, monitoring, role_clarity=1.0)
        value = budget * (1.0 - leak) * o.preferences * eff
        area = structure.service_areas[o.node]
        record.spent += budget
        record.leaked += budget * leak
        record.delivered += float(value.sum())
        record.areas[o.node] = area
        record.received[o.node] = distribute(hh, scratch, dose, value, area, capture)
        record.promised[o.node] = budget * float(o.preferences @ eff) / max(1, area.size)
    w = scenario.welfare
    efficiency = np.array(
        [w.access_efficiency] * 3 + [w.capacity_efficiency, w.empowerment_efficiency]
    )
    joint = None
    if p is not None:
        # Evaluation credits the partnership only with what its own services achieved.
        joint = welfare.dose_response(
            hh.stock,
            record.joint_dose,
            efficiency[None, :],
            out=scratch("response", zero=False),
            work=scratch("gained", zero=False),
        )
        p.gained += np.subtract(joint, hh.stock, out=scratch("gained", zero=False)).sum(axis=0)
    if joint is None or solo_orgs:
        hh.stock[:] = welfare.dose_response(
            hh.stock, dose, efficiency[None, :], out=dose, work=scratch("gained", zero=False)
        )
    else:  # no solo programme: dose is the joint dose, whose response is already known
        hh.stock[:] = joint


def _deliver_jointly(
    p: Partnership,
    parties: Parties,
    scenario: Scenario,
    record: StepRecord,
    scratch: Scratch,
    dose: np.ndarray | None,
    monitoring: float,
    understanding: float,
    voice: float,
    requirements: np.ndarray,
) -> None:
    hh = parties.hh
    caps = np.array([parties.capabilities(m) for m in p.members])
    eff = effectiveness(caps, scenario, requirements)
    prefs = np.array([parties.preferences(m) for m in p.members])
    weights = p.weights
    share = allocation(prefs, weights) * p.effort
    share = share / share.sum()
    d = scenario.dynamics
    n = len(hh)
    ps = scenario.partnership
    coordination = coordination_cost(
        n, p.size, record.talked_pairs, ps.meeting_cost, ps.miscoordination_cost
    )
    leak = leakage(scenario, monitoring)
    understanding_factor = d.understanding_floor + (1 - d.understanding_floor) * understanding
    usable = max(0.0, record.pooled - coordination)
    value = usable * understanding_factor * (1.0 - leak) * share * eff
    record.spent += record.pooled
    record.leaked += usable * leak
    record.delivered += float(value.sum())
    p.spent += usable * share
    capture = scenario.accountability.capture_propensity * (1.0 - voice)
    if p.includes_community:
        area = np.arange(n)
    else:
        # Households tied to any member, sorted (a union of the service areas).
        cols = [parties.index[m] for m in p.members if m != COMMUNITY]
        area = np.flatnonzero(parties.structure.tied[:, cols].any(axis=1))
    everyone = area.size == n > 0
    joint = scratch("joint_dose", zero=not everyone)  # written whole when everyone
    received = distribute(hh, scratch, joint, value, area, capture, fresh=everyone)
    if voice > 0:
        if area.size == n:  # everyone, in order: a slice avoids a gather and a scatter
            joint[:, 4] += scenario.welfare.participation_dose * voice
        else:
            joint[area, 4] += scenario.welfare.participation_dose * voice
    if dose is not None:
        dose += joint
    record.joint_dose = joint
    record.received["partnership"] = received
    record.areas["partnership"] = area
    planned = float((p.promised * record.resources).sum()) * float(share @ eff)
    record.promised["partnership"] = planned / max(1, area.size)
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
    per_unit = value / record.pooled if record.pooled > 0 else np.zeros(len(SERVICES))
    alone = np.zeros(len(SERVICES))
    solo_leak = leakage(scenario, monitoring, role_clarity=1.0)
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


def distribute(
    hh: Households,
    scratch: Scratch,
    dose: np.ndarray,
    value: np.ndarray,
    area: np.ndarray,
    capture: float,
    *,
    fresh: bool = False,
) -> np.ndarray:
    """Share a programme's services among the households of ``area`` by targeting weights.

    Adds to ``dose`` in place and returns the total received per household in the area.
    ``fresh`` says that ``dose`` holds nothing yet: when the area is everyone, the amounts are
    then written into it rather than added to zeros (the same values, one pass less, and
    ``dose`` need not be zeroed first).
    """
    if area.size == 0:
        return np.zeros(0)
    full = area.size == len(hh)
    stock = hh.stock if full else hh.stock[area]
    income = hh.income if full else hh.income[area]
    per_household = value / area.size
    if full:  # every service at once, over the columns of the stock
        need = np.subtract(1.0, stock, out=scratch("need", zero=False))
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
