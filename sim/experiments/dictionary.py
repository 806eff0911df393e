"""The data dictionary written beside every results folder: column, meaning, unit, range, dtype.

Every table a command writes (``run``, ``compare``, ``sweep``, ``analyze``) is described, column
by column, in ``data_dictionary.csv`` in the same folder. Outcome columns are described from
their one declaration (:mod:`sim.scenario.outcomes`); comparison measures from
:data:`sim.experiments.compare.DERIVED_OUTCOMES`; levers (sweep design columns) from the lever
schema; the key and statistics columns from :data:`KEYS` below. The dtype is the one the file
actually stores (read from the table), so the dictionary never claims a type the file lacks.

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"scenario": ["msp"], "step": [0], "welfare_mean": [0.3],
    ...                       "partnership_active": [True]})
    >>> d = data_dictionary({"timeseries.csv": table})
    >>> d.set_index("column").loc["welfare_mean", ["unit", "range", "dtype"]].tolist()
    ['index', '[0, 1]', 'float64']
    >>> d.set_index("column").loc["partnership_active", "dtype"]
    'bool'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from sim.scenario import lever_table
from sim.scenario.outcomes import DECLARED, Outcome

__all__ = ["COLUMNS", "DICTIONARY", "KEYS", "UNDOCUMENTED", "Column", "data_dictionary", "describe"]

DICTIONARY = "data_dictionary.csv"
"""The dictionary's file name in every results folder."""

COLUMNS = ("file", "column", "meaning", "unit", "range", "dtype")
"""The dictionary's own columns."""

UNDOCUMENTED = "not documented"
"""The meaning given to a column nobody declared (tests make sure none is left)."""


@dataclass(frozen=True)
class Column:
    """A key or statistics column of a results table (outcomes are declared elsewhere)."""

    meaning: str
    unit: str = ""
    range: str = ""


_AS_ROW = "as the outcome or measure of the row"
_STATS_RANGE = "within the outcome's range"

