"""Multidimensional poverty: the Alkire-Foster measures (H, A, M0) and their fast path.

A member is poor when its weighted share of deprivations reaches the cutoff ``k`` (the dual
cutoff of Alkire & Foster 2011, J. Public Econ. 95:476). :func:`alkire_foster` is the
definition over the (n, d) deprivation matrix; :func:`alkire_foster_of_counts` gives the same
measures from each member's number of deprivations when the weights are equal (what the model
records every step), with the scores from :func:`scores_of_counts`. Pure functions over numpy
arrays, re-exported by :mod:`sim.mechanisms.metrics`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["alkire_foster", "alkire_foster_of_counts", "scores_of_counts"]

_WEIGHT_SUM_TOL = 1e-9
"""Tolerance on ``|sum(weights) - 1|`` in :func:`alkire_foster`."""

_BINCOUNT_BELOW = 8192
"""Below this many members :func:`alkire_foster_of_counts` counts with one ``np.bincount``
(measured crossover against one ``count_nonzero`` per poor count)."""

_SCORE_TOL = 1e-12
"""Slack in the poverty test ``c_i >= k`` so that e.g. ``1/3 + 1/3`` counts as ``>= 2/3``."""


def alkire_foster(
    deprivations: ArrayLike, weights: ArrayLike, k: float
) -> tuple[float, float, float]:
    """Alkire-Foster multidimensional poverty measures (H, A, M0).

    With ``g[i, j] = 1`` when member ``i`` is deprived in indicator ``j`` and indicator weights
    ``w`` summing to 1, the deprivation score is ``c_i = Σ_j w_j g_ij`` and member ``i`` is poor
    when ``c_i >= k`` (the dual cutoff). Then ``H = q/n`` (headcount ratio, ``q`` poor),
    ``A = Σ_{poor} c_i / q`` (intensity; 0 if nobody is poor) and ``M0 = H·A``, the mean of the
    censored scores (Alkire & Foster 2011, J. Public Econ. 95:476).

    The test ``c_i >= k`` is applied as ``c_i >= k − 1e-12`` so that floating-point sums of
    weights such as ``1/3 + 1/3`` are not pushed below a cutoff of ``2/3``.

    Args:
        deprivations: (n, d) boolean or 0/1 array, ``n >= 1`` members by ``d >= 1``
            indicators.
        weights: length-``d`` non-negative weights summing to 1 (within 1e-9).
        k: poverty cutoff in (0, 1].

    Returns:
        ``(H, A, M0)`` as floats.

    Raises:
        ValueError: if ``deprivations`` is not a non-empty 2-D 0/1 array, ``weights`` has the
            wrong length, a negative or non-finite entry, or does not sum to 1, or ``k`` is
            outside (0, 1].

    Example:
        >>> g = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]]
        >>> [round(v, 12) for v in alkire_foster(g, [1/3, 1/3, 1/3], 0.5)]
        [0.5, 0.833333333333, 0.416666666667]
    """
    g = np.asarray(deprivations)
    if g.ndim != 2 or g.shape[0] == 0 or g.shape[1] == 0:
        raise ValueError(
            f"deprivations must be a 2-D (n, d) array with n >= 1 and d >= 1; got shape {g.shape}"
        )
    if g.dtype != bool:
        gf = g.astype(float)
        bad = (gf != 0) & (gf != 1)
        if bad.any():
            r, c = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"deprivations must be boolean or 0/1; got {g[r, c]} at row {r}, column {c}"
            )
        g = gf.astype(bool)
    n, d = g.shape

    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size != d:
        raise ValueError(
            f"weights must be a 1-D array with one entry per indicator (d={d}); got shape {w.shape}"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"weights must be finite and non-negative; got {w[i]} at index {i}")
    total = float(w.sum())
    if abs(total - 1.0) > _WEIGHT_SUM_TOL:
        raise ValueError(
            f"weights must sum to 1 (within {_WEIGHT_SUM_TOL:g}); got sum {total:.12g}; "
            "divide them by their sum"
        )

    kf = float(k)
    if not (0.0 < kf <= 1.0):
        raise ValueError(f"k must be in (0, 1]; got {k}")

    c = np.dot(g, w)  # casts in small chunks: no float copy of the whole matrix
    poor = c >= kf - _SCORE_TOL
    q = int(poor.sum())
    h = q / n
    a = float(np.compress(poor, c).mean()) if q else 0.0  # compress: c[poor], 5x faster
    return float(h), a, float(h * a)


def alkire_foster_of_counts(
    count: np.ndarray, score_of_count: np.ndarray, k: float
) -> tuple[float, float, float]:
    """Alkire-Foster (H, A, M0) from each member's number of deprivations, for equal weights.

    With equal indicator weights a member's score depends only on how many indicators it is
    deprived in, so ``c_i = score_of_count[count_i]``; the measures then follow as in
    :func:`alkire_foster`, whose scores equal ``score_of_count`` (see :func:`scores_of_counts`):
    ``H`` exactly, ``A`` and ``M0`` to within rounding (the poor's scores are summed count by
    count, as score times number of members). A count costs one byte per member where the
    (n, d) deprivation matrix cost d and its product with the weights d floats.

    Args:
        count: (n,) unsigned integer number of deprivations per member, ``n >= 1``.
        score_of_count: (d + 1,) the score of a member deprived in 0..d indicators.
        k: poverty cutoff in (0, 1].

    Example:
        >>> scores = scores_of_counts(np.full(3, 1 / 3))
        >>> [round(v, 12) for v in alkire_foster_of_counts(np.array([2, 1, 0, 3]), scores, 0.5)]
        [0.5, 0.833333333333, 0.416666666667]
    """
    kf = float(k)
    if not (0.0 < kf <= 1.0):
        raise ValueError(f"k must be in (0, 1]; got {k}")
    poor_counts = np.flatnonzero(score_of_count >= kf - _SCORE_TOL)
    n = count.size
    if poor_counts.size == 0:
        return 0.0, 0.0, 0.0
    # Scores rise with the count, so the poor are those with at least the smallest poor count;
    # their total score is the sum over the poor counts of score times number of members.
    if n < _BINCOUNT_BELOW:  # one call; it widens the bytes to intp, dear for large n
        members = np.bincount(count, minlength=score_of_count.size)[poor_counts].tolist()
    else:  # a cheap pass over the bytes per poor count
        members = [np.count_nonzero(count == c) for c in poor_counts.tolist()]
    q = sum(members)
    h = q / n
    total = sum(float(score_of_count[c]) * m for c, m in zip(poor_counts, members, strict=True))
    a = total / q if q else 0.0
    return float(h), a, float(h * a)


def scores_of_counts(weights: ArrayLike) -> np.ndarray:
    """Deprivation score by number of deprivations, for equal weights (``d + 1`` values).

    Each score is computed as :func:`alkire_foster` computes a member's score: the product of a
    0/1 row (the first ``count`` indicators deprived) with the weights.

    Raises:
        ValueError: if the weights are not all equal (a score then depends on which
            indicators, not how many).

    Example:
        >>> scores_of_counts([0.5, 0.5])
        array([0. , 0.5, 1. ])
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0 or not np.all(w == w[0]):
        raise ValueError(f"weights must be a non-empty 1-D array of equal values; got {w}")
    d = w.size
    rows = np.arange(d)[None, :] < np.arange(d + 1)[:, None]
    return np.dot(rows, w)
