"""The evidence table: calibration targets from field evidence, with their sources, checked.

The table (``calibration/targets.toml``, shipped as ``sim/data/calibration/targets.toml``) has
three kinds of tables: ``[[source]]`` (a document read, grouped by ``study`` so that
independence is counted by evaluation, not by document), ``[[target]]`` (a measured quantity:
unit, estimate, band, population, horizon, the place in the source, the quoted sentence and the
model output and experiment that would reproduce it) and ``[[measure]]`` (the measurement
model: how a model state maps to a measured quantity).

This module keeps the bookkeeping honest, nothing more; it runs no model:

- units come from a controlled list (:data:`UNITS`);
- a verified target's band contains its estimate (and is centred on it when it comes from a
  standard error), the quote contains the number as written
  (``as_written``) and that number agrees with the estimate (up to a factor of 100 between a
  share and a percentage);
- the place in the source names a table, figure, page, section or the like;
- an unverified target carries a reason and no estimate: a number nobody read is not kept;
- every ``model_output`` is a declared outcome and every id a target or source names exists.

It also holds the closed forms that map two BPS targets to two levers: the model draws income
as lognormal, so :func:`lognormal_income_for` gives the ``income_sigma`` and ``income_median``
that reproduce a Gini coefficient and a poverty rate.

Example:
    >>> table = load_evidence()
    >>> len(table.verified()) >= 12, len(table.independent_studies()) >= 6
    (True, True)
    >>> t = table.targets()["bps_gini_national"]
    >>> t.unit, t.estimate, t.band
    ('index', 0.389, (0.379, 0.393))
"""

from __future__ import annotations

import ast
import math
import operator
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from scipy.stats import norm

from sim.errors import UserError, did_you_mean
from sim.paths import CALIBRATION
from sim.scenario.explain import Table, explain
from sim.scenario.files import read_toml
from sim.scenario.outcomes import OUTCOMES

__all__ = [
    "BAND_BASES",
    "TARGETS_FILE",
    "UNITS",
    "EvidenceError",
    "EvidenceTable",
    "Measure",
    "Source",
    "Target",
    "load_evidence",
    "lognormal_gini",
    "lognormal_income_for",
    "lognormal_poverty",
]

TARGETS_FILE = CALIBRATION / "targets.toml"
"""The shipped evidence table."""

UNITS: dict[str, str] = {
    "share": "a fraction in [0, 1]",
    "percent": "a share x 100, or a relative change in percent",
    "percentage points": "a difference between two percentages",
    "percentage points per year": "a change in a percentage over time, per year (a trend)",
    "index": "a bounded index such as a Gini coefficient (0 to 1)",
    "standard deviations": "an effect on a standardized index",
    "USD per household": "US dollars per household (programme size)",
    "USD per village per year": "US dollars per village per year (programme size)",
    "IDR per capita per month": "Indonesian rupiah per person per month (consumption)",
}
"""The controlled list of units a target or a measure may use, with their meaning."""

BAND_BASES: dict[str, str] = {
    "ci95_from_se": "estimate +- 1.96 standard errors, both read in the source",
    "binomial_se": "a share's 95% interval from the share and the number of observations read",
    "stated_bound": "the source states a bound ('at most', 'less than') or an exact rule",
    "range_of_releases": "the lowest and highest values in the official releases read",
    "judgement": "no interval could be read: a plausible range set by us, to be replaced",
}
"""Where a band may come from."""

_PLACE_WORDS = (
    "table", "figure", "fig.", "page", "p.", "section", "abstract", "paragraph", "bullet",
    "column", "row", "minute", "chapter", "appendix", "overview", "not read",
)  # fmt: skip
_ID = r"^[a-z][a-z0-9_]*$"
_SYMMETRIC = ("ci95_from_se", "binomial_se")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


class EvidenceError(UserError):
    """An evidence table that cannot be used, with a readable reason."""


def _unit(value: str) -> str:
    if value not in UNITS:
        raise ValueError(
            f"unknown unit {value!r}.{did_you_mean(value, UNITS)} Allowed units: {', '.join(UNITS)}"
        )
    return value


def _written_number(text: str) -> float | None:
    """The first number written with digits in ``text`` (``$18,200`` -> 18200), or None.

    Example:
        >>> _written_number("$18,200"), _written_number("three-quarters")
        (18200.0, None)
    """
    match = _NUMBER.search(text)
    return float(match.group().replace(",", "")) if match else None


