"""Power indices for the parties of a partnership.

``decision_weights`` turns authority, resources and legitimacy into the members' weights in
joint decisions; ``power_balance`` summarises how evenly influence is spread; ``shapley_shubik`` and
``banzhaf`` measure a priori voting power in a weighted voting game ``[q; w_1, ..., w_m]``, in
which a coalition ``S`` wins when its weight ``w(S) = Σ_{j∈S} w_j`` reaches the quota ``q``.

Both voting-power indices enumerate all ``2^m`` coalitions with vectorised numpy operations, so
they are exact for any real weights but limited to ``m <= 20`` players (2^20 ≈ 10^6
coalitions). A coalition counts as winning when ``w(S) >= q − 1e-9·Σw``: the slack absorbs
floating-point error in summed shares (``0.7 + 0.1 < 0.8`` in binary floating point) and is far
below any meaningful difference in weights.
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "banzhaf",
    "decision_weights",
    "power_balance",
    "power_ratio",
    "shapley_shubik",
]

MAX_PLAYERS = 20
"""Largest game :func:`shapley_shubik` and :func:`banzhaf` enumerate (2^20 coalitions)."""

_QUOTA_RTOL = 1e-9
"""Relative (to total weight) slack in the winning test ``w(S) >= q``."""


def _weights(weights: ArrayLike) -> np.ndarray:
    """Validate a 1-D, non-empty array of finite, non-negative weights and return it as float.

    Args:
        weights: candidate weights.

    Returns:
        The weights as a 1-D float64 array.

    Raises:
        ValueError: if ``weights`` is not 1-D, is empty, or holds a negative or non-finite
            value.

    Example:
        >>> _weights([2, 1])
        array([2., 1.])
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1:
        raise ValueError(f"weights must be a 1-D array; got shape {w.shape}")
    if w.size == 0:
        raise ValueError("weights must hold at least one party; got an empty array")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"weights must be finite and non-negative; got {w[i]} at index {i}")
    return w


def power_balance(weights: ArrayLike) -> float:
    """Balance of power: normalised Shannon entropy of the parties' weight shares.

    ``B = H(p) / ln m`` with shares ``p_i = w_i / Σ w`` and ``H(p) = −Σ_i p_i ln p_i``
    (Shannon 1948, Bell Syst. Tech. J. 27:379; normalised as Pielou's evenness, Pielou 1966,
    J. Theor. Biol. 13:131). ``B = 1`` when all parties hold equal weight and ``B = 0`` when one
    party holds all of it. Zero weights count as parties and contribute ``0·ln 0 = 0``. A single
    party (``m == 1``) is defined as perfectly balanced, ``B = 1``.

    Args:
        weights: 1-D array of ``m >= 1`` non-negative weights, not all zero.

    Returns:
        The balance ``B`` in [0, 1].

    Raises:
        ValueError: if ``weights`` is empty, not 1-D, has a negative or non-finite entry, or
            is all zero.

    Example:
        >>> power_balance([1, 1, 1])
        1.0
        >>> power_balance([1, 0, 0])
        0.0
    """
    w = _weights(weights)
    total = float(w.sum())
    if total <= 0:
        raise ValueError("weights must not all be zero; give at least one party a positive weight")
    m = w.size
    if m == 1 or w.min() == w.max():
        return 1.0
    p = w[w > 0] / total
    h = float(np.sum(p * np.log(1.0 / p)))
    return float(min(max(h / np.log(m), 0.0), 1.0))


def power_ratio(weights: ArrayLike) -> float:
    """Balance of power as the weakest party's say relative to the strongest's.

    ``R = min_i w_i / max_i w_i``: 1 when all parties hold equal weight, 0 when one party has
    no say. Power-dependence theory calls a relation balanced when the parties' power over each
    other is equal and measures imbalance by comparing the two (Emerson 1962, ASR 27:31;
    Casciaro & Piskorski 2005, ASQ 50:167). Unlike the entropy of :func:`power_balance`, which
    stays above 0.9 for every partnership the model forms (a few members of similar weight and
    one weaker or stronger one move it little), ``R`` spans most of [0, 1] over the
    ``factors.power_balance`` lever: it is the model's ``power_balance`` output.

    Args:
        weights: 1-D array of ``m >= 1`` non-negative weights, not all zero.

    Returns:
        ``R`` in [0, 1] (1 for a single party).

    Example:
        >>> power_ratio([0.5, 0.25, 0.25])
        0.5
        >>> power_ratio([1, 1])
        1.0
    """
    w = _weights(weights)
    top = float(w.max())
    if top <= 0:
        raise ValueError("weights must not all be zero; give at least one party a positive weight")
    return float(w.min()) / top


