"""Judging a pattern's experiment: per-run statistics, paired effects, bands and verdicts.

The arms of :mod:`sim.experiments.validation` give one tidy frame per arm; this module turns
them into a verdict. :func:`per_run` reduces each replicate's time series to one number
(:func:`horizon`, :func:`survival_time`, :func:`survived`, :func:`retention`);
:func:`paired_effect` pairs two arms by replicate seed and gives the difference with its 95%
t-interval (an :class:`Effect`, judged by its predicted sign and, if given, a :class:`Band` the
literature reports); a :class:`PatternResult` holds a pattern's claim, effects and
:class:`Figure`; :func:`holm` and :func:`family_wise` keep the family-wise error rate across
the suite (Holm 1979).

Example:
    >>> e = paired_effect("x", pd.Series([1.0, 2.0, 3.0]), pd.Series([0.0, 0.5, 1.0]), +1)
    >>> round(e.estimate, 3), e.passed
    (1.5, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments import stats

__all__ = [
    "NATURES",
    "Band",
    "Effect",
    "Figure",
    "PatternResult",
    "family_wise",
    "holm",
    "horizon",
    "paired_effect",
    "per_run",
    "retention",
    "survival_time",
    "survived",
]


# ----------------------------------------------------------------------------- statistics
def per_run(df: pd.DataFrame, statistic: Callable[[pd.DataFrame], float]) -> pd.Series:
    """One value per replicate seed: ``statistic`` of each run's time series."""
    return df.groupby("seed", sort=True).apply(statistic, include_groups=False).astype(float)


def horizon(outcome: str) -> Callable[[pd.DataFrame], float]:
    """The outcome at the last recorded step."""
    return lambda run: float(run[outcome].iloc[-1])


def survival_time(run: pd.DataFrame) -> float:
    """Months the partnership stayed active (censored at the horizon)."""
    return float(run["partnership_active"].iloc[1:].sum())


def survived(run: pd.DataFrame) -> float:
    """1 if the partnership is active at the horizon."""
    return float(run["partnership_active"].iloc[-1])


def retention(run: pd.DataFrame) -> float:
    """Share of member-months retained: mean over steps of size / initial size."""
    size = run["partnership_size"].to_numpy()
    return float(size[1:].mean() / size[0]) if size[0] > 0 else float("nan")


@dataclass(frozen=True)
class Band:
    """A magnitude the literature gives for an effect: ``[low, high]`` with its source.

    ``rule`` says how an effect's 95% interval is judged against the band: ``"overlaps"``
    (the interval and the band share a point: the model's effect is compatible with the
    reported size) or ``"within"`` (the interval lies inside the band: the effect's size is
    pinned down). ``source`` names the study and the table or page the numbers come from;
    the report prints it beside the band.

    Example:
        >>> b = Band(-0.12, -0.04, "Olken 2007, Table 4")
        >>> b.admits(-0.09, -0.07), b.admits(-0.03, -0.01)
        (True, False)
        >>> Band(0, 1, "x", "within").admits(0.5, 1.2)
        False
    """

    low: float
    high: float
    source: str
    rule: str = "overlaps"

    def __post_init__(self) -> None:
        if self.rule not in ("overlaps", "within"):
            raise ValueError(f"rule must be 'overlaps' or 'within'; got {self.rule!r}")
        if not self.low <= self.high:
            raise ValueError(f"band low {self.low} is above high {self.high}")
        if not self.source.strip():
            raise ValueError("a band needs its source (study, table or page)")

    def admits(self, low: float, high: float) -> bool:
        """Whether an interval ``[low, high]`` meets the band by its rule."""
        if not (np.isfinite(low) and np.isfinite(high)):
            return False
        if self.rule == "within":
            return bool(self.low <= low and high <= self.high)
        return bool(low <= self.high and self.low <= high)

    def text(self) -> str:
        """The band as the report prints it, e.g. ``[-0.12, -0.04] (overlaps; Olken 2007)``."""
        return f"[{self.low:g}, {self.high:g}] ({self.rule}; {self.source})"


