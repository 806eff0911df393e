"""The model's outcomes, declared once: name, label, unit, range, better direction, meaning.

The model records every outcome at step 0 and after every step (the full definitions, with
their equations, are in docs/ODD.md, section "Outputs"). Everything else reads this
declaration: the model its column names (:data:`OUTCOMES`), intervention triggers (``when``)
and sweeps the names they may use, plots and reports the labels, tests the bounds.

Example:
    >>> DECLARED["mpi_m0"].label, DECLARED["mpi_m0"].better
    ('Poverty (Alkire-Foster M0)', 'lower')
    >>> DECLARED["income_mean"].bounds
    (0.0, inf)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["DECLARED", "LABELS", "OUTCOMES", "Outcome", "label"]

INF = math.inf


@dataclass(frozen=True)
class Outcome:
    """One outcome of the model.

    Attributes:
        name: the column name in every results table.
        label: how figures and reports name it.
        unit: what its numbers count.
        bounds: the closed range every finite value lies in (``inf`` for no upper bound).
        better: ``"higher"``, ``"lower"`` or ``""`` (a state, not a goal).
        meaning: one line; the full definition is in docs/ODD.md.
        undefined_without_partnership: NaN by definition when no partnership is active.
        dtype: how the results tables store it (``"float64"``, ``"bool"`` or ``"int64"``).
    """

    name: str
    label: str
    unit: str
    bounds: tuple[float, float]
    better: Literal["higher", "lower", ""]
    meaning: str
    undefined_without_partnership: bool = False
    dtype: Literal["float64", "bool", "int64"] = "float64"


_SHARE = (0.0, 1.0)
_NON_NEGATIVE = (0.0, INF)
_PER_HOUSEHOLD = "welfare units per household per step"

_DECLARATIONS = (
    Outcome("welfare_mean", "Welfare (mean)", "index", _SHARE, "higher",
            "mean of the welfare index W over households"),
    Outcome("welfare_q1", "Welfare, poorest fifth", "index", _SHARE, "higher",
            "mean W over the poorest 20% of households by initial income (a fixed cohort)"),
    Outcome("access_mean", "Access to services", "share", _SHARE, "higher",
            "mean access to health, education and infrastructure"),
    Outcome("access_health", "Access to health services", "share", _SHARE, "higher",
            "mean access to health services (read as the monthly probability of using them)"),
    Outcome("capacity_mean", "Capacity", "share", _SHARE, "higher",
            "mean capacity (skills)"),
    Outcome("empowerment_mean", "Empowerment", "share", _SHARE, "higher",
            "mean empowerment"),
    Outcome("income_mean", "Income (x poverty line)", "multiples of the poverty line",
            _NON_NEGATIVE, "higher", "mean income"),
    Outcome("welfare_gini", "Inequality (welfare Gini)", "index", _SHARE, "lower",
            "Gini coefficient of W"),
    Outcome("income_gini", "Income Gini", "index", _SHARE, "lower",
            "Gini coefficient of income"),
    Outcome("poverty_rate", "Income poverty (headcount)", "share of households", _SHARE,
            "lower", "share of households with income below the poverty line (income < 1)"),
    Outcome("income_bottom40", "Income share of the poorest 40%", "share of total income",
            _SHARE, "higher", "share of total income held by the poorest 40% of households"),
    Outcome("welfare_atkinson", "Welfare Atkinson index", "index", _SHARE, "lower",
            "Atkinson index of W with inequality aversion 1"),
    Outcome("welfare_sen", "Welfare Sen index", "index", _SHARE, "higher",
            "Sen's welfare index: mean W times (1 - Gini of W)"),
    Outcome("mpi_h", "Poverty headcount (H)", "share of households", _SHARE, "lower",
            "Alkire-Foster headcount ratio: share of households who are poor"),
    Outcome("mpi_a", "Poverty intensity (A)", "share of dimensions", _SHARE, "lower",
            "Alkire-Foster intensity: mean weighted deprivation among the poor"),
    Outcome("mpi_m0", "Poverty (Alkire-Foster M0)", "index", _SHARE, "lower",
            "Alkire-Foster adjusted headcount M0 = H x A"),
    Outcome("trust_partners", "Trust among partners", "share", _SHARE, "higher",
            "mean trust of each party of the partnership in the others",
            undefined_without_partnership=True),
    Outcome("trust_community", "Household trust in organizations", "share", _SHARE, "higher",
            "mean trust of households in the organizations that serve them"),
    Outcome("trust_spread", "Spread of household trust", "standard deviation (trust, 0-1)",
            (0.0, 0.5), "",
            "standard deviation over households of each one's mean trust in the organizations "
            "it is tied to (the trust take-up follows)"),
    Outcome("shared_understanding", "Shared understanding", "index", _SHARE, "higher",
            "how close the members' views of the goal are",
            undefined_without_partnership=True),
    Outcome("power_balance", "Power balance", "index", _SHARE, "higher",
            "the weakest member's decision weight over the strongest's (1 = equal say)",
            undefined_without_partnership=True),
    Outcome("community_voice", "Community voice", "share", _SHARE, "higher",
            "the community's decision weight relative to an equal share (0 without a seat)"),
    Outcome("contribution_rate", "Contribution (share of promise)", "share", _SHARE, "higher",
            "mean share of their promise the members contribute",
            undefined_without_partnership=True),
    Outcome("pooled_resources", "Pooled resources", _PER_HOUSEHOLD, _NON_NEGATIVE, "",
            "resources pooled by the partnership this step"),
    Outcome("delivered", "Services delivered", _PER_HOUSEHOLD, _NON_NEGATIVE, "higher",
            "value of services delivered this step by the partnership and solo programmes"),
    Outcome("leakage", "Leakage (share lost)", "share of spending", _SHARE, "lower",
            "share of this step's spending lost to leakage"),
    Outcome("partnership_active", "Partnership active", "true/false (mean: share of runs)",
            _SHARE, "higher", "whether a partnership exists and is active", dtype="bool"),
    Outcome("partnership_size", "Partnership members", "members", _NON_NEGATIVE, "",
            "number of members, the community included", dtype="int64"),
    Outcome("spent", "Resources spent", _PER_HOUSEHOLD, _NON_NEGATIVE, "lower",
            "resources spent this step: pooled resources, solo budgets and households' time"),
    Outcome("om_body", "Community O&M body", "index", _SHARE, "higher",
            "strength of the community's operation-and-maintenance body (0: none or collapsed)"),
    Outcome("asset_upkeep", "Asset upkeep", "share of depreciation", _SHARE, "higher",
            "mean share of the access services' depreciation offset by maintenance this step"),
    Outcome("service_continuity", "Service continuity", "share", _SHARE, "higher",
            "mean access as a share of the highest mean access reached so far"),
    Outcome("cost_coordination", "Cost: coordination", _PER_HOUSEHOLD, _NON_NEGATIVE, "lower",
            "what the partnership's meetings and missed coordination cost its pool this step"),
    Outcome("cost_audit", "Cost: audits", _PER_HOUSEHOLD, _NON_NEGATIVE, "lower",
            "what audits cost the programmes this step"),
    Outcome("cost_evaluation", "Cost: evaluations", _PER_HOUSEHOLD, _NON_NEGATIVE, "lower",
            "what joint evaluations cost the partnership's pool this step"),
    Outcome("cost_participation", "Cost: households' time", _PER_HOUSEHOLD, _NON_NEGATIVE,
            "lower", "the time households spent monitoring the programmes this step"),
    Outcome("accountability", "Accountability", "probability per year", _SHARE, "higher",
            "chance that a unit of leakage is detected within a year, by an audit or by "
            "villagers (household mean)"),
)  # fmt: skip

DECLARED: dict[str, Outcome] = {o.name: o for o in _DECLARATIONS}
"""Every outcome by name, in the order of the results tables."""

OUTCOMES: tuple[str, ...] = tuple(DECLARED)
"""Model-level outcomes recorded at step 0 and after every step (defined in docs/ODD.md)."""

LABELS: dict[str, str] = {o.name: o.label for o in _DECLARATIONS}
"""The label of every outcome, for figures and reports."""


def label(name: str) -> str:
    """The label of an outcome, or ``name`` itself for a column that is not an outcome.

    Example:
        >>> label("trust_partners"), label("step")
        ('Trust among partners', 'step')
    """
    outcome = DECLARED.get(name)
    return outcome.label if outcome is not None else name