def _agrees(written: float, estimate: float) -> bool:
    """Whether a number as written is the estimate, a share of it or its percentage."""
    return any(
        math.isclose(abs(estimate), written * factor, rel_tol=1e-9, abs_tol=1e-12)
        for factor in (1.0, 100.0, 0.01)
    )


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _arithmetic(node: ast.expr) -> float:
    """The value of a parsed arithmetic expression (numbers, + - * /, unary minus).

    Evaluated node by node, never by ``eval`` (the library evaluates nothing a user hands it);
    any other node is refused.

    Example:
        >>> _arithmetic(ast.parse("(1.5 - 3.0) / 2 * -1", mode="eval").body)
        0.75

    Raises:
        ValueError: a node that is not a number, + - * / or a unary minus.
        ZeroDivisionError: a division by zero.
    """
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arithmetic(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.left), _arithmetic(node.right))
    raise ValueError("only numbers, + - * / and brackets are allowed")


def _check_computed(expression: str, quote: str, estimate: float) -> None:
    """Check that ``expression`` uses only numbers written in ``quote`` and gives ``estimate``.

    The expression is arithmetic (+, -, *, / and brackets) over numbers written with a decimal
    point; each must appear in the quote written with a point or, as Indonesian writes
    decimals, with a comma (``13.20`` or ``13,20``). Whole numbers are counts (years between
    releases) and need not appear. The value must agree with the estimate within 0.5%.

    Example:
        >>> _check_computed("(11.79 - 13.20) / 6", "dari 13,20 ... menjadi 11,79 persen", -0.235)
        >>> _check_computed("(11.79 - 13.25) / 6", "dari 13,20 menjadi 11,79", -0.235)
        Traceback (most recent call last):
        ...
        ValueError: computed: 13.25 does not appear in the quote (as 13.25 or 13,25)
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ValueError(
            f"computed {expression!r} is not an arithmetic expression "
            "(allowed: numbers, + - * / and brackets, e.g. '(11.79 - 13.20) / 6')"
        ) from None
    try:
        value = _arithmetic(tree.body)
    except ZeroDivisionError:
        raise ValueError(f"computed {expression!r} divides by zero") from None
    except ValueError as exc:
        raise ValueError(f"computed {expression!r}: {exc}") from None
    text = _squash(quote)
    for number in re.findall(r"\d+\.\d+", expression):
        comma = number.replace(".", ",")
        if number not in text and comma not in text:
            raise ValueError(
                f"computed: {number} does not appear in the quote (as {number} or {comma})"
            )
    if not math.isclose(value, estimate, rel_tol=0.005, abs_tol=1e-12):
        raise ValueError(
            f"computed {expression!r} gives {value:.6g}, not the estimate {estimate} "
            "(the estimate may round the computed value to three significant digits)"
        )


def _squash(text: str) -> str:
    return " ".join(text.split())


class Source(Table):
    """A document read: what it is, which study it reports and where its text was read."""

    id: str = Field(pattern=_ID, description="short name targets refer to")
    study: str = Field(min_length=1, description="the evaluation or statistic it reports")
    citation: str = Field(min_length=1, description="full reference")
    kind: str = Field(min_length=1, description="peer-reviewed, working paper, statistics ...")
    where_read: str = Field(min_length=1, description="where the quoted text was read")


class Target(Table):
    """One measured quantity the model should reproduce (or start from, or take as input)."""

    id: str = Field(pattern=_ID, description="short name")
    source: str = Field(min_length=1, description="id of the [[source]] it was read in")
    kind: Literal["outcome", "initial_condition", "input"] = Field(
        description="an effect or level to reproduce, a starting state, or a programme size"
    )
    quantity: str = Field(min_length=1, description="the measured quantity")
    unit: str = Field(description="a unit from the controlled list")
    estimate: float | None = Field(None, description="the number read (none if unverified)")
    band: tuple[float, float] | None = Field(None, description="[low, high] around the estimate")
    band_basis: Literal[tuple(BAND_BASES)] | None = Field(  # type: ignore[valid-type]
        None, description="where the band comes from"
    )
    band_note: str = Field("", description="how the band was computed")
    population: str = Field(min_length=1, description="who or what was measured")
    horizon: str = Field(min_length=1, description="when, and over how long")
    place: str = Field(min_length=1, description="table, figure, page or section in the source")
    quote: str = Field(min_length=1, description="the sentence read, verbatim")
    as_written: str | None = Field(None, description="the number exactly as the quote writes it")
    computed: str = Field(
        "",
        description="for an estimate derived from numbers read (a trend): the arithmetic, "
        "e.g. '(11.79 - 13.20) / 6', whose every number appears in the quote",
    )
    model_output: str = Field("", description="a declared outcome, or '' if none yet")
    experiment: str = Field(min_length=1, description="the run that would reproduce it")
    verified: bool = Field(description="whether the estimate was read in the source")
    reason: str = Field("", description="why it could not be verified")

    @model_validator(mode="after")
    def _bookkeeping(self) -> Target:
        try:
            return self._checked()
        except ValueError as exc:
            raise ValueError(f"({self.id}) {exc}") from None

    def _checked(self) -> Target:
        _unit(self.unit)
        if self.model_output and self.model_output not in OUTCOMES:
            raise ValueError(
                f"model_output {self.model_output!r} is not a declared outcome."
                f"{did_you_mean(self.model_output, OUTCOMES)} Use '' when the model has none yet"
            )
        if not any(word in self.place.lower() for word in _PLACE_WORDS):
            raise ValueError(
                f"place {self.place!r} does not say where in the source: name a table, figure, "
                "page, section, paragraph or the like"
            )
        if not self.verified:
            if not self.reason:
                raise ValueError("an unverified target needs a reason")
            if self.estimate is not None or self.band is not None:
                raise ValueError(
                    "an unverified target carries no estimate or band: keep only numbers read"
                )
            return self
        missing = [
            k for k in ("estimate", "band", "band_basis", "as_written") if getattr(self, k) is None
        ]
        if missing:
            raise ValueError(f"a verified target needs {', '.join(missing)}")
        if _squash(self.as_written) not in _squash(self.quote):
            raise ValueError(f"as_written {self.as_written!r} does not appear in the quote")
        written = _written_number(self.as_written)
        if self.computed:
            _check_computed(self.computed, self.quote, self.estimate)
        elif written is not None and not _agrees(written, self.estimate):
            raise ValueError(
                f"estimate {self.estimate} does not agree with the number as written "
                f"{self.as_written!r} (allowed: the same number, or x 100 or / 100)"
            )
        low, high = self.band
        if low > high:
            raise ValueError(f"band [{low}, {high}]: low is above high")
        if not low <= self.estimate <= high:
            raise ValueError(f"band [{low}, {high}] does not contain the estimate {self.estimate}")
        if self.band_basis in _SYMMETRIC and not math.isclose(
            (low + high) / 2, self.estimate, abs_tol=0.05 * (high - low) + 1e-12
        ):
            raise ValueError(
                f"band [{low}, {high}] ({self.band_basis}) is not centred on the estimate "
                f"{self.estimate}: an interval from a standard error is symmetric"
            )
        if self.band_basis == "judgement" and not self.band_note:
            raise ValueError("a band set by judgement needs a band_note saying so")
        return self


class Measure(Table):
    """One line of the measurement model: a model state and the quantity it maps to."""

    state: str = Field(min_length=1, description="the model's state")
    measured: str = Field(min_length=1, description="what a survey or audit measures")
    unit: str = Field(description="unit of the measured quantity (controlled list)")
    mapping: str = Field(min_length=1, description="how the state maps to the measured quantity")
    status: Literal["implemented", "proposal"] = Field(
        description="implemented when a declared output measures it"
    )
    outputs: list[str] = Field(default_factory=list, description="declared outcomes involved")
    targets: list[str] = Field(default_factory=list, description="targets it serves")

    @model_validator(mode="after")
    def _known(self) -> Measure:
        _unit(self.unit)
        unknown = [o for o in self.outputs if o not in OUTCOMES]
        if unknown:
            raise ValueError(
                f"outputs {unknown} are not declared outcomes.{did_you_mean(unknown[0], OUTCOMES)}"
            )
        if self.status == "implemented" and not self.outputs:
            raise ValueError("an implemented measure names the outputs that implement it")
        return self


class EvidenceTable(Table):
    """The whole table: sources, targets and the measurement model, cross-checked."""

    source: list[Source] = Field(min_length=1, description="documents read")
    target: list[Target] = Field(min_length=1, description="calibration targets")
    measure: list[Measure] = Field(default_factory=list, description="the measurement model")

    @model_validator(mode="after")
    def _cross_references(self) -> EvidenceTable:
        for kind, items in (("source", self.source), ("target", self.target)):
            ids = [item.id for item in items]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(repeated)}")
        sources = {s.id for s in self.source}
        for t in self.target:
            if t.source not in sources:
                raise ValueError(
                    f"target {t.id}: source {t.source!r} is not a [[source]]."
                    f"{did_you_mean(t.source, sources)}"
                )
        targets = {t.id for t in self.target}
        for m in self.measure:
            for name in m.targets:
                if name not in targets:
                    raise ValueError(
                        f"measure {m.state!r}: target {name!r} is not a [[target]]."
                        f"{did_you_mean(name, targets)}"
                    )
        return self

    def targets(self) -> dict[str, Target]:
        """Every target by id, in file order."""
        return {t.id: t for t in self.target}

    def sources(self) -> dict[str, Source]:
        """Every source by id, in file order."""
        return {s.id: s for s in self.source}

    def verified(self, kinds: tuple[str, ...] = ("outcome", "initial_condition", "input")):
        """The verified targets of the given kinds, in file order."""
        return [t for t in self.target if t.verified and t.kind in kinds]

    def independent_studies(self, targets: list[Target] | None = None) -> list[str]:
        """The distinct studies behind ``targets`` (default: the verified ones), in order."""
        by_id = self.sources()
        studies = [by_id[t.source].study for t in (self.verified() if targets is None else targets)]
        return list(dict.fromkeys(studies))


def load_evidence(path: str | Path = TARGETS_FILE) -> EvidenceTable:
    """The evidence table in ``path``, checked; :class:`EvidenceError` says what is wrong.

    Args:
        path: a TOML file with ``[[source]]``, ``[[target]]`` and ``[[measure]]`` tables.
    """
    path = Path(path)
    data: dict[str, Any] = read_toml(path, "evidence table", EvidenceError)
    try:
        return EvidenceTable.model_validate(data)
    except ValidationError as exc:
        message = explain(
            exc, str(path), EvidenceTable, data, lists=("source", "target", "measure")
        )
        raise EvidenceError(message) from None


def lognormal_gini(sigma: float) -> float:
    """The Gini coefficient of a lognormal distribution: G = 2 Phi(sigma / sqrt 2) - 1.

    The model draws income as lognormal with ``population.income_sigma`` (Aitchison & Brown
    1957 for the formula).

    Example:
        >>> round(lognormal_gini(0.8), 3)  # the former default: far above BPS's 0.32-0.39
        0.428
    """
    return float(2.0 * norm.cdf(sigma / math.sqrt(2.0)) - 1.0)


def lognormal_poverty(sigma: float, median: float) -> float:
    """The share below the poverty line (income 1) of a lognormal: Phi(-ln(median) / sigma).

    Example:
        >>> round(lognormal_poverty(0.8, 1.5), 3)  # the former defaults: 31% poor
        0.306
    """
    if sigma == 0:
        return float(median < 1.0)
    return float(norm.cdf(-math.log(median) / sigma))


def lognormal_income_for(gini: float, poverty_share: float) -> tuple[float, float]:
    """The (income_sigma, income_median) of a lognormal income with this Gini and poverty share.

    Inverts :func:`lognormal_gini` and :func:`lognormal_poverty`: sigma = sqrt 2
    Phi^-1((G + 1) / 2), median = exp(-sigma Phi^-1(poverty_share)), the median in multiples of
    the poverty line.

    Example:
        >>> sigma, median = lognormal_income_for(0.324, 0.1229)  # BPS rural, 2018 and 2022
        >>> round(sigma, 3), round(median, 2)
        (0.591, 1.99)
        >>> round(lognormal_gini(sigma), 3), round(lognormal_poverty(sigma, median), 4)
        (0.324, 0.1229)
    """
    if not 0.0 < gini < 1.0 or not 0.0 < poverty_share < 1.0:
        raise ValueError("gini and poverty_share must lie strictly between 0 and 1")
    sigma = math.sqrt(2.0) * float(norm.ppf((gini + 1.0) / 2.0))
    median = math.exp(-sigma * float(norm.ppf(poverty_share)))
    return sigma, median