@dataclass
class Effect:
    """A paired effect (arm − reference, matched by seed) with its 95% t-interval.

    ``direction`` is the predicted sign (+1 above zero, −1 below, 0 no sign predicted: the
    band alone judges it). ``band``, if given, is the magnitude the literature reports; the
    effect then passes only if its interval also meets the band (:meth:`Band.admits`).
    """

    label: str
    estimate: float
    low: float
    high: float
    n: int
    direction: int  # +1: predicted above zero; -1: below zero; 0: judged by the band only
    unit: str = ""
    band: Band | None = None

    def __post_init__(self) -> None:
        if self.direction == 0 and self.band is None:
            raise ValueError(f"{self.label}: an effect without a predicted sign needs a band")

    @property
    def signed(self) -> bool:
        """Whether the interval lies wholly on the predicted side of zero (True with no sign)."""
        if not np.isfinite(self.low) or not np.isfinite(self.high):
            return False
        if self.direction == 0:
            return True
        return bool(self.low > 0 if self.direction > 0 else self.high < 0)

    @property
    def in_band(self) -> bool | None:
        """Whether the interval meets the band (None without a band)."""
        return None if self.band is None else self.band.admits(self.low, self.high)

    @property
    def passed(self) -> bool:
        """Whether the interval lies on the predicted side of zero and meets the band, if any."""
        return self.signed and self.in_band is not False

    @property
    def p_value(self) -> float:
        """One-sided p-value of the paired t-test in the predicted direction.

        Recovered from the 95% interval (its half-width is ``t(0.975, n − 1)`` standard
        errors); 1 when there is no interval (fewer than two pairs); NaN for an effect with
        no predicted sign (there is no sign to test; the band judges it).

        Example:
            >>> e = paired_effect("x", pd.Series([1.0, 2.0, 3.0]), 0.0, +1)
            >>> round(e.p_value, 4)  # t = 2 / (1 / sqrt(3)) = 3.464 on 2 df
            0.0371
        """
        if self.direction == 0:
            return float("nan")
        return stats.one_sided_p(self.estimate, self.low, self.high, self.n, self.direction)

    def row(self) -> dict[str, Any]:
        """The effect as a table row."""
        predicted = {1: ">0", -1: "<0", 0: "band"}[int(np.sign(self.direction))]
        return {
            "effect": self.label,
            "estimate": self.estimate,
            "ci_low": self.low,
            "ci_high": self.high,
            "n": self.n,
            "predicted": predicted,
            "band": "" if self.band is None else self.band.text(),
            "in_band": self.in_band,
            "passed": self.passed,
        }


def paired_effect(
    label: str,
    values: pd.Series,
    reference: pd.Series | float,
    direction: int,
    unit: str = "",
    band: Band | None = None,
) -> Effect:
    """Paired difference ``values − reference`` with a 95% t-interval (and a band, if given).

    Example:
        >>> e = paired_effect("x", pd.Series([1.0, 2.0, 3.0]), pd.Series([0.0, 0.5, 1.0]), +1)
        >>> round(e.estimate, 3), e.passed
        (1.5, True)
    """
    diff = values - reference
    diff = diff.dropna().to_numpy(dtype=float)
    mean = float(diff.mean()) if diff.size else float("nan")
    low, high = stats.t_interval(diff) if diff.size else (float("nan"), float("nan"))
    return Effect(label, mean, low, high, diff.size, direction, unit, band)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Figure:
    """What a pattern's figure shows; :mod:`sim.present.validation_figures` draws it.

    ``kind`` is ``bands`` (``outcomes`` over time, mean and 95% band per arm; ``data`` maps arm
    labels to their runs), ``effects`` (``data``: the pattern's effects with their intervals),
    ``bars`` (``data`` maps labels to one value per run; mean and interval, ``xlabel``),
    ``survival`` (share of runs with the partnership active, per arm) or ``breach`` (the
    partners' mean trust in the probed member, per arm).
    """

    kind: str
    data: Any
    title: str
    outcomes: tuple[str, ...] = ()
    xlabel: str = ""


