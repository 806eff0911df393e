"""How a partnership governs itself: detection, sanctions, accountability, learning, exit.

Detection and sanctions upward (audits, evaluations), accountability downward (households'
monitoring, village by village), evaluation and learning, voice and exit. Pure rules over
arrays; the model's phases 2, 3, 4, 7 and 8 apply them (docs/ODD.md, submodels 7.1, 7.5, 7.8,
7.9, 7.15 and 7.16).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DETECTION_BASES",
    "attendance",
    "beliefs",
    "checks_faced",
    "cleared_on_check",
    "community_voice",
    "detection_probability",
    "effort_after_learning",
    "exit_probability",
    "expected_sanction",
    "fines",
    "leakage_detection",
    "leaving_members",
    "mean_trust_in_others",
    "member_detection_probability",
    "repaired_trust",
    "sanctioned_trust",
    "shortfall",
    "village_monitoring",
    "visible_share",
]


def detection_probability(
    audit_probability: float,
    evaluation_detection: float,
    evaluation_interval: int,
    steps_per_year: int,
    *,
    audit_interval: int = 12,
) -> float:
    """Probability that a programme is audited, or a shortfall detected, within a year.

    ``P = 1 − (1 − a)^(spy / r) · (1 − e)^(spy / k)``: an audit round every ``r`` steps audits
    the programme with probability ``a`` (Olken's per-project probability) and an audit finds
    every shortfall; an evaluation every ``k`` steps detects a member's shortfall with
    probability ``e`` (none when ``k = 0``); rounds and evaluations detect independently. With
    ``r = 12`` and ``a = 1`` there is exactly one audit a year: the probability has no jump at 1.
    Leakage uses it with ``e = 0`` (a programme audited within the year, 7.1); members' belief
    about their own shortfalls counts the checks a unit withheld actually meets
    (:func:`member_detection_probability`), which is this compounding form only when missed
    shortfalls are carried and both intervals divide the year.

    Example:
        >>> detection_probability(0.0, 0.5, 6, 12)
        0.75
        >>> detection_probability(1.0, 0.0, 0, 12)
        1.0
    """
    audits = 1.0 - (1.0 - audit_probability) ** (steps_per_year / audit_interval)
    evaluations_per_year = steps_per_year / evaluation_interval if evaluation_interval > 0 else 0.0
    evaluation = 1.0 - (1.0 - evaluation_detection) ** evaluations_per_year
    return 1.0 - (1.0 - audits) * (1.0 - evaluation)


DETECTION_BASES = ("per_unit", "carried")
"""What a check does to the shortfalls it misses (the lever ``accountability.detection_basis``):
``per_unit``: every check closes the books, found or not, so each unit withheld is examined
once, by the next check; ``carried``: a shortfall a check misses stays on the books until a
check finds it."""

_MAX_PERIOD = 1_000_000
"""Longest cycle of checks enumerated month by month (beyond it: its first months only)."""


@functools.lru_cache(maxsize=256)
def checks_faced(
    evaluation_interval: int, audit_interval: int, steps_per_year: int, basis: str
) -> tuple[tuple[int, int, int], ...]:
    """The checks that can catch a unit withheld, within a year, month by month of a cycle.

    Evaluations fall at the multiples of ``k`` (none when ``k = 0``), audit rounds at the
    multiples of ``r``; a unit withheld during month ``j`` (before that month's checks) can be
    caught by the checks at months ``j .. j − 1 + H`` (``H = steps_per_year``: within a year).
    With ``basis = 'carried'`` it faces all of them (a missed shortfall stays on the books);
    with ``'per_unit'`` the next evaluation, at ``⌈j/k⌉·k``, closes the books whether it finds
    the unit or not, so it faces the audit rounds up to and including that month and, if that
    month is within the year, that one evaluation. An audit round that audits finds every
    shortfall on the books, and one that does not audit leaves them there, in both forms. The
    pattern repeats every ``lcm(k, r)`` months (``r`` when ``k = 0``); cycles longer than a
    million months are cut there.

    Returns:
        ``(audit rounds, evaluations, months)`` for each distinct pair, the months of one cycle
        in which a unit withheld faces that many of each (the months sum to the cycle's length).

    Example:
        >>> checks_faced(12, 12, 12, "per_unit")  # the shipped yearly checks: one of each
        ((1, 1, 12),)
        >>> checks_faced(1, 12, 12, "per_unit")  # monthly evaluation: audits rarely come first
        ((0, 1, 11), (1, 1, 1))
        >>> checks_faced(1, 12, 12, "carried")  # a missed shortfall meets twelve evaluations
        ((1, 12, 12),)
    """
    if basis not in DETECTION_BASES:
        raise ValueError(f"basis {basis!r}: must be one of {', '.join(DETECTION_BASES)}")
    k, r, h = evaluation_interval, audit_interval, steps_per_year
    period = min(math.lcm(k, r) if k > 0 else r, _MAX_PERIOD)
    j = np.arange(1, period + 1)
    end = j - 1 + h  # the last month within a year of withholding
    if k > 0 and basis == "per_unit":
        end = np.minimum(-(-j // k) * k, end)  # the next evaluation closes the books
    rounds = end // r - (j - 1) // r  # multiples of r in [j, end]
    evaluations = end // k - (j - 1) // k if k > 0 else np.zeros_like(j)
    pairs, months = np.unique(np.stack([rounds, evaluations]), axis=1, return_counts=True)
    return tuple((int(n), int(c), int(m)) for (n, c), m in zip(pairs.T, months, strict=True))


def member_detection_probability(
    audit_probability: float,
    evaluation_detection: float,
    evaluation_interval: int,
    steps_per_year: int,
    *,
    audit_interval: int = 12,
    basis: str = "per_unit",
) -> float:
    """Probability that a unit a member withholds is sanctioned within a year (audits, evaluations).

    Derivation. A unit withheld in month ``j`` meets ``n_j`` audit rounds and ``c_j``
    evaluations before its books close (:func:`checks_faced`); each round audits with
    probability ``a`` and an audit finds everything on the books; each evaluation finds a
    member's shortfall with probability ``e``; all draws are independent. So it escapes with
    probability ``(1 − a)^n_j · (1 − e)^c_j``, and the probability per unit withheld is the
    mean over the months of a cycle (Becker 1968: deterrence turns on the probability that an
    offence is punished; Olken 2007: the audit probability is per project, each project's
    accounts examined once)::

        P = Σ_(n, c) (m_(n,c) / L) · [1 − (1 − a)^n · (1 − e)^c]

    ``per_unit`` (each unit examined once, by the next check; the sanction rule closes the books
    at every check): for ``k ≤ 12`` and ``r`` dividing ``k`` this is
    ``1 − (1 − e) · mean_i (1 − a)^(n_i)`` with ``n_i = ⌊(k − i)/r⌋ + 1`` for the ``i``-th month
    of the evaluation cycle, so monthly evaluation gives ``e`` per unit (plus ``a(1 − e)/12``
    for the month the yearly audit round closes). ``carried`` (a missed shortfall stays on the
    books): ``n_j = 12/r`` and ``c_j = 12/k`` when both divide 12, the compounding
    ``1 − (1 − a)^(12/r) · (1 − e)^(12/k)`` of :func:`detection_probability`. At yearly
    evaluations and audit rounds both forms give ``1 − (1 − a)(1 − e)`` (bit for bit: one
    group, weight 1). Within a month the audit round comes before contributions and the
    evaluation after; the belief counts months, not phases (so with monthly evaluation the
    rules catch ``e`` exactly, not ``e + a(1 − e)/12``).

    Example:
        >>> member_detection_probability(0.0, 0.6, 1, 12)  # monthly evaluation, per unit: e
        0.6
        >>> round(member_detection_probability(0.0, 0.6, 1, 12, basis="carried"), 6)
        0.999983
        >>> yearly = member_detection_probability(0.04, 0.6, 12, 12, basis="carried")
        >>> yearly == member_detection_probability(0.04, 0.6, 12, 12) == 1 - 0.96 * 0.4
        True
    """
    total = 0.0
    faced = checks_faced(evaluation_interval, audit_interval, steps_per_year, basis)
    period = sum(months for _, _, months in faced)
    for rounds, evaluations, months in faced:
        audits = 1.0 - (1.0 - audit_probability) ** float(rounds)
        evaluation = 1.0 - (1.0 - evaluation_detection) ** float(evaluations)
        total += months / period * (1.0 - (1.0 - audits) * (1.0 - evaluation))
    return total


def cleared_on_check(detected: np.ndarray, basis: str) -> np.ndarray:
    """Members whose arrears a check closes: every member (``per_unit``) or the detected only.

    With ``'carried'`` a shortfall the check missed stays on the books (arrears and what was
    owed since the member's last detection) until a later check finds it; an audit detects
    every member, so it closes every member's books in both forms.

    Example:
        >>> cleared_on_check(np.array([True, False]), "per_unit").tolist()
        [True, True]
        >>> cleared_on_check(np.array([True, False]), "carried").tolist()
        [True, False]
    """
    if basis not in DETECTION_BASES:
        raise ValueError(f"basis {basis!r}: must be one of {', '.join(DETECTION_BASES)}")
    return np.ones_like(detected, dtype=bool) if basis == "per_unit" else detected.astype(bool)


def expected_sanction(detection: float, fine: float, reputation: float) -> float:
    """Deterrence: the share of the gain from withholding that the expected sanction takes away.

    ``D = min(1, P · (f + s))``: withholding a unit of a promised contribution gains the unit;
    it is detected within the year with probability ``P`` and then costs a fine of ``f`` units
    (``f = 1``: restitution) and the reputation ``s`` (the share of its partners' trust a
    member loses per unit of shortfall, valued one for one). Deterrence is the expected
    sanction per unit withheld, capped where withholding no longer pays (Becker 1968, JPE
    76:169: offences respond to the probability of conviction and the punishment; Fehr &
    Gächter 2000, AER 90:980: punishment sustains contributions; Ostrom 1990, table 3.1,
    design principles 4-5: monitoring and graduated sanctions).

    Example:
        >>> expected_sanction(0.5, 1.0, 0.5)
        0.75
        >>> expected_sanction(0.8, 1.0, 0.5)
        1.0
    """
    return min(1.0, detection * (fine + reputation))


def shortfall(arrears: np.ndarray, owed: np.ndarray) -> np.ndarray:
    """Each member's shortfall since the last check: what it withheld over what it promised.

    ``σ_j = arrears_j / owed_j`` (0 where nothing was owed).

    Example:
        >>> shortfall(np.array([1.0, 0.0]), np.array([4.0, 0.0])).tolist()
        [0.25, 0.0]
    """
    return np.divide(arrears, owed, out=np.zeros_like(arrears, dtype=float), where=owed > 0)


def fines(arrears: np.ndarray, detected: np.ndarray, fine: float) -> np.ndarray:
    """Material sanction: each detected member pays ``f`` times what it withheld.

    ``F_j = f · arrears_j · detected_j``; the fines go to the partnership's pool in the next
    step (restitution when ``f = 1``).

    Example:
        >>> fines(np.array([2.0, 3.0]), np.array([True, False]), 1.5).tolist()
        [3.0, 0.0]
    """
    return fine * arrears * detected


def sanctioned_trust(
    trust: np.ndarray, shortfall: np.ndarray, detected: np.ndarray, reputation: float
) -> np.ndarray:
    """Reputational sanction: partners withdraw trust from a member caught falling short.

    ``T'[i, j] = T[i, j] · (1 − s · max(0, σ_j − σ̄))`` for every detected member ``j``, with
    ``σ_j`` its shortfall and ``σ̄`` the members' mean shortfall (the group standard):
    free riders are punished the more, the further they fall below the group's standard
    (Fehr & Gächter 2000, AER 90:980), by the other users, graduated by the seriousness of
    the offence (Ostrom 1990, *Governing the Commons*, table 3.1, design principle 5).
    Undetected members, members at or above the standard and the diagonal keep their trust.

    Example:
        >>> sanctioned_trust(np.array([[1.0, 0.8], [0.6, 1.0]]), np.array([0.0, 0.5]),
        ...                  np.array([False, True]), 0.5)
        array([[1. , 0.7],
               [0.6, 1. ]])
    """
    below = np.maximum(shortfall - shortfall.mean(), 0.0)
    keep = 1.0 - reputation * np.where(detected, below, 0.0)
    out = trust * keep[None, :]
    np.fill_diagonal(out, 1.0)
    return out


def visible_share(labour_share: float, disclosure: float) -> float:
    """The share of a programme's spending households can check themselves.

    ``v = w + δ (1 − w)``: villagers see the wages they are paid (share ``w``) but not what
    materials cost unless the programme discloses them (share ``δ`` of the rest). Olken (2007,
    JPE 115:200) found that grassroots monitoring cut missing wages only, with no effect on
    missing materials, which are three quarters of spending; publishing the grants sent to
    schools let parents monitor them, and capture fell from 80% in 1995 to under 20% in 2001
    (Reinikka & Svensson 2005, JEEA 3:259).

    Example:
        >>> visible_share(0.25, 0.0), visible_share(0.25, 1.0)
        (0.25, 1.0)
    """
    return labour_share + disclosure * (1.0 - labour_share)


def attendance(participation: np.ndarray, social_audit: float) -> np.ndarray:
    """The share of a village's households that take part in monitoring the programmes.

    ``a_v = π_v + α (1 − π_v)``: ``π_v`` take part of their own accord (the village's mean
    empowerment × voice: in the status quo, accountability meetings drew mostly the elite),
    and social audits (invitations to accountability meetings) bring in a share ``α`` of the
    others (Olken 2007, JPE 115:200: invitations sent to hundreds of villagers).

    Example:
        >>> attendance(np.array([0.0, 0.5]), 0.5).tolist()
        [0.5, 0.75]
    """
    return participation + social_audit * (1.0 - participation)


def village_monitoring(
    attending: np.ndarray, village_size: np.ndarray, half_size: float
) -> np.ndarray:
    """Grassroots monitoring in each village, diluted by free-riding in larger villages.

    ``g_v = a_v / (1 + n_v / s½)`` with ``a_v`` the share taking part (:func:`attendance`),
    ``n_v`` the village's households and ``s½`` the size at which free-riding halves
    monitoring: every villager gains from a watched programme but bears the cost of watching
    alone, so the larger the group the less each watches (Olson 1965; Olken 2007 found
    grassroots monitoring weak and suggested free-riding as the reason).

    Example:
        >>> village_monitoring(np.array([0.5, 0.5]), np.array([25.0, 75.0]), 25.0)
        array([0.25 , 0.125])
    """
    return attending * (half_size / (half_size + village_size))  # no overflow for tiny s½


def leakage_detection(audit_detection: float, visible: float, monitoring: np.ndarray) -> np.ndarray:
    """Accountability: the probability per year that a unit of leakage is detected, by village.

    ``A_v = 1 − (1 − P_audit)(1 − v · g_v)``: upward by an audit within the year, or downward
    by villagers who watch (``g_v``) what they can see (``v``).

    Example:
        >>> leakage_detection(0.5, 0.5, np.array([0.0, 1.0])).tolist()
        [0.5, 0.75]
    """
    return 1.0 - (1.0 - audit_detection) * (1.0 - visible * monitoring)


def community_voice(weights: np.ndarray, members: Sequence[str], community: str) -> float:
    """The community's decision weight relative to an equal share, capped at 1 (0: no seat).

    Example:
        >>> community_voice(np.array([0.5, 0.25, 0.25]), ["g", "f", "community"], "community")
        0.75
    """
    if community not in members:
        return 0.0
    return min(1.0, float(weights[list(members).index(community)]) * len(members))


def mean_trust_in_others(trust: np.ndarray) -> np.ndarray:
    """Each member's mean trust in the others (the diagonal holds exact ones).

    Example:
        >>> mean_trust_in_others(np.array([[1, 0.5, 0.5], [0.25, 1, 0.75], [1, 1, 1]])).tolist()
        [0.5, 0.5, 1.0]
    """
    m = trust.shape[0]
    return (trust.sum(axis=1) - 1.0) / max(1, m - 1)


def beliefs(seen: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Each member's belief about the others' contributions: the mean of what it saw of them.

    ``seen[i, j]`` is what member ``i`` makes of member ``j``'s fulfilment of its promise; a
    member alone keeps its previous belief.

    Example:
        >>> beliefs(np.array([[1.0, 0.4], [0.8, 1.0]]), np.zeros(2)).tolist()
        [0.4, 0.8]
    """
    size = seen.shape[0]
    others = ~np.eye(size, dtype=bool)
    counts = others.sum(axis=1)
    return np.where(counts > 0, (seen * others).sum(axis=1) / np.maximum(counts, 1), previous)


def effort_after_learning(
    effort: np.ndarray, gained: np.ndarray, spent: np.ndarray, learning_rate: float
) -> np.ndarray:
    """Evaluation shifts effort toward the services that delivered most per unit spent.

    ``effort' = (1 - λ) effort + λ r / mean(r)`` with ``r = gained / spent`` per service
    (0 where nothing was spent); unchanged when nothing was gained (Argyris & Schön 1978,
    single-loop learning).

    Example:
        >>> effort_after_learning(np.ones(2), np.array([3.0, 1.0]), np.ones(2), 0.5).tolist()
        [1.25, 0.75]
    """
    returns = np.divide(gained, spent, out=np.zeros_like(gained), where=spent > 0)
    if not returns.sum() > 0:  # nothing gained (or nothing known): no lesson
        return effort
    learned = returns / returns.mean()
    return (1.0 - learning_rate) * effort + learning_rate * learned


def repaired_trust(trust: np.ndarray, contribution: np.ndarray, repair_rate: float) -> np.ndarray:
    """Evaluation repairs the part of a trust gap that the evidence explains.

    ``T'[i, j] = T[i, j] + ρ max(c_j − T[i, j], 0)``: where member ``j`` did better than ``i``
    trusted it to, ``i`` learns so; the diagonal stays 1.

    Example:
        >>> repaired_trust(np.array([[1.0, 0.2], [0.9, 1.0]]), np.array([1.0, 0.6]), 0.5)
        array([[1.  , 0.4 ],
               [0.95, 1.  ]])
    """
    gap = contribution[None, :] - trust
    repaired = trust + repair_rate * np.maximum(gap, 0.0)
    np.fill_diagonal(repaired, 1.0)
    return repaired


def exit_probability(
    trust_in_others: np.ndarray, threshold: float, spread: float, patience: float
) -> np.ndarray:
    """Each member's probability of leaving this step because it distrusts its partners.

    ``h_i = σ((θ − T̄_i) / s) / P`` with ``σ`` the logistic function, ``θ`` the exit threshold
    (the median member's tolerance), ``s`` the spread of tolerances and ``P`` the patience in
    steps. Members differ in how much distrust they tolerate and in when they act on it: a
    random-utility (logit) choice to exit (McFadden 1974) whose threshold is logistic across
    members with location ``θ`` and scale ``s``; loyalty delays exit (Hirschman 1970, *Exit,
    Voice, and Loyalty*), so a member far below its tolerance leaves at rate ``1/P`` (after
    ``P`` steps on average). ``s = 0`` is the deterministic threshold: ``h_i = 1/P`` below
    ``θ``, 0 at or above it.

    Args:
        trust_in_others: (m,) each member's mean trust in the others, in [0, 1].
        threshold: ``θ`` in [0, 1].
        spread: ``s`` >= 0.
        patience: ``P`` >= 1.

    Returns:
        (m,) probabilities in [0, 1/P].

    Example:
        >>> exit_probability(np.array([0.3, 0.0, 1.0]), 0.3, 0.05, 10).round(4).tolist()
        [0.05, 0.0998, 0.0]
        >>> exit_probability(np.array([0.29, 0.3]), 0.3, 0.0, 4).tolist()
        [0.25, 0.0]
    """
    trust_in_others = np.asarray(trust_in_others, dtype=float)
    if spread <= 0:
        return np.where(trust_in_others < threshold, 1.0 / patience, 0.0)
    with np.errstate(over="ignore"):  # a subnormal spread overflows to ±inf: clipped below
        z = np.clip((threshold - trust_in_others) / spread, -500.0, 500.0)
    return 1.0 / (1.0 + np.exp(-z)) / patience


def leaving_members(
    members: Sequence[str],
    distrust_exit: np.ndarray,
    loss_steps: np.ndarray,
    patience: int,
) -> list[str]:
    """Members who leave: those whose distrust made them exit, or who lost ``patience`` steps.

    ``distrust_exit`` says which members drew an exit for distrust this step (see
    :func:`exit_probability`); ``loss_steps`` counts consecutive steps of negative net benefit.

    Example:
        >>> leaving_members(["a", "b", "c"], np.array([True, False, False]),
        ...                 np.array([0, 1, 3]), 3)
        ['a', 'c']
    """
    return [
        node
        for node, leaves, loss in zip(members, distrust_exit, loss_steps, strict=True)
        if leaves or loss >= patience
    ]
