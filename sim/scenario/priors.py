"""Priors of the calibration: one distribution per lever whose value is an assumption.

The shipped file (``calibration/priors.toml``, i.e. ``sim/data/calibration/priors.toml``)
holds one ``[[prior]]`` per lever marked as an assumption in the schema (its source says
"calibration assumption" or "no estimate", or gives none), and per lever the calibration
fits although it has a source (its value was itself derived from a target); levers left out
on purpose are listed as ``[[exempt]]`` with the reason. Every prior names its ``lever``, its
``distribution`` with its parameters, and its ``reason``:

- ``uniform``: ``low``, ``high``;
- ``loguniform``: ``low > 0``, ``high`` (a scale known only to its order of magnitude);
- ``beta``: ``a``, ``b`` on ``[low, high]``;
- ``truncnormal``: ``mean``, ``sd``, truncated to ``[low, high]``.

Every distribution therefore has a support ``[low, high]``; it must lie within the lever's
bounds in the schema and contain the shipped default. Whole-number levers (a number of firms)
are rounded when a drawn value becomes an override (:meth:`Priors.overrides`).

The calibration works on the unit cube: :meth:`Prior.ppf` maps a uniform ``u`` in ``[0, 1]``
to the lever's value with the prior's quantile function, so a Latin hypercube of the cube is a
Latin hypercube of the prior.

Example:
    >>> priors = load_priors()
    >>> p = priors["dynamics.learning_rate"]
    >>> p.distribution, p.low, p.high
    ('uniform', 0.15, 0.45)
    >>> round(float(p.ppf(0.5)), 3)
    0.3
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator
from scipy import stats

from sim.errors import UserError, did_you_mean
from sim.paths import CALIBRATION
from sim.scenario.explain import Table, explain
from sim.scenario.files import read_toml
from sim.scenario.schema import lever_table

__all__ = [
    "ASSUMPTION_MARKS",
    "DISTRIBUTIONS",
    "PRIORS_FILE",
    "Exempt",
    "Prior",
    "Priors",
    "PriorsError",
    "assumption_levers",
    "load_priors",
]

PRIORS_FILE = CALIBRATION / "priors.toml"
"""The shipped priors."""

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "beta": ("a", "b", "low", "high"),
    "truncnormal": ("mean", "sd", "low", "high"),
}
"""Each distribution and the parameters it needs (every one has a support ``low``-``high``)."""

ASSUMPTION_MARKS = ("calibration assumption", "no estimate")
"""Words in a lever's source that mark its value as an assumption (an empty source does too)."""

_PARAMETERS = ("low", "high", "a", "b", "mean", "sd")


class PriorsError(UserError):
    """A priors file that cannot be used, with a readable reason."""


def _levers() -> dict[str, dict[str, Any]]:
    return {f"{r['section']}.{r['key']}": r for r in lever_table()}


def assumption_levers() -> list[str]:
    """The schema's levers whose value is an assumption, in the schema's order.

    A lever is an assumption when its source contains one of :data:`ASSUMPTION_MARKS` or is
    empty; the ``run`` section (horizon, seeds) holds settings, not assumptions.

    Example:
        >>> "dynamics.learning_rate" in assumption_levers()
        True
        >>> "accountability.audit_probability" in assumption_levers()  # Olken 2007
        False
    """
    return [
        name
        for name, row in _levers().items()
        if row["section"] != "run"
        and (not row["source"] or any(m in row["source"] for m in ASSUMPTION_MARKS))
    ]


def _inside(value: float, bounds: dict[str, float]) -> bool:
    return (
        value >= bounds.get("ge", -math.inf)
        and value > bounds.get("gt", -math.inf)
        and value <= bounds.get("le", math.inf)
        and value < bounds.get("lt", math.inf)
    )