NATURES = ("emergent", "mechanical")
"""Emergent: the pattern could fail under another calibration (it arises from several rules
interacting). Mechanical: it follows from one rule or one parameter's sign; such a pattern is
checked by a unit test of the rule and is not counted as validation."""


@dataclass
class PatternResult:
    """One pattern's claim, sources, experiment, criterion, effects and verdict.

    ``nature`` is ``"emergent"`` or ``"mechanical"`` (:data:`NATURES`) and ``why`` says why;
    a mechanical pattern names the unit test that checks its rule (``unit_test``) and is
    reported but not counted as validation. ``not_judged`` says why the experiment cannot
    judge the claim under the levers it ran with (e.g. no partnership lasts until the event
    the claim is about); such a result has no effects and does not pass.
    """

    number: int
    title: str
    claim: str
    sources: str
    experiment: str
    criterion: str
    effects: list[Effect]
    figure: Figure | None = None
    notes: list[str] = field(default_factory=list)
    nature: str = "emergent"
    why: str = ""
    unit_test: str = ""
    not_judged: str = ""

    def __post_init__(self) -> None:
        if self.nature not in NATURES:
            raise ValueError(f"nature must be one of {NATURES}; got {self.nature!r}")
        if self.nature == "mechanical" and not self.unit_test:
            raise ValueError(f"pattern {self.number}: a mechanical pattern names its unit test")
        if self.not_judged and self.effects:
            raise ValueError(f"pattern {self.number}: a result not judged has no effects")

    @property
    def passed(self) -> bool:
        """Whether every effect is as predicted (never for a result that is not judged)."""
        return not self.not_judged and bool(self.effects) and all(e.passed for e in self.effects)

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``not judged`` (the experiment cannot judge the claim here)."""
        return "not judged" if self.not_judged else "pass" if self.passed else "fail"

    @property
    def counts_as_validation(self) -> bool:
        """Only emergent patterns validate the model; mechanical ones are unit tests."""
        return self.nature == "emergent"

    def table(self) -> pd.DataFrame:
        """The effects as a table."""
        return pd.DataFrame([e.row() for e in self.effects])


def holm(effects: Sequence[Effect], alpha: float = 0.025) -> list[bool]:
    """Which effects hold with the family-wise error rate kept at ``alpha`` (Holm 1979).

    Holm's step-down procedure over the one-sided p-values: sorted ascending, the i-th
    smallest (i = 1..M) must be at most ``alpha / (M − i + 1)``; the first that is not stops
    the procedure, and it and every larger one do not hold. At least as powerful as
    Bonferroni, valid under any dependence between the tests (Holm 1979, Scand. J. Stat.
    6:65). The default, one-sided 2.5%, is the level of a two-sided 95% interval: an effect
    alone holds exactly when its interval lies on the predicted side. Effects without a
    predicted sign are not sign tests: they are left out of the family and hold when their
    band does. An effect with a band holds only if it also meets its band.

    Example:
        >>> es = [Effect("a", 1.0, 0.9, 1.1, 30, +1), Effect("b", 1.0, 0.05, 1.95, 30, +1),
        ...       Effect("c", 0.1, -0.2, 0.4, 30, +1)]
        >>> [e.passed for e in es], holm(es)  # b's interval alone is above 0, not with a and c
        ([True, True, False], [True, False, False])
    """
    signed = [e for e in effects if e.direction != 0]
    holds = stats.holm([e.p_value for e in signed], alpha)
    sign_holds = dict(zip(map(id, signed), holds, strict=True))
    return [sign_holds.get(id(e), e.signed) and e.in_band is not False for e in effects]


def family_wise(results: Sequence[PatternResult]) -> tuple[dict[int, bool], dict[int, bool]]:
    """The family-wise verdicts of a suite run: Holm over every effect of every pattern run.

    Returns whether each effect holds (keyed by ``id(effect)``) and whether each pattern
    passes (keyed by its number): every one of its effects holds.
    """
    every = [e for r in results for e in r.effects]
    holds = {id(e): h for e, h in zip(every, holm(every), strict=True)}
    passes = {r.number: bool(r.effects) and all(holds[id(e)] for e in r.effects) for r in results}
    return holds, passes
