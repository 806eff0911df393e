"""Welfare and inequality metrics for community outcomes.

Small pure functions over numpy arrays: inequality (Gini, Atkinson, the poorest share's part of
the total), inequality-adjusted welfare (Sen), income poverty (the headcount below a line) and
a quintile selector for distributional breakdowns. None of them touches a model or a random
generator. Multidimensional poverty (Alkire-Foster) is in
:mod:`sim.mechanisms.multidimensional_poverty`; its functions are re-exported here, so
``metrics.alkire_foster`` keeps working.

Notation: ``x`` is a 1-D array of ``n`` non-negative outcomes (income, consumption, welfare
score); ``x_(i)`` is the ``i``-th smallest value, ``i = 1..n``.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike

from sim.mechanisms.multidimensional_poverty import (
    alkire_foster,
    alkire_foster_of_counts,
    scores_of_counts,
)

__all__ = [
    "alkire_foster",
    "alkire_foster_of_counts",
    "atkinson",
    "atkinson_of_valid",
    "bottom_share",
    "bottom_share_of_sorted",
    "gini",
    "gini_of_sorted",
    "headcount_ratio",
    "headcount_ratio_of_sorted",
    "quintile_mask",
    "scores_of_counts",
    "sen_index",
]


def _outcomes(x: ArrayLike, name: str = "x") -> np.ndarray:
    """Validate a 1-D, non-empty, finite, non-negative array of outcomes and return it as float.

    Args:
        x: candidate outcomes.
        name: argument name used in error messages.

    Returns:
        The values as a 1-D float64 array.

    Raises:
        ValueError: if ``x`` is not 1-D, is empty, or holds a non-finite or negative value.

    Example:
        >>> _outcomes([1, 2])
        array([1., 2.])
    """
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value; got an empty array")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite; got {a[i]} at index {i}")
    neg = a < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"{name} must be non-negative; got {a[i]} at index {i}")
    return a


def gini(x: ArrayLike) -> float:
    """Gini coefficient of non-negative values.

    The mean absolute difference over twice the mean, ``G = Σ_i Σ_j |x_i − x_j| / (2 n² x̄)``
    (Gini 1912, *Variabilità e mutabilità*), computed in O(n log n) from the sorted values as
    ``G = 2 Σ_i i·x_(i) / (n Σ x) − (n + 1)/n``, evaluated in the algebraically equal form
    ``G = Σ_i (2i − n − 1)·x_(i) / (n Σ x)`` to avoid cancellation (Sen 1973, *On Economic
    Inequality*, eq. 2.8). ``0 <= G <= 1 − 1/n``; the upper bound is reached when one member
    holds everything.

    Returns exactly 0.0 when all values are equal (including all zero, and ``n == 1``).

    Args:
        x: 1-D array of ``n >= 1`` finite, non-negative values.

    Returns:
        The Gini coefficient.

    Raises:
        ValueError: if ``x`` is empty, not 1-D, or holds a negative or non-finite value.

    Example:
        >>> gini([1, 1, 1])
        0.0
        >>> gini([1, 2, 3, 4])
        0.25
    """
    return gini_of_sorted(np.sort(_outcomes(x)))


_gini = gini


def gini_of_sorted(s: np.ndarray, *, total: float | None = None) -> float:
    """The Gini coefficient of values already sorted ascending (see :func:`gini`).

    The formula of :func:`gini` without its sort, for callers that sort into a reused buffer.
    ``s`` must be a sorted 1-D float array of finite, non-negative values: only its ends are
    checked (a sort puts NaN last and the smallest value first). ``total``, the sum of the
    values if the caller already has it (e.g. ``n`` times the mean), spares a pass; it may
    differ from ``s.sum()`` in the last bits (a different order of addition).

    Raises:
        ValueError: if the smallest value is negative or the largest is not finite.

    Example:
        >>> gini_of_sorted(np.array([1.0, 2.0, 3.0, 4.0]))
        0.25
        >>> gini_of_sorted(np.array([1.0, 2.0, 3.0, 4.0]), total=10.0)
        0.25
    """
    lo, hi = s[0], s[-1]
    if not (lo >= 0.0 and np.isfinite(hi)):
        raise ValueError(f"values must be finite and non-negative; got {lo} .. {hi}")
    if lo == hi:
        return 0.0
    n = s.size
    # numpy's own pairwise sum, not ``np.dot``: OpenBLAS splits a long dot product across its
    # threads, which made the last bits depend on the machine's thread count.
    if total is None:
        total = s.sum()
    g = float(np.multiply(_rank_weights(n), s).sum() / (n * total))
    return min(max(g, 0.0), 1.0 - 1.0 / n)


def headcount_ratio(x: ArrayLike, line: float = 1.0) -> float:
    """The share of members strictly below a poverty line: ``H = #{i : x_i < z} / n``.

    The headcount ratio of Foster, Greer & Thorbecke (1984, Econometrica 52:761), FGT(0): the
    measure BPS-Statistics Indonesia publishes as the percentage of poor people (here the
    members are households and ``x`` is income in multiples of the line, so ``z = 1``).

    Args:
        x: 1-D array of ``n >= 1`` finite, non-negative values.
        line: the poverty line ``z`` in the units of ``x``.

    Example:
        >>> headcount_ratio([0.5, 0.99, 1.0, 3.0])
        0.5
    """
    return headcount_ratio_of_sorted(np.sort(_outcomes(x)), line)


def headcount_ratio_of_sorted(s: np.ndarray, line: float = 1.0) -> float:
    """:func:`headcount_ratio` of values already sorted ascending (one binary search).

    Example:
        >>> headcount_ratio_of_sorted(np.array([0.5, 0.99, 1.0, 3.0]), 1.0)
        0.5
    """
    return float(np.searchsorted(s, line, side="left") / s.size)


def bottom_share(x: ArrayLike, p: float = 0.4) -> float:
    """The poorest ``p`` of the members' share of the total: the Lorenz curve at ``p``.

    ``L(p) = (Σ_{i <= k} x_(i) + (pn − k) x_(k+1)) / Σ x`` with ``k = ⌊pn⌋``: the members are
    ranked from the poorest, and a member straddling the ``p`` cut counts for the fraction of
    it that falls below (Lorenz 1905; the piecewise-linear Lorenz curve of a sample). BPS
    publishes ``100 L(0.4)`` as "the distribution of expenditure in the lowest 40 percent
    group". For a lognormal with log-sd σ, ``L(p) = Φ(Φ⁻¹(p) − σ)`` (Aitchison & Brown 1957).
    ``L(p) = p`` when all values are equal (all zero included, as the Gini's 0 says);
    0 <= L(p) <= p.

    Args:
        x: 1-D array of ``n >= 1`` finite, non-negative values.
        p: the population share, in [0, 1].

    Raises:
        ValueError: if ``p`` is outside [0, 1], or the values are invalid.

    Example:
        >>> bottom_share([1, 2, 3, 4], 0.5)  # (1 + 2) / 10
        0.3
        >>> round(bottom_share([4, 1, 3, 2], 0.4), 12)  # 1 + 0.6 x 2 of 10
        0.22
    """
    return bottom_share_of_sorted(np.sort(_outcomes(x)), p)


def bottom_share_of_sorted(s: np.ndarray, p: float = 0.4, *, total: float | None = None) -> float:
    """:func:`bottom_share` of values already sorted ascending and valid.

    ``total``, the sum of the values if the caller has it, spares a pass (it may differ from
    ``s.sum()`` in the last bits).

    Example:
        >>> bottom_share_of_sorted(np.array([1.0, 2.0, 3.0, 4.0]), 0.5, total=10.0)
        0.3
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    n = s.size
    if total is None:
        total = s.sum()
    if not total > 0:  # all zero: equal shares, as the Gini's 0 says
        return float(p)
    cut = p * n
    k = min(int(cut), n)
    below = np.add.reduce(s[:k]) if k else 0.0
    if k < n:
        below += (cut - k) * s[k]
    return float(min(max(below / total, 0.0), 1.0))


@functools.lru_cache(maxsize=4)
def _rank_weights(n: int) -> np.ndarray:
    """``2i − n − 1`` for ``i = 1..n`` (read-only; cached: a model asks for the same n often)."""
    coef = 2.0 * np.arange(1, n + 1, dtype=float) - (n + 1)
    coef.flags.writeable = False
    return coef


def atkinson(x: ArrayLike, epsilon: float) -> float:
    """Atkinson inequality index with inequality aversion ``epsilon``.

    ``A_ε = 1 − EDE/x̄`` with the equally-distributed-equivalent outcome
    ``EDE = (mean x^(1−ε))^(1/(1−ε))`` for ``ε ≠ 1`` and the geometric mean for ``ε = 1``
    (Atkinson 1970, J. Econ. Theory 2:244). ``ε = 0`` gives 0 (no aversion); ``ε = 2`` uses the
    harmonic mean. The index lies in [0, 1] and does not decrease with ``ε``.

    Conventions: all-equal values (including all zero) give exactly 0.0. If some value is zero
    and ``ε >= 1`` the EDE is 0 (the social welfare function puts infinite weight on the worst
    off), so the index is 1.0.

    Args:
        x: 1-D array of finite, non-negative values.
        epsilon: inequality aversion, ``ε >= 0``.

    Returns:
        The Atkinson index.

    Raises:
        ValueError: if ``epsilon`` is negative or not finite, or ``x`` is invalid (see
            :func:`gini`).

    Example:
        >>> round(atkinson([1, 4], 1), 12)
        0.2
        >>> round(atkinson([1, 4], 2), 12)
        0.36
    """
    eps = float(epsilon)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"epsilon must be a finite number >= 0; got {epsilon}")
    a = _outcomes(x)
    return atkinson_of_valid(a, eps, a.min(), a.max(), a.mean())


