"""Plausible ranges of the levers: where each lever can sensibly be set, with the reason.

The schema's bounds (:mod:`sim.scenario.schema`) say what the model accepts; they are often far
wider than what a planner or the literature would consider (a trust gain rate of 1, a thousand
representatives per village). The lever-liveness table (:mod:`sim.experiments.liveness`,
``python run_simulation.py levers``) runs each lever at the two ends of its plausible range,
at the shipped defaults otherwise, and reports what moves.

A lever listed in :data:`RANGES` has its own ends and reason; any other numeric lever gets the
generic range, half and one and a half times its default (clipped to the schema's bounds,
rounded for integers), marked as such in the table. :data:`SETTINGS` are not levers of the
model's behaviour (run length, seeds, input files, the partnership type, which the patterns
compare) and are left out.

Example:
    >>> plausible_range("dynamics.trust_gain").low, plausible_range("dynamics.trust_gain").high
    (0.025, 0.1)
    >>> r = plausible_range("welfare.return_capacity")
    >>> (r.low, r.high, r.generic)
    (0.3, 0.9, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.scenario.schema import PARTNERSHIP_MEMBERS, lever_table
from sim.scenario.traits import CapabilitiesSection

__all__ = ["RANGES", "SETTINGS", "Range", "conditional", "levers", "plausible_range"]


@dataclass(frozen=True)
class Range:
    """A lever's plausible ends, why, and any other levers it needs set to act at all.

    ``context`` holds overrides without which the lever cannot act (``funding_after`` acts
    only once funding ends); both ends are run with the context.
    """

    low: Any
    high: Any
    why: str
    context: tuple[tuple[str, Any], ...] = ()
    generic: bool = False


_FACTOR = "the shipped weak value (msp_* scenarios) and the shipped good one"
_HALF = "half to one and a half times the default (no estimate)"

RANGES: dict[str, Range] = {
    "population.households": Range(250, 1000, "a district programme's cluster of villages"),
    "population.villages": Range(5, 20, "villages of 25 to 100 households at 500 households"),
    "population.initial_trust": Range(0.3, 0.7, "households' trust from wary to trusting"),
    "population.ties_within": Range(2, 8, "a few to several close ties within the village"),
    "population.rewiring": Range(0.05, 0.3, "Watts–Strogatz small worlds: short paths, clusters"),
    "population.ties_across": Range(0.0, 0.2, "none to a few cross-village ties per household"),
    "organizations.governments": Range(1, 2, "one agency, or two (district and sector)"),
    "organizations.firms": Range(1, 5, "one to five firms with CSR programmes"),
    "organizations.ngos": Range(1, 4, "one to four NGOs"),
    "organizations.representatives": Range(1, 10, "a village head alone to a village council"),
    "organizations.firm_coverage": Range(
        0.25,
        0.75,
        "a quarter to three quarters of villages; acts where firms' service areas bound the "
        "programme, as in ppp (msp serves every household)",
        context=(("partnership.type", "ppp"),),
    ),
    "organizations.ngo_coverage": Range(
        0.25,
        0.75,
        "a quarter to three quarters of villages; acts where NGOs run their own programmes, "
        "as in ppp (msp serves every household)",
        context=(("partnership.type", "ppp"),),
    ),
    "partnership.commitment": Range(0.4, 0.8, "members pledge under half to most of their budget"),
    "partnership.exit_threshold": Range(0.2, 0.4, "median tolerance of distrust, around 0.3"),
    "partnership.exit_spread": Range(0.01, 0.05, "nearly one tolerance to a wide spread"),
    "partnership.exit_patience": Range(6, 24, "half a year to two years of patience"),
    "partnership.capability_pooling": Range(
        "union", "ces", "the two forms, ces at its default substitutability (best member only)"
    ),
    "partnership.capability_substitutability": Range(
        0.0,
        1.0,
        "geometric mean to the best member only; acts only with capability_pooling = 'ces'",
        context=(("partnership.capability_pooling", "ces"),),
    ),
    "partnership.promise_basis": Range(
        "expected", "full", "the two announcements: the expected pool, or every promise kept"
    ),
    "partnership.funding_horizon": Range(
        36, 84, "programme cycles of three to seven years (default 0: never ends)"
    ),
    "partnership.funding_after": Range(
        0.0,
        0.5,
        "nothing to half of the budgets after the programme ends",
        context=(("partnership.funding_horizon", 60),),
    ),
    "organizations.external_government": Range(
        0.0,
        0.3,
        "none to some donor finance of the government's programme; acts only once funding ends",
        context=(("partnership.funding_horizon", 60),),
    ),
    "organizations.external_firm": Range(
        0.0,
        0.3,
        "none to some external finance of CSR; acts only once funding ends",
        context=(("partnership.funding_horizon", 60),),
    ),
    "organizations.external_ngo": Range(
        0.5,
        1.0,
        "NGOs half to wholly donor-funded; acts only once funding ends",
        context=(("partnership.funding_horizon", 60),),
    ),
    "welfare.om_agency": Range(0.0, 0.3, "no to some recurrent O&M budget of the agencies"),
    "welfare.takeup_trust": Range(
        0.0,
        1.0,
        "take-up independent of trust to take-up equal to trust (the lever's whole range: the "
        "slope could not be verified)",
    ),
    "factors.goal_clarity": Range(0.2, 0.8, _FACTOR),
    "factors.power_balance": Range(0.0, 0.7, _FACTOR),
    "factors.communication": Range(0.2, 0.8, _FACTOR),
    "factors.trust": Range(0.2, 0.7, _FACTOR),
    "factors.evaluation_interval": Range(6, 24, "twice a year to every two years"),
    "accountability.audit_deterrence": Range(
        0.15,
        0.45,
        "half to one and a half times the default; acts through the audit probability, so "
        "it is judged at certain audit (at 4% its whole effect is under 2% of leakage)",
        context=(("accountability.audit_probability", 1.0),),
    ),
    "accountability.detection_basis": Range(
        "per_unit",
        "carried",
        "the two forms; they agree at yearly checks, so it is judged at monthly evaluation",
        context=(("factors.evaluation_interval", 1),),
    ),
    "accountability.sanction_fine": Range(
        0.0, 1.0, "no fine (the default) to restitution of what was withheld"
    ),
    "accountability.audit_probability": Range(
        0.04, 1.0, "Olken 2007: the status quo (4%) to certain audit (100%)"
    ),
    "accountability.audit_cost": Range(
        0.05,
        0.15,
        "half to one and a half times the default; an audit costs only when one happens, so "
        "it is judged at certain audit (at 4% a round most runs see no audit in ten years)",
        context=(("accountability.audit_probability", 1.0),),
    ),
    "accountability.grassroots_effect": Range(
        0.15,
        0.45,
        "half to one and a half times the default; villagers cut only the leakage they can "
        "see, at the defaults the wages (a quarter of spending), so it is judged with full "
        "disclosure (Olken 2007: grassroots monitoring cut missing wages, not materials)",
        context=(("accountability.disclosure", 1.0),),
    ),
    "accountability.free_riding_size": Range(10, 100, "free-riding halves monitoring at 10-100"),
    "accountability.capture_propensity": Range(0.25, 0.75, "some to most benefits steered"),
    "dynamics.trust_gain": Range(0.025, 0.1, "trust half-way to better conduct in 7-27 months"),
    "dynamics.trust_loss": Range(0.1, 0.4, "trust half-way to worse conduct in 1.4-6.6 months"),
    "dynamics.susceptibility": Range(0.5, 0.9, "Friedkin–Johnsen susceptibility, mid to high"),
    "dynamics.self_weight": Range(0.5, 2.0, "a partner weighs its own view half to twice"),
    "dynamics.view_spread": Range(0.5, 1.0, "unclear goals spread views over half or all"),
    "dynamics.conditional_slope": Range(
        0.55, 0.9, "Fischbacher, Gächter & Fehr 2001: mixed population ~0.57, up to near 1"
    ),
    "dynamics.motivation_weights": Range(0.5, 1.5, "every weight halved, or raised by half"),
    "dynamics.understanding_floor": Range(0.0, 0.6, "no delivery to most of it without SU"),
    "welfare.deprivation_cutoff": Range(0.3, 0.5, "a deprivation line a little lower or higher"),
    "welfare.poverty_k": Range(0.25, 0.5, "Alkire–Foster k from a quarter to a half"),
}
"""Levers with their own plausible ends (the others get :func:`plausible_range`'s generic)."""

SETTINGS: dict[str, str] = {
    "run.steps": "the horizon of a run, not a lever of behaviour",
    "run.replications": "how many runs, not a lever of one run",
    "run.seed": "the root of the random streams",
    "run.steps_per_year": "the calendar: converts annual rates",
    "population.map": "an input file (a stakeholder map), not a number",
    "partnership.type": "categorical: the types are compared by patterns 1, 9 and 10",
}
"""Schema entries that are not levers of the model's behaviour, and why."""


def levers() -> list[str]:
    """Every lever of the schema as ``section.key``, settings excluded, in the schema's order."""
    keys = [f"{r['section']}.{r['key']}" for r in lever_table()]
    return [k for k in keys if k not in SETTINGS]


_ALONE = (("partnership.type", "none"),)
_AVERAGE = (("partnership.capability_substitutability", 0.5),)


def conditional(lever: str) -> tuple[tuple[tuple[str, Any], ...], str]:
    """Where a trait-table entry acts, at the shipped best-member pooling: (context, why).

    With ``capability_pooling = 'ces'`` at substitutability 1, a partnership's capability is
    its best member's, so a party's capability entry acts in ``msp`` only where that party is
    the best member (e.g. the firm in finance). Otherwise it is run where it acts: an
    organization's entry where the organization delivers alone (no partnership: each
    organization runs its own programme); the community's, which never delivers alone, in
    the partnership type where its entry at the high end is the best member's, else at
    substitutability 0.5 (the arithmetic mean of the members' capabilities: every member
    counts, and the partnership still works). Service requirements (Cobb–Douglas exponents)
    bite where capabilities are uneven, i.e. in solo programmes: in ``msp`` the best members
    cover every capability at 0.8–0.9.

    >>> conditional("capabilities.firm_finance")[0], conditional("capabilities.ngo_finance")[0]
    ((), (('partnership.type', 'none'),))
    >>> conditional("capabilities.community_facilitation")[0]
    (('partnership.type', 'psp'),)
    >>> conditional("factors.trust")
    ((), '')
    """
    section, _, key = lever.partition(".")
    if section == "requirements":
        return _ALONE, "; acts where organizations deliver alone (run with no partnership)"
    if section != "capabilities":
        return (), ""
    party, _, capability = key.partition("_")
    what = capability.replace("_", " ")
    table = CapabilitiesSection().table()
    column = CapabilitiesSection.COLUMNS.index(capability)
    if table[party][column] >= max(row[column] for row in table.values()):
        return (), f"; acts in msp: the {party} is the best member in {what}"
    if party != "community":
        return _ALONE, (
            f"; in msp the best member's {what} is another's, so it acts where the "
            f"{party} delivers alone (run with no partnership)"
        )
    high = min(1.0, 1.5 * table[party][column])
    for kind, members in PARTNERSHIP_MEMBERS.items():
        others = [table[m][column] for m in members if m != party]
        if party in members and others and high > max(others):
            return (("partnership.type", kind),), (
                f"; acts where the community is the best member in {what}: in {kind} "
                "(run as that type)"
            )
    return _AVERAGE, (
        f"; the community is the best member in {what} in no partnership type, so it acts "
        "only where members' capabilities average (run at substitutability 0.5)"
    )


def plausible_range(lever: str) -> Range:
    """The plausible ends of ``lever``: its own (:data:`RANGES`) or the generic rule.

    Generic: half and one and a half times the default, clipped to the schema's bounds and
    rounded for integers. A tuple (``motivation_weights``) is scaled as a whole by the ends.

    Raises:
        KeyError: for an unknown lever or a setting, or a numeric lever whose default is 0
            (half of nothing is nothing: it needs its own range in :data:`RANGES`).
    """
    if lever in RANGES:
        return RANGES[lever]
    rows = {f"{r['section']}.{r['key']}": r for r in lever_table()}
    if lever not in rows or lever in SETTINGS:
        raise KeyError(f"{lever!r} is not a lever of the model's behaviour")
    row = rows[lever]
    default, bounds = row["default"], row["bounds"]
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise KeyError(f"{lever!r} (default {default!r}) needs its own range in RANGES")
    if default == 0 and not isinstance(default, int) and bounds.get("le", math.inf) <= 1:
        context, why = conditional(lever)
        return Range(
            0.0, 0.2, "absent to a little (default 0; no estimate)" + why, context, generic=True
        )
    if default == 0:
        raise KeyError(f"{lever!r} (default 0) needs its own range in RANGES")
    lo = max(bounds.get("ge", bounds.get("gt", -math.inf)), 0.5 * default)
    hi = min(bounds.get("le", bounds.get("lt", math.inf)), 1.5 * default)
    if "lt" in bounds and hi >= bounds["lt"]:
        hi = (default + bounds["lt"]) / 2
    if isinstance(default, int):
        lo, hi = max(math.floor(lo), 1 if default > 0 else 0), math.ceil(hi)
    else:
        lo, hi = round(lo, 10), round(hi, 10)
    context, why = conditional(lever)
    return Range(lo, hi, _HALF + why, context=context, generic=True)
