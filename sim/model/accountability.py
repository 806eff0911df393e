"""Accountability: audits, the partnership's books, detection and sanctions (phases 2, 3, 7).

Each month a member owes what it promised and pays what it decided to contribute; what it
withholds goes on the books (``owed``, ``arrears`` of the
:class:`~sim.mechanisms.partnership.Partnership`) until a check: an audit round (phase 2)
checks every member, a joint evaluation (phase 7) detects each member's shortfall with
``evaluation_detection``. A detected shortfall is sanctioned by fines, paid into the pool in
instalments over a year, and by partners withdrawing trust; members weigh the expected
sanction (:func:`deterrence`) when they decide (docs/ODD.md, submodel 7.5 and **Sanctions**).

The rules are the pure functions of :mod:`sim.mechanisms.governance`; this module applies them
to the partnership's books. Trust is not written here: :func:`sanction` returns the members'
shortfalls and the model withdraws trust through the trust's owner.

Example:
    >>> from sim.scenario import Scenario
    >>> s = Scenario()
    >>> round(detection(s), 4), round(deterrence(s), 4)  # 1 - (1 - 0.04) * (1 - 0.6)
    (0.616, 0.616)
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import governance
from sim.mechanisms.partnership import Partnership
from sim.scenario import Scenario
from sim.scenario.schema import AccountabilitySection

__all__ = ["audit_drawn", "book", "detection", "deterrence", "sanction"]


def audit_drawn(step: int, a: AccountabilitySection, rng: np.random.Generator) -> bool:
    """Whether the partnership is audited at ``step`` (drawn with or without a partnership).

    Every ``audit_interval`` steps an audit happens with probability ``audit_probability``.
    The draw is made whether or not a partnership exists, so that two scenarios' audit streams
    stay aligned (common random numbers).
    """
    if step % a.audit_interval != 0:
        return False
    return bool(rng.random() < a.audit_probability)


def book(p: Partnership, resources: np.ndarray) -> tuple[float, float]:
    """Book the month's contributions: what each member owes and withholds, and the fines paid.

    Each member owes ``promised · resources`` and pays ``contribution`` of it; the difference
    joins its arrears until a check. One instalment of the fines due is paid this month.

    Returns:
        The contributions paid (summed over members) and the fines paid into the pool.
    """
    promised = p.promised * resources
    paid = p.contribution * promised
    p.owed += promised
    p.arrears += promised - paid
    fines = min(p.fines_due, p.fine_instalment)
    p.fines_due -= fines
    return float(paid.sum()), fines


def sanction(
    p: Partnership, detected: np.ndarray, a: AccountabilitySection, steps_per_year: int
) -> np.ndarray | None:
    """Sanction the ``detected`` members' shortfalls since the last check; start a new one.

    Fines (restitution when ``sanction_fine`` is 1) are paid into the pool over the next
    year, in equal monthly instalments. The check closes every member's books, or with
    ``detection_basis = 'carried'`` only the detected members' (a missed shortfall waits
    for the next check).

    Returns:
        Each member's shortfall on the books before the check, when partners withdraw trust
        from the detected members (``sanction_reputation`` > 0 and someone detected): the
        caller passes it to :func:`sim.mechanisms.governance.sanctioned_trust`. Else None.
    """
    p.fines_due += float(governance.fines(p.arrears, detected, a.sanction_fine).sum())
    p.fine_instalment = p.fines_due / steps_per_year
    short = None
    if a.sanction_reputation > 0 and detected.any():
        short = governance.shortfall(p.arrears, p.owed)
    closed = governance.cleared_on_check(detected, a.detection_basis)
    p.arrears[closed] = 0.0
    p.owed[closed] = 0.0
    return short


def detection(s: Scenario) -> float:
    """Probability that a unit a member withholds is sanctioned within a year (7.15)."""
    a = s.accountability
    return governance.member_detection_probability(
        a.audit_probability, a.evaluation_detection,
        s.factors.evaluation_interval, s.run.steps_per_year,
        audit_interval=a.audit_interval, basis=a.detection_basis,
    )  # fmt: skip


def deterrence(s: Scenario) -> float:
    """The expected sanction per unit withheld: detection × (fine + reputation), at most 1."""
    a = s.accountability
    return governance.expected_sanction(detection(s), a.sanction_fine, a.sanction_reputation)