def atkinson_of_valid(
    a: np.ndarray,
    epsilon: float,
    smallest: float,
    largest: float,
    mean: float,
    *,
    work: np.ndarray | None = None,
) -> float:
    """The Atkinson index of validated values whose extremes and mean are known.

    The formula of :func:`atkinson` for callers that already hold ``a.min()``, ``a.max()``
    and ``a.mean()`` (a sorted copy gives the extremes). ``work``, an array like ``a``, receives
    the intermediate ``x / mean`` (spares a temporary). ``a`` must be finite and non-negative.
    """
    eps = float(epsilon)
    if smallest == largest:
        return 0.0
    if eps >= 1.0 and smallest == 0.0:
        return 1.0
    if eps == 1.0:  # EDE / mean = exp(mean(ln x) - ln mean): one pass of logarithms
        log_mean = np.add.reduce(np.log(a, out=work), axis=None) / a.size
        return min(max(1.0 - float(np.exp(log_mean - np.log(mean))), 0.0), 1.0)
    y = np.divide(a, mean, out=work)  # scale-free: EDE / mean computed on y = x / mean
    if eps < 1.0:
        ratio = float(np.mean(y ** (1.0 - eps)) ** (1.0 / (1.0 - eps)))
    else:  # eps > 1 and y > 0: log-mean-exp so that y**(1-eps) cannot overflow
        z = (1.0 - eps) * np.log(y)
        zmax = z.max()
        log_mean = zmax + np.log(np.mean(np.exp(z - zmax)))
        ratio = float(np.exp(log_mean / (1.0 - eps)))
    return min(max(1.0 - ratio, 0.0), 1.0)