def _swings(weights: ArrayLike, quota: float) -> np.ndarray:
    """Swing counts of each player by coalition size, for the game ``[quota; weights]``.

    Coalitions are bit masks over ``m`` players (bit ``j`` set when player ``j`` is in). The
    weight and size of every coalition are built by doubling: adding player ``j`` maps the
    first ``2^j`` masks onto the next ``2^j``. Player ``i`` swings for ``S ⊆ N ∖ {i}`` when
    ``S`` loses and ``S ∪ {i}`` wins, i.e. ``w(S) < q <= w(S) + w_i`` (Banzhaf 1965, Rutgers
    Law Rev. 19:317).

    Args:
        weights: 1-D array of ``1 <= m <= 20`` finite, non-negative weights.
        quota: winning threshold, ``0 < quota <= Σ w``.

    Returns:
        (m, m) integer array; ``counts[i, s]`` is the number of coalitions ``S`` of size ``s``
        (``s = 0..m−1``) for which player ``i`` swings.

    Raises:
        ValueError: if the weights or quota are invalid or ``m > 20``.

    Example:
        >>> _swings([2, 1, 1], 3)
        array([[0, 2, 1],
               [0, 1, 0],
               [0, 1, 0]])
    """
    w = _weights(weights)
    m = w.size
    if m > MAX_PLAYERS:
        raise ValueError(
            f"power indices enumerate all 2^m coalitions and support at most {MAX_PLAYERS} "
            f"players; got m={m}. Merge minor parties into blocs (or drop zero-weight dummies) "
            "before calling"
        )
    total = float(w.sum())
    qf = float(quota)
    if not np.isfinite(qf) or not (0.0 < qf <= total):
        raise ValueError(f"quota must satisfy 0 < quota <= sum(weights) = {total}; got {quota}")
    sums = np.zeros(1)
    sizes = np.zeros(1, dtype=np.int8)
    for wj in w:
        sums = np.concatenate([sums, sums + wj])
        sizes = np.concatenate([sizes, sizes + 1])
    wins = sums >= qf - _QUOTA_RTOL * total
    wins[0] = False  # the empty coalition never reaches a positive quota
    counts = np.zeros((m, m), dtype=np.int64)
    for i in range(m):
        # axis 1 of the reshape is bit i: [:, 0, :] is S without i, [:, 1, :] is S with i
        win = wins.reshape(-1, 2, 2**i)
        size = sizes.reshape(-1, 2, 2**i)[:, 0, :]
        swing = win[:, 1, :] & ~win[:, 0, :]
        counts[i] = np.bincount(size[swing], minlength=m)[:m]
    return counts


def shapley_shubik(weights: ArrayLike, quota: float) -> np.ndarray:
    """Shapley-Shubik power index of each player in the weighted voting game ``[quota; w]``.

    The share of the ``m!`` orderings of the players in which player ``i`` is pivotal (turns
    the coalition of its predecessors from losing to winning):
    ``φ_i = Σ_{S ⊆ N∖{i}: w(S) < q <= w(S)+w_i} |S|!(m−|S|−1)!/m!``
    (Shapley & Shubik 1954, APSR 48:787). Computed exactly by enumerating all ``2^m``
    coalitions (see the module docstring for the ``m <= 20`` limit and the 1e-9 quota slack);
    the sum over sizes is done in exact rational arithmetic before the final rounding to float.

    Args:
        weights: 1-D array of ``1 <= m <= 20`` finite, non-negative weights.
        quota: winning threshold, ``0 < quota <= Σ w``.

    Returns:
        Length-``m`` float array of indices in [0, 1] summing to 1.

    Raises:
        ValueError: if a weight is negative or non-finite, the quota is outside
            ``(0, Σ w]``, or ``m > 20``.

    Example:
        >>> shapley_shubik([50, 49, 1], 51).tolist() == [2 / 3, 1 / 6, 1 / 6]
        True
    """
    counts = _swings(weights, quota)
    m = counts.shape[0]
    m_fact = factorial(m)
    coef = [Fraction(factorial(s) * factorial(m - s - 1), m_fact) for s in range(m)]
    phi = [sum((int(c) * f for c, f in zip(row, coef, strict=True)), Fraction(0)) for row in counts]
    return np.array([float(v) for v in phi])