class Prior(Table):
    """One lever's prior: its distribution, the distribution's parameters and the reason."""

    lever: str = Field(min_length=1, description="the lever, as section.key")
    distribution: Literal[tuple(DISTRIBUTIONS)] = Field(  # type: ignore[valid-type]
        description="uniform, loguniform, beta or truncnormal"
    )
    low: float = Field(description="lowest value the prior allows")
    high: float = Field(description="highest value the prior allows")
    a: float | None = Field(None, gt=0, description="beta: first shape parameter")
    b: float | None = Field(None, gt=0, description="beta: second shape parameter")
    mean: float | None = Field(None, description="truncnormal: mean before truncation")
    sd: float | None = Field(None, gt=0, description="truncnormal: sd before truncation")
    reason: str = Field(min_length=1, description="the source of the range, or why it is so")

    @model_validator(mode="after")
    def _consistent(self) -> Prior:
        try:
            return self._checked()
        except ValueError as exc:
            raise ValueError(f"({self.lever}) {exc}") from None

    def _checked(self) -> Prior:
        rows = _levers()
        if self.lever not in rows:
            raise ValueError(f"not a lever of the schema.{did_you_mean(self.lever, rows)}")
        row = rows[self.lever]
        default = row["default"]
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise ValueError(f"a prior needs a numeric lever; the default is {default!r}")
        needed = DISTRIBUTIONS[self.distribution]
        given = {k for k in _PARAMETERS if getattr(self, k) is not None}
        extra = sorted(given - set(needed))
        missing = [k for k in needed if k not in given]
        if missing or extra:
            raise ValueError(
                f"{self.distribution} takes {', '.join(needed)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not {', '.join(extra)}" if extra else "")
            )
        if not self.low < self.high:
            raise ValueError(f"low {self.low} must be below high {self.high}")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform needs low > 0, got {self.low}")
        for end in (self.low, self.high):
            if not _inside(end, row["bounds"]):
                raise ValueError(f"support [{self.low}, {self.high}] leaves the schema's bounds")
        if not self.low <= default <= self.high:
            raise ValueError(
                f"support [{self.low}, {self.high}] excludes the shipped default {default}"
            )
        return self

    @cached_property
    def _frozen(self):
        lo, hi = self.low, self.high
        if self.distribution == "uniform":
            return stats.uniform(loc=lo, scale=hi - lo)
        if self.distribution == "loguniform":
            return stats.loguniform(lo, hi)
        if self.distribution == "beta":
            return stats.beta(self.a, self.b, loc=lo, scale=hi - lo)
        z_lo, z_hi = (lo - self.mean) / self.sd, (hi - self.mean) / self.sd
        return stats.truncnorm(z_lo, z_hi, loc=self.mean, scale=self.sd)

    @property
    def integer(self) -> bool:
        """Whether the lever takes whole numbers (draws are rounded into overrides)."""
        return isinstance(_levers()[self.lever]["default"], int)

    @property
    def default(self) -> float:
        """The lever's shipped default."""
        return _levers()[self.lever]["default"]

    def ppf(self, u: Any) -> Any:
        """The prior's quantile function: ``u`` in [0, 1] (scalar or array) to values."""
        return self._frozen.ppf(np.clip(u, 0.0, 1.0))

    def cdf(self, x: Any) -> Any:
        """The prior's distribution function: values to ``u`` in [0, 1]."""
        return self._frozen.cdf(x)

    def logpdf(self, x: Any) -> Any:
        """The log density of the prior at ``x`` (-inf outside the support)."""
        return self._frozen.logpdf(x)

    @property
    def prior_mean(self) -> float:
        """The prior's mean."""
        return float(self._frozen.mean())

    @property
    def prior_sd(self) -> float:
        """The prior's standard deviation."""
        return float(self._frozen.std())

    def describe(self) -> str:
        """The distribution as text, e.g. ``uniform(0.15, 0.45)``."""
        params = ", ".join(f"{getattr(self, k):g}" for k in DISTRIBUTIONS[self.distribution])
        return f"{self.distribution}({params})"


class Exempt(Table):
    """A lever marked as an assumption that has no prior on purpose, and why."""

    lever: str = Field(min_length=1, description="the lever, as section.key")
    reason: str = Field(min_length=1, description="why it is not calibrated")


class Priors(Table):
    """The whole priors file, cross-checked: no lever twice, every assumption accounted for."""

    prior: list[Prior] = Field(min_length=1, description="one prior per lever")
    exempt: list[Exempt] = Field(default_factory=list, description="levers left out, and why")

    @model_validator(mode="after")
    def _bookkeeping(self) -> Priors:
        names = [p.lever for p in self.prior] + [e.lever for e in self.exempt]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"a lever appears twice (prior or exempt): {', '.join(repeated)}")
        rows = _levers()
        for e in self.exempt:
            if e.lever not in rows:
                raise ValueError(
                    f"exempt {e.lever!r} is not a lever of the schema.{did_you_mean(e.lever, rows)}"
                )
        return self

    def __getitem__(self, lever: str) -> Prior:
        for p in self.prior:
            if p.lever == lever:
                return p
        raise KeyError(f"no prior for {lever!r}.{did_you_mean(lever, self.levers)}")

    def __contains__(self, lever: object) -> bool:
        return lever in self.levers

    @property
    def levers(self) -> list[str]:
        """The levers with a prior, in file order."""
        return [p.lever for p in self.prior]

    def missing(self) -> list[str]:
        """Assumption levers with neither a prior nor an exemption (should be none)."""
        covered = set(self.levers) | {e.lever for e in self.exempt}
        return [name for name in assumption_levers() if name not in covered]

    def subset(self, levers: list[str]) -> Priors:
        """The priors of ``levers`` only, in that order."""
        return Priors.model_construct(prior=[self[name] for name in levers], exempt=[])

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of the unit cube (rows; one column per prior) to lever values."""
        u = np.atleast_2d(u)
        return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(self.prior)])

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map lever values (rows; one column per prior) to the unit cube."""
        x = np.atleast_2d(x)
        return np.column_stack([p.cdf(x[:, j]) for j, p in enumerate(self.prior)])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws (rows) from the priors (one column per prior)."""
        return self.from_unit(rng.uniform(size=(n, len(self.prior))))

    def overrides(self, values: np.ndarray) -> list[dict[str, float | int]]:
        """Rows of lever values as override dicts for ``Scenario.with_overrides``.

        Whole-number levers are rounded.
        """
        out = []
        for row in np.atleast_2d(values):
            out.append(
                {
                    p.lever: (round(float(v)) if p.integer else float(v))
                    for p, v in zip(self.prior, row, strict=True)
                }
            )
        return out


def load_priors(path: str | Path = PRIORS_FILE) -> Priors:
    """The priors in ``path``, checked; :class:`PriorsError` says what is wrong.

    Args:
        path: a TOML file with ``[[prior]]`` (and optionally ``[[exempt]]``) tables.
    """
    path = Path(path)
    data: dict[str, Any] = read_toml(path, "priors file", PriorsError)
    try:
        return Priors.model_validate(data)
    except ValidationError as exc:
        raise PriorsError(
            explain(exc, str(path), Priors, data, lists=("prior", "exempt"))
        ) from None
