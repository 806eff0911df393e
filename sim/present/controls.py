"""The dashboard's settings on the left, declared as data: label, default, bounds, help.

Each :class:`Control` is passed by name to :class:`sim.present.livemodel.DashboardModel` on
Reset. A control that stands for one of the essay's five success factors names it, and names
the scenario lever behind it; :func:`control_help` turns both into the help text shown under
the slider, with the lever's meaning read from the lever schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sim.present.livemodel import COMPARISONS
from sim.scenario import PARTNERSHIP_TYPES, lever_table

__all__ = [
    "CONTROLS",
    "PARTNERSHIP_NAMES",
    "Control",
    "control_help",
    "lever_meanings",
    "option_label",
]


@cache
def lever_meanings() -> dict[str, str]:
    """Each lever's one-line meaning from the lever schema (``run_simulation.py levers``).

    >>> lever_meanings()["factors.communication"]
    'quality of communication channels between partners'
    """
    return {f"{row['section']}.{row['key']}": row["meaning"] for row in lever_table()}


@dataclass(frozen=True)
class Control:
    """A setting on the left: built into a new model on Reset.

    ``factor`` names the essay's success factor the control stands for (None for the others)
    and ``lever`` the scenario lever behind it; both are shown in the help text.
    """

    name: str
    label: str
    default: Any
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.05
    values: tuple[str, ...] = ()
    lever: str = ""
    factor: str = ""


PARTNERSHIP_NAMES = {
    "none": "No partnership",
    "ppp": "Government–private (PPP)",
    "psp": "Community–private (PSP)",
    "pmg": "Community–government (PMG)",
    "msp": "Multi-stakeholder (MSP)",
}
"""The essay's names of the partnership types, by their codes."""
assert set(PARTNERSHIP_NAMES) == set(PARTNERSHIP_TYPES)

CONTROLS = (
    Control(
        "partnership_type",
        "Partnership type",
        "msp",
        values=PARTNERSHIP_TYPES,
        lever="partnership.type",
    ),
    Control(
        "goal_clarity",
        "Clarity of goals",
        0.8,
        lever="factors.goal_clarity",
        factor="Clarity of goals and targets",
    ),
    Control(
        "power_balance",
        "Balance of power",
        0.7,
        lever="factors.power_balance",
        factor="Balance of power",
    ),
    Control(
        "communication",
        "Communication",
        0.8,
        lever="factors.communication",
        factor="Effective communication",
    ),
    Control(
        "trust",
        "Trust (before month 1)",
        0.7,
        lever="factors.trust",
        factor="Trust and mutual respect",
    ),
    Control(
        "evaluation_interval",
        "Evaluation every N months (0 = never)",
        12,
        0,
        36,
        1,
        lever="factors.evaluation_interval",
        factor="Evaluation and learning",
    ),
    Control(
        "households",
        "Community size (households)",
        300,
        50,
        3000,
        50,
        lever="population.households",
    ),
    Control("horizon", "Run length (months)", 120, 12, 360, 12, lever="run.steps"),
    Control("seed", "Seed", 1, 0, 99, 1),
    Control("policy", "Policy design (sets type and factors)", "none", values=("none",)),
    Control("compare", "Compare with B = A but …", "none", values=tuple(COMPARISONS)),
)
"""The settings on the left, passed by name to :class:`DashboardModel` on Reset."""


def control_help(control: Control, gettext: Any = str) -> str:
    """The help text under a control: the essay's factor and the lever behind it.

    >>> print(control_help(CONTROLS[3]))  # doctest: +NORMALIZE_WHITESPACE
    Success factor: Effective communication.
    Lever factors.communication: quality of communication channels between partners.
    """
    _ = gettext
    parts = []
    if control.factor:
        parts.append(_("Success factor: {factor}.").format(factor=_(control.factor)))
    if control.lever:
        meaning = _(lever_meanings()[control.lever])
        parts.append(_("Lever {lever}: {meaning}.").format(lever=control.lever, meaning=meaning))
    if control.name == "seed":
        parts.append(_("The random draw of villages, households and ties; A and B share it."))
    if control.name == "policy":
        parts.append(_("A file in scenarios/policies/: its own levers and interventions."))
    if control.name == "compare":
        parts.append(_("B is A with one success factor degraded, on the same households."))
    return " ".join(parts)


def option_label(control: Control, value: str, gettext: Any = str) -> str:
    """How a choice is shown: partnership types by name and code, comparisons translated."""
    if control.name == "partnership_type":
        return gettext(PARTNERSHIP_NAMES[value])
    return gettext(value) if control.name == "compare" else value