def banzhaf(weights: ArrayLike, quota: float) -> np.ndarray:
    """Normalised Banzhaf power index of each player in the weighted voting game ``[quota; w]``.

    ``β_i = η_i / Σ_j η_j`` with swing counts ``η_i = #{S ⊆ N∖{i}: w(S) < q <= w(S) + w_i}``
    (Banzhaf 1965, Rutgers Law Rev. 19:317). Computed exactly by enumerating all ``2^m``
    coalitions (see the module docstring for the ``m <= 20`` limit and the 1e-9 quota slack).
    A valid quota always gives at least one swing (the empty coalition loses and the grand
    coalition wins); should none be found, zeros are returned.

    Args:
        weights: 1-D array of ``1 <= m <= 20`` finite, non-negative weights.
        quota: winning threshold, ``0 < quota <= Σ w``.

    Returns:
        Length-``m`` float array of indices in [0, 1] summing to 1.

    Raises:
        ValueError: if a weight is negative or non-finite, the quota is outside
            ``(0, Σ w]``, or ``m > 20``.

    Example:
        >>> banzhaf([50, 49, 1], 51)
        array([0.6, 0.2, 0.2])
    """
    counts = _swings(weights, quota)
    eta = counts.sum(axis=1)
    total = int(eta.sum())
    if total == 0:
        return np.zeros(eta.size)
    return eta / total


def decision_weights(
    authority: ArrayLike,
    contributed: ArrayLike,
    legitimacy: ArrayLike,
    mix: tuple[float, float, float],
    balance: float,
) -> np.ndarray:
    """Decision weights of a partnership's members: raw power, flattened by its rules.

    Raw power mixes three sources, each normalized to shares: formal authority, resources
    contributed and legitimacy, ``p_i = α_a a_i/Σa + α_r r_i/Σr + α_l l_i/Σl`` (French & Raven
    1959; resource dependence, Pfeffer & Salancik 1978; legitimacy, Purdy 2012, PAR 72:409). The
    partnership's rules (equal seats, consensus) pull the weights toward equality by
    ``balance``: ``w = (1 − β)·p/Σp + β/m``.

    Args:
        authority: (m,) formal authority, non-negative.
        contributed: (m,) resources contributed, non-negative.
        legitimacy: (m,) legitimacy in the community's eyes, non-negative.
        mix: the weights ``(α_a, α_r, α_l)`` of the three sources.
        balance: ``β`` in [0, 1], the essay's balance of power.

    Returns:
        (m,) weights summing to 1.

    Example:
        >>> decision_weights([1.0, 0.0], [1.0, 1.0], [0.0, 1.0], (0.5, 0.25, 0.25), 0.0)
        array([0.625, 0.375])
        >>> decision_weights([1.0, 0.0], [1.0, 1.0], [0.0, 1.0], (0.5, 0.25, 0.25), 1.0)
        array([0.5, 0.5])
    """
    sources = [np.asarray(a, dtype=float) for a in (authority, contributed, legitimacy)]
    m = sources[0].size
    raw = np.zeros(m)
    for alpha, values in zip(mix, sources, strict=True):
        total = values.sum()
        raw += alpha * (values / total if total > 0 else np.full(m, 1.0 / m))
    total = raw.sum()
    raw = raw / total if total > 0 else np.full(m, 1.0 / m)
    return (1.0 - balance) * raw + balance / m