KEYS: dict[str, Column] = {
    # Keys of every long table.
    "scenario": Column("scenario (or policy design) name, as set by name = ... in its file"),
    "replicate": Column("replicate number within a scenario (0-based)", "count", ">= 0"),
    "seed": Column("the replicate's seed; the same seed in every scenario (common random "
                   "numbers)", "", "[0, 2**63 - 1]"),
    "step": Column("model step; step 0 is the initial state", "months", ">= 0"),
    "point": Column("design point of a sweep (row of design.parquet)", "", ">= 0"),
    "run_id": Column("a sweep run's identifier (hash of scenario, levers, seed, steps, code)"),
    "reference": Column("the reference scenario (status quo) a difference is taken against"),
    "outcome": Column("the outcome the row summarizes (see its own row in this dictionary)"),
    "measure": Column("the comparison measure of the row (see its own row in this dictionary)"),
    "label": Column("the measure's label in figures and reports"),
    # Statistics over replicates.
    "n": Column("number of replicates (or replicate pairs) behind the row", "count", ">= 0"),
    "mean": Column("mean over replicates", _AS_ROW, _STATS_RANGE),
    "sd": Column("standard deviation over replicates (ddof = 1)", _AS_ROW, ">= 0"),
    "median": Column("median over replicates", _AS_ROW, _STATS_RANGE),
    "q05": Column("5th percentile over replicates", _AS_ROW, _STATS_RANGE),
    "q25": Column("25th percentile over replicates", _AS_ROW, _STATS_RANGE),
    "q75": Column("75th percentile over replicates", _AS_ROW, _STATS_RANGE),
    "q95": Column("95th percentile over replicates", _AS_ROW, _STATS_RANGE),
    "ci_low": Column("lower end of the 95% t-interval of the mean", _AS_ROW, ""),
    "ci_high": Column("upper end of the 95% t-interval of the mean", _AS_ROW, ""),
    "mean_difference": Column("mean paired difference, design minus status quo (same seed)",
                              _AS_ROW, ""),
    "verdict": Column("better, worse, no clear difference (95% interval includes 0), or why "
                      "not computed; 'better' is from the households' side"),
    # compare: incremental cost.
    "extra_resources": Column("mean paired difference in resources spent per household",
                              "welfare units per household", ""),
    "extra_welfare": Column("mean paired difference in mean welfare at the horizon", "index",
                            "[-1, 1]"),
    "resources_per_extra_welfare": Column(
        "extra resources per extra unit of welfare (NaN unless welfare clearly differs)",
        "welfare units per household per unit of the welfare index", ""),
    "note": Column("free text: how to read the row (incremental.csv), what happened (events.csv)"),
    # Events (interventions that fired).
    "intervention": Column("name of the intervention (scenario file, [[interventions]])"),
    "action": Column("what it did: form, dissolve, add_member, remove_member or set"),
    "target": Column("the lever or party it acted on"),
    "old": Column("value (or members) before it fired", "as the target"),
    "new": Column("value (or members) after it fired", "as the target"),
    # Sensitivity indices (SALib).
    "method": Column("sensitivity method: sobol or morris"),
    "lever": Column("the lever the index belongs to (section.key)"),
    "S1": Column("first-order Sobol index: share of variance due to the lever alone", "share",
                 "[0, 1] up to sampling error"),
    "S1_conf": Column("half-width of the 95% interval of S1", "share", ">= 0"),
    "ST": Column("total-order Sobol index: share of variance involving the lever", "share",
                 "[0, 1] up to sampling error"),
    "ST_conf": Column("half-width of the 95% interval of ST", "share", ">= 0"),
    "mu": Column("Morris mean elementary effect", "outcome unit per lever range", ""),
    "mu_star": Column("Morris mean absolute elementary effect", "outcome unit per lever range",
                      ">= 0"),
    "mu_star_conf": Column("half-width of the 95% interval of mu_star",
                           "outcome unit per lever range", ">= 0"),
    "sigma": Column("Morris standard deviation of the elementary effects",
                    "outcome unit per lever range", ">= 0"),
    # Posterior draws (--posterior N; sim.experiments.uncertainty).
    "draw": Column("position of the posterior draw in this run's plan (0..N-1); every draw "
                   "runs every replicate seed", "", ">= 0"),
    "posterior_draw": Column("the draw's id in the posterior file (its 'draw' column); the "
                             "manifest names the file and its SHA-256", "", ">= 0"),
    "draws": Column("number of posterior draws behind the row", "count", ">= 1"),
    "replicates": Column("replicates per draw (mean when a draw lost some to NaN)", "count",
                         ">= 1"),
    "kind": Column("level (the design's own value) or difference (design minus status quo, "
                   "paired on draw and seed)"),
    "between_var": Column("variance of the draw means over draws (ddof = 1)",
                          "square of the row's unit", ">= 0"),
    "within_var": Column("run-to-run noise: pooled variance of replicates within a draw",
                         "square of the row's unit", ">= 0"),
    "param_var": Column("parameter uncertainty: max(0, between_var - within_var / replicates) "
                        "(one-way random-effects ANOVA)", "square of the row's unit", ">= 0"),
    "param_share": Column("param_var / (param_var + within_var): share of one run's variance "
                          "that is parameter uncertainty", "share", "[0, 1]"),
    "param_low": Column("2.5th percentile of the draw means (parameter uncertainty, 95%)",
                        _AS_ROW, ""),
    "param_high": Column("97.5th percentile of the draw means (parameter uncertainty, 95%)",
                         _AS_ROW, ""),
    "noise_low": Column("lower end of the 95% t-interval of the mean from run-to-run noise "
                        "alone (pooled within-draw variance over draws x replicates)",
                        _AS_ROW, ""),
    "noise_high": Column("upper end of the 95% t-interval of the mean from run-to-run noise "
                         "alone", _AS_ROW, ""),
    "better_draws": Column("posterior draws in which the design's mean (paired by seed) is "
                           "better than the status quo's", "count", ">= 0"),
    "probability_better": Column("share of posterior draws in which the design beats the "
                                 "status quo (better_draws / draws)", "share", "[0, 1]"),
    # Failed sweep runs.
    "levers": Column("the design point's lever values of a failed run"),
    "error": Column("the exception of a failed run, one line"),
    "traceback": Column("the full traceback of a failed run"),
    "seconds": Column("wall time of the run", "seconds", ">= 0"),
}  # fmt: skip
"""Key and statistics columns: every column of a results table that is not an outcome,
a comparison measure or a lever."""


