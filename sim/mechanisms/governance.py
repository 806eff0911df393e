"""How a partnership governs itself: detection, evaluation and learning, voice and exit.

Pure rules over arrays; the model's phases 2, 3, 7 and 8 apply them (docs/ODD.md, submodels
7.2, 7.5, 7.7 and 7.8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "beliefs",
    "community_voice",
    "detection_probability",
    "effort_after_learning",
    "exit_probability",
    "leaving_members",
    "mean_trust_in_others",
    "per_step_probability",
    "repaired_trust",
]


def per_step_probability(annual: float, steps_per_year: int) -> float:
    """The per-step probability of an event with probability ``annual`` within a year.

    ``1 - (1 - p_year) ** (1 / steps_per_year)``: independent steps give the annual figure.

    Example:
        >>> round(per_step_probability(1 - 0.5**12, 12), 12)
        0.5
    """
    return 1.0 - (1.0 - annual) ** (1.0 / steps_per_year)


def detection_probability(
    audit_probability: float,
    evaluation_detection: float,
    evaluation_interval: int,
    steps_per_year: int,
) -> float:
    """Probability that shirking is detected within a year, by an audit or an evaluation.

    ``A = 1 - (1 - a)(1 - (1 - e) ** (spy / k))`` with audit probability ``a``, an evaluation's
    detection probability ``e`` and ``spy / k`` evaluations a year (none when ``k = 0``);
    audits and evaluations detect independently (Olken 2007 on audits).

    Example:
        >>> detection_probability(0.0, 0.5, 6, 12)
        0.75
    """
    evaluations_per_year = steps_per_year / evaluation_interval if evaluation_interval > 0 else 0.0
    evaluation = 1.0 - (1.0 - evaluation_detection) ** evaluations_per_year
    return 1.0 - (1.0 - audit_probability) * (1.0 - evaluation)


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
