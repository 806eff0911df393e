"""The statistics of many runs: one t-interval, paired differences, one-sided p-values, Holm.

Every interval in the project is the same Student t-interval of a mean over replicates,
``mean ± t_{(1+level)/2, n−1} · sd / √n`` (:func:`half_width`); comparisons pair replicates
by their seed, which common random numbers make meaningful (:func:`paired_differences`).

Example:
    >>> [round(float(x), 4) for x in t_interval(np.array([1.0, 2.0, 3.0]))]  # t = 4.303, sd = 1
    [-0.4841, 4.4841]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "half_width",
    "holm",
    "one_sided_p",
    "paired_differences",
    "summarize",
    "t_interval",
]

LEVEL = 0.95
"""The level of every interval (two-sided)."""


def half_width(sd, n, level: float = LEVEL):
    """Half width of the t-interval of a mean: ``t_{(1+level)/2, n−1} · sd / √n``.

    Works on scalars, arrays and Series (elementwise); ``n < 2`` gives NaN (no interval).

    Example:
        >>> round(float(half_width(1.0, 3)), 4)
        2.4841
    """
    n = np.asarray(n)
    t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    half = t * sd / np.sqrt(n)
    if isinstance(sd, pd.Series):
        return pd.Series(np.where(n > 1, half, np.nan), index=sd.index)
    return np.where(n > 1, half, np.nan)[()]


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The t-interval of the mean of ``values``; NaN bounds for fewer than two values."""
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return (float("nan"), float("nan"))
    half = half_width(values.std(ddof=1), n, level)
    return (mean - half, mean + half)


def one_sided_p(estimate: float, low: float, high: float, n: int, direction: int) -> float:
    """One-sided p-value of a paired t-test in ``direction`` (+1 above zero, −1 below).

    Recovered from the 95% interval ``[low, high]`` of the mean of ``n`` pairs (its half width
    is ``t(0.975, n − 1)`` standard errors); 1 without an interval, 0 when every pair moved by
    the same amount in the predicted direction.

    Example:
        >>> round(one_sided_p(2.0, *t_interval(np.array([1.0, 2.0, 3.0])), 3, +1), 4)
        0.0371
    """
    if n < 2 or not (np.isfinite(low) and np.isfinite(high)):
        return 1.0
    se = (high - low) / 2.0 / float(stats.t.ppf(0.975, n - 1))
    signed = direction * estimate
    if se == 0.0:
        return 0.0 if signed > 0 else 1.0
    return float(stats.t.sf(signed / se, n - 1))


def holm(p_values: Sequence[float], alpha: float = 0.025) -> list[bool]:
    """Which tests hold with the family-wise error rate kept at ``alpha`` (Holm 1979).

    Holm's step-down procedure: sorted ascending, the i-th smallest p-value (i = 1..M) must be
    at most ``alpha / (M − i + 1)``; the first that is not stops the procedure, and it and
    every larger one do not hold. At least as powerful as Bonferroni, valid under any
    dependence between the tests (Holm 1979, Scand. J. Stat. 6:65).

    Example:
        >>> holm([0.001, 0.02, 0.3])  # 0.001 <= 0.025/3; 0.02 > 0.025/2 stops it
        [True, False, False]
    """
    p = np.array(p_values, dtype=float)
    holds = np.zeros(p.size, dtype=bool)
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if not p[i] <= alpha / (p.size - rank):  # a NaN p-value stops it too
            break
        holds[i] = True
    return holds.tolist()


def summarize(
    df: pd.DataFrame, outcome: str = "welfare_mean", step: int | None = None
) -> pd.DataFrame:
    """Mean, sd and 95% t-interval of ``outcome`` per scenario at ``step`` (default: the last).

    Example:
        >>> df = pd.DataFrame({"scenario": ["a"] * 3, "replicate": [0, 1, 2], "step": [5] * 3,
        ...                    "welfare_mean": [1.0, 2.0, 3.0]})
        >>> summarize(df).round(3).to_dict("records")[0]["ci_low"]
        -0.484
    """
    step = int(df["step"].max()) if step is None else step
    at = df[df["step"] == step]
    rows = []
    for name, group in at.groupby("scenario", sort=False):
        values = group[outcome].to_numpy(dtype=float)
        low, high = t_interval(values)
        rows.append(
            {
                "scenario": name,
                "outcome": outcome,
                "step": step,
                "n": values.size,
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def paired_differences(
    df: pd.DataFrame,
    reference: str,
    outcome: str = "welfare_mean",
    step: int | None = None,
    keys: Sequence[str] = ("seed",),
) -> pd.DataFrame:
    """Paired differences (scenario − reference) of ``outcome`` by replicate, with 95% CIs.

    Pairs are matched on the replicate seed, which common random numbers make meaningful
    (``keys``: on the posterior draw and the seed when runs carry draws).

    Example:
        >>> df = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "seed": [1, 2, 1, 2],
        ...                    "step": [0] * 4, "welfare_mean": [1.0, 2.0, 1.5, 2.7]})
        >>> paired_differences(df, "a")["mean_difference"].round(3).tolist()
        [0.6]
    """
    step = int(df["step"].max()) if step is None else step
    at = df[df["step"] == step].pivot_table(index=list(keys), columns="scenario", values=outcome)
    if reference not in at.columns:
        raise ValueError(f"reference scenario {reference!r} not in results: {list(at.columns)}")
    rows = []
    for name in at.columns:
        if name == reference:
            continue
        diff = (at[name] - at[reference]).dropna().to_numpy()
        low, high = t_interval(diff)
        rows.append(
            {
                "scenario": name,
                "reference": reference,
                "outcome": outcome,
                "step": step,
                "n": diff.size,
                "mean_difference": float(diff.mean()) if diff.size else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)