def _range(bounds: tuple[float, float]) -> str:
    low, high = (f"{b:g}" if math.isfinite(b) else "inf" for b in bounds)
    return f"[{low}, {high})" if high == "inf" else f"[{low}, {high}]"


def _outcome_row(o: Outcome) -> tuple[str, str, str]:
    meaning = o.meaning + (
        " (NaN when no partnership is active)" if o.undefined_without_partnership else ""
    )
    return meaning, o.unit, _range(o.bounds)


def _levers() -> dict[str, tuple[str, str, str]]:
    out = {}
    for row in lever_table():
        b = row["bounds"]
        low = f"[{b['ge']}" if "ge" in b else f"({b['gt']}" if "gt" in b else ""
        high = f"{b['le']}]" if "le" in b else f"{b['lt']})" if "lt" in b else ""
        span = f"{low}, {high}" if low and high else ""
        out[f"{row['section']}.{row['key']}"] = (f"lever: {row['meaning']}", "as the lever", span)
    return out


def describe(column: str, extra: Mapping[str, Outcome] | None = None) -> tuple[str, str, str]:
    """Meaning, unit and range of one column of a results table.

    ``extra`` declares further measures (a comparison's derived measures). A lever column
    (``section.key``) is described by the lever schema; ``sample:section.key`` is SALib's raw
    sample of that lever. A column nobody declared gets :data:`UNDOCUMENTED`.

    Example:
        >>> describe("step")
        ('model step; step 0 is the initial state', 'months', '>= 0')
        >>> describe("no_such_column")[0]
        'not documented'
    """
    declared = {**DECLARED, **(extra or {})}
    if column in declared:
        return _outcome_row(declared[column])
    if column in KEYS:
        k = KEYS[column]
        return k.meaning, k.unit, k.range
    if column.startswith("sample:"):
        meaning, unit, _ = describe(column.removeprefix("sample:"))
        if meaning != UNDOCUMENTED:
            return f"SALib's raw sample of the lever before rounding: {meaning}", unit, ""
    levers = _levers()
    if column in levers:
        return levers[column]
    return UNDOCUMENTED, "", ""


def _dtype(series: pd.Series) -> str:
    kind = str(series.dtype)
    return "string" if kind in ("object", "str", "string") else kind


def data_dictionary(
    tables: Mapping[str, pd.DataFrame | Sequence[str]],
    extra: Mapping[str, Outcome] | None = None,
) -> pd.DataFrame:
    """One row per column of every table: file, column, meaning, unit, range, dtype.

    ``tables`` maps a file name to its table (the dtype is read from it) or to its column
    names (dtype left empty). ``extra`` declares measures beyond the model's outcomes.
    """
    rows = []
    for name, table in tables.items():
        columns = table.columns if isinstance(table, pd.DataFrame) else list(table)
        for column in columns:
            meaning, unit, span = describe(str(column), extra)
            dtype = _dtype(table[column]) if isinstance(table, pd.DataFrame) else ""
            rows.append((name, str(column), meaning, unit, span, dtype))
    return pd.DataFrame(rows, columns=list(COLUMNS))