def sen_index(x: ArrayLike, *, gini: float | None = None) -> float:
    """Sen's inequality-adjusted welfare index.

    ``W = x̄ · (1 − G)``, the mean discounted by the Gini coefficient (Sen 1976, "Real national
    income", Rev. Econ. Stud. 43:19). It equals the expected value of the poorer of two members
    drawn with replacement.

    Args:
        x: 1-D array of finite, non-negative values.
        gini: the Gini coefficient of ``x`` if already computed (saves a sort); it must be
            ``gini(x)``.

    Returns:
        The welfare index, in ``[min x, mean x]``.

    Raises:
        ValueError: if ``x`` is invalid (see :func:`gini`).

    Example:
        >>> sen_index([1, 2, 3, 4])
        1.875
    """
    a = _outcomes(x)
    g = _gini(a) if gini is None else gini
    return float(a.mean() * (1.0 - g))


def quintile_mask(x: ArrayLike, q: int = 1) -> np.ndarray:
    """Boolean mask of the members of quintile ``q`` of ``x`` (1 = poorest, 5 = richest).

    Members are ranked by ``x`` with a stable sort (ties keep their input order); rank
    positions ``r = 0..n−1`` in ``[⌊(q−1)n/5⌋, ⌊qn/5⌋)`` form quintile ``q``. The five
    quintiles partition the members and their sizes differ by at most 1 (some are empty when
    ``n < 5``).

    Args:
        x: 1-D array of finite values (negative values are allowed here).
        q: quintile number, an integer in 1..5.

    Returns:
        Boolean array of the same length as ``x``.

    Raises:
        ValueError: if ``q`` is not an integer in 1..5, or ``x`` is not 1-D or is non-finite.

    Example:
        >>> np.flatnonzero(quintile_mask([50, 10, 40, 20, 30, 60, 70, 80, 90, 100], q=1))
        array([1, 3])
    """
    if isinstance(q, bool) or not isinstance(q, int | np.integer) or not 1 <= q <= 5:
        raise ValueError(f"q must be an integer quintile number in 1..5; got {q!r}")
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"x must be a 1-D array; got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"x must be finite; got {a[i]} at index {i}")
    n = a.size
    order = np.argsort(a, kind="stable")
    lo, hi = ((q - 1) * n) // 5, (q * n) // 5
    mask = np.zeros(n, dtype=bool)
    mask[order[lo:hi]] = True
    return mask
