"""Compare policy designs against a status quo: paired differences with 95% intervals.

``python run_simulation.py compare STATUS_QUO.toml DESIGN.toml [...]`` runs every design with
the same replicate seeds (common random numbers: the same households, villages and ties in
every design), pairs each design's replicate with the status quo's replicate of the same seed,
and reports the mean paired difference with a 95% t-interval for each measure in
:data:`MEASURES`. The report and the command are in :mod:`sim.present.compare_report`; it
writes, atomically and with the manifest last:

- ``report.html``: self-contained (figures embedded as PNG data, no external resources), with
  the verdicts, the tables, the designs' full resolved configurations and the manifest;
- ``summary.md``: the verdicts and the main table in Markdown;
- ``differences.csv`` (one row per design and measure), ``designs.csv`` (each design's mean
  and interval per measure), ``per_replicate.csv`` (every measure per design and replicate),
  ``timeseries.csv``, ``events.csv`` (every intervention that fired) and ``manifest.json``.

Measures (``T`` = last step, ``W_t`` = mean welfare at step ``t``):

- the outcomes of :data:`sim.model.OUTCOMES` listed in :data:`HORIZON_OUTCOMES`, at ``T``;
- ``welfare_retained``: the share of the welfare gain kept ``k`` steps after funding ends,
  ``(W_{e+k} − W_0) / (W_e − W_0)``, where ``e`` is the last step with full funding (see
  :func:`funding_end`) and ``k`` the retention lag (``--retention-lag``, default 24);
- ``welfare_change_after_funding``: ``W_{e+k} − W_e``;
- ``resources_spent``: resources spent per household over the run, ``Σ_{t=1..T} spent_t``;
- ``cost_per_welfare``: resources spent per unit of welfare gained, ``Σ spent / (W_T − W_0)``
  (undefined, so left out of the pair, when a replicate gains no welfare).

The incremental cost-effectiveness of a design (extra resources per extra unit of welfare
against the status quo) is the ratio of the mean paired differences of ``resources_spent`` and
``welfare_mean``; it is reported only when the welfare difference's interval excludes zero.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.runs import run_comparison
from sim.experiments.stats import paired_differences, summarize
from sim.experiments.uncertainty import (
    DrawPlan,
    decompose,
    paired_by_draw,
    probability_better,
    run_posterior,
)
from sim.scenario import Scenario
from sim.scenario.outcomes import Outcome

__all__ = [
    "DERIVED_OUTCOMES",
    "HORIZON_OUTCOMES",
    "MEASURES",
    "PROBABILITY_MEASURES",
    "CompareError",
    "compare",
    "design_table",
    "funding_end",
    "incremental_cost",
    "paired_table",
    "per_replicate",
    "population_changes",
    "probability_table",
    "uncertainty_table",
]

HORIZON_OUTCOMES = {
    "welfare_mean": "Welfare, mean",
    "welfare_q1": "Welfare, poorest fifth",
    "access_mean": "Access to services",
    "capacity_mean": "Capacity",
    "empowerment_mean": "Empowerment",
    "income_mean": "Income (x poverty line)",
    "poverty_rate": "Income poverty (share of households)",
    "access_health": "Use of health services (monthly)",
    "income_bottom40": "Income share of the poorest 40%",
    "mpi_m0": "Poverty (Alkire-Foster M0)",
    "welfare_gini": "Inequality (welfare Gini)",
    "partnership_active": "Partnership survives",
}
"""Outcomes read at the last step, with their report labels."""

DERIVED = {
    "welfare_retained": "Welfare gain retained after funding ends",
    "welfare_change_after_funding": "Welfare change after funding ends",
    "resources_spent": "Resources spent per household",
    "cost_per_welfare": "Resources per unit of welfare gained",
}
"""Measures computed from a whole trajectory (defined in the module docstring)."""

_SPENT = "welfare units per household"
DERIVED_OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome("welfare_retained", DERIVED["welfare_retained"], "share of the gain",
                (-math.inf, math.inf), "higher",
                "(W_e+k - W_0) / (W_e - W_0): share of the welfare gain kept k steps after "
                "funding ends (NaN without a funding end or a gain)"),
        Outcome("welfare_change_after_funding", DERIVED["welfare_change_after_funding"],
                "index", (-1.0, 1.0), "higher",
                "W_e+k - W_e: change of mean welfare in the k steps after funding ends"),
        Outcome("resources_spent", DERIVED["resources_spent"], _SPENT, (0.0, math.inf), "lower",
                "resources spent per household over the run (sum of spent over steps 1..T)"),
        Outcome("cost_per_welfare", DERIVED["cost_per_welfare"],
                f"{_SPENT} per unit of the welfare index", (0.0, math.inf), "lower",
                "resources spent / (W_T - W_0) (NaN when a replicate gains no welfare)"),
    )
}  # fmt: skip
"""The derived measures declared as outcomes (label, unit, range, meaning), for the data
dictionary and the figures' axes."""

MEASURES = {**HORIZON_OUTCOMES, **DERIVED}
"""Every measure of the comparison and its label."""

LOWER_IS_BETTER = {"mpi_m0", "poverty_rate", "welfare_gini", "resources_spent", "cost_per_welfare"}
"""Measures where a negative difference is an improvement."""

PROBABILITY_MEASURES = ("welfare_q1", "welfare_mean", "poverty_rate")
"""Measures for which ``compare --posterior`` states the probability of beating the status quo."""

FUNDING_LEVERS = (
    "organizations.budget_government",
    "organizations.budget_firm",
    "organizations.budget_ngo",
)
"""Levers whose scheduled cut marks the end of (external) funding."""


class CompareError(UserError):
    """A comparison that cannot be run as asked."""


# ----------------------------------------------------------------------------- measures
def population_changes(status_quo: Scenario, design: Scenario) -> str:
    """The ``population`` keys in which ``design`` differs from ``status_quo``, with both values.

    Empty when the two share their population (the same district, paired household by
    household).

    Example:
        >>> population_changes(Scenario(), Scenario().with_overrides({"population.villages": 4}))
        'population.villages 10 -> 4'
    """
    a, b = status_quo.population.model_dump(), design.population.model_dump()
    return "; ".join(f"population.{k} {a[k]} -> {b[k]}" for k in a if a[k] != b[k])


def funding_end(scenario: Scenario) -> int | None:
    """The last step with full funding in a design, or ``None`` if funding never ends.

    Funding ends at the first scheduled ``set`` that lowers a budget lever
    (:data:`FUNDING_LEVERS`) at step ``a`` (so ``e = a − 1``), or after
    ``partnership.funding_horizon`` (``e`` = the horizon), whichever comes first.

    Example:
        >>> s = Scenario.from_dict({"interventions": [{"name": "exit", "at": 37,
        ...     "action": "set", "lever": "organizations.budget_ngo", "value": 0.0}]})
        >>> funding_end(s)
        36
    """
    ends = []
    if scenario.partnership.funding_horizon > 0:
        ends.append(scenario.partnership.funding_horizon)
    for item in scenario.interventions:
        if item.action == "set" and item.at is not None and item.lever in FUNDING_LEVERS:
            section, key = item.lever.split(".")
            if float(item.value) < float(getattr(getattr(scenario, section), key)):
                ends.append(item.at - 1)
    return min(ends) if ends else None


def per_replicate(
    df: pd.DataFrame, end: int | None = None, lag: int = 24
) -> tuple[pd.DataFrame, int | None]:
    """Every measure per design and replicate: ``scenario, replicate, seed`` + measures.

    With posterior draws (``--posterior``) the keys are ``scenario, draw, posterior_draw,
    replicate, seed``. Returns the table and the lag actually used (shortened to fit the run;
    ``None`` when there is no funding end).
    """
    last = int(df["step"].max())
    keys = [k for k in _KEYS if k in df.columns]
    at_end = df[df["step"] == last].set_index(keys)
    out = at_end[list(HORIZON_OUTCOMES)].copy()
    w = df.pivot_table(index=keys, columns="step", values="welfare_mean")
    w0, wt = w[0], w[last]
    spent = df[df["step"] > 0].groupby(keys)["spent"].sum()
    out["resources_spent"] = spent
    gain = wt - w0
    out["cost_per_welfare"] = (spent / gain).where(gain > 1e-9)
    used = None
    if end is not None and 0 <= end < last:
        used = min(lag, last - end)
        we, wk = w[end], w[end + used]
        out["welfare_retained"] = ((wk - w0) / (we - w0)).where((we - w0).abs() > 1e-9)
        out["welfare_change_after_funding"] = wk - we
    else:
        out["welfare_retained"] = np.nan
        out["welfare_change_after_funding"] = np.nan
    return out.reset_index()[keys + list(MEASURES)], used


_KEYS = ("scenario", "draw", "posterior_draw", "replicate", "seed")


def paired_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Paired differences (design − reference) with 95% t-intervals for every measure.

    ``table`` is :func:`per_replicate`'s output; pairs are matched on the replicate seed (and
    the draw, with posterior draws: the interval then pools draws and replicates; the
    ``uncertainty`` table separates them). Uses :func:`sim.experiments.stats.paired_differences`.
    """
    rows = []
    pairs = ["draw", "seed"] if "draw" in table.columns else ["seed"]
    for measure in MEASURES:
        frame = table[["scenario", *pairs, measure]].assign(step=0)
        if frame.loc[frame["scenario"] == reference, measure].isna().all():
            continue  # undefined for the reference (e.g. cost per welfare without a gain)
        diff = paired_differences(frame, reference, measure, step=0, keys=pairs)
        rows.append(diff.drop(columns=["step"]).rename(columns={"outcome": "measure"}))
    out = pd.concat(rows, ignore_index=True)
    # Designs in the order given (the pivot inside paired_differences sorts them by name).
    order = {name: i for i, name in enumerate(dict.fromkeys(table["scenario"]))}
    out = out.sort_values("scenario", key=lambda c: c.map(order), kind="stable")
    out = out.reset_index(drop=True)
    out["label"] = out["measure"].map(MEASURES)
    out["verdict"] = [
        _verdict(r.measure, r.mean_difference, r.ci_low, r.ci_high) for r in out.itertuples()
    ]
    return out[
        [
            "scenario",
            "reference",
            "measure",
            "label",
            "n",
            "mean_difference",
            "ci_low",
            "ci_high",
            "verdict",
        ]
    ]


def design_table(table: pd.DataFrame) -> pd.DataFrame:
    """Each design's mean and 95% interval per measure (uses ``stats.summarize``)."""
    rows = []
    for measure in MEASURES:
        frame = table[["scenario", "replicate", measure]].assign(step=0).dropna()
        if frame.empty:
            continue
        rows.append(summarize(frame, measure, step=0).drop(columns=["step"]))
    out = pd.concat(rows, ignore_index=True).rename(columns={"outcome": "measure"})
    out["label"] = out["measure"].map(MEASURES)
    return out


def _verdict(measure: str, mean: float, low: float, high: float) -> str:
    if not np.isfinite(mean):
        return "not computed"
    if not (np.isfinite(low) and np.isfinite(high)):
        return "too few replicates for an interval"
    if low <= 0 <= high:
        return "no clear difference"
    better = (mean < 0) if measure in LOWER_IS_BETTER else (mean > 0)
    return "better" if better else "worse"


def incremental_cost(diffs: pd.DataFrame) -> pd.DataFrame:
    """Extra resources per extra unit of welfare, per design (when welfare clearly differs)."""
    rows = []
    for name, g in diffs.groupby("scenario", sort=False):
        g = g.set_index("measure")
        w, c = g.loc["welfare_mean"], g.loc["resources_spent"]
        clear = w.ci_low > 0 or w.ci_high < 0
        dc, dw = c.mean_difference, w.mean_difference
        if not clear:
            note = "welfare difference not clear; ratio not reported"
        elif dc <= 0 < dw:
            note = "dominates: more welfare for fewer resources"
        elif dc >= 0 > dw:
            note = "dominated: less welfare for more resources"
        elif dw < 0:
            note = "saves resources at a loss of welfare (ratio = resources saved per unit lost)"
        else:
            note = "costs more and gains welfare (ratio = extra resources per extra unit)"
        rows.append(
            {
                "scenario": name,
                "extra_resources": c.mean_difference,
                "extra_welfare": w.mean_difference,
                "resources_per_extra_welfare": (
                    c.mean_difference / w.mean_difference if clear else float("nan")
                ),
                "note": note,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- across draws
def uncertainty_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Parameter uncertainty and run-to-run noise of each design's level and difference.

    One row per design (``kind = "level"``: its own value; ``kind = "difference"``: design −
    status quo, paired on draw and seed) and measure, with the columns of
    :func:`sim.experiments.uncertainty.decompose`.
    """
    rows = []
    for measure in MEASURES:
        if table[measure].isna().all():
            continue
        level = decompose(table, measure).assign(kind="level")
        diff = decompose(paired_by_draw(table, reference, measure), "difference")
        for part in (level, diff.assign(kind="difference")):
            rows.append(part.assign(measure=measure, label=MEASURES[measure]))
    out = pd.concat(rows, ignore_index=True)
    first = ["scenario", "kind", "measure", "label"]
    return out[first + [c for c in out.columns if c not in first]]


def probability_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per design: the share of posterior draws in which it beats the status quo.

    For the poorest fifth, mean welfare and income poverty (lower is better); within a draw,
    the mean over replicates paired by seed
    (:func:`~sim.experiments.uncertainty.probability_better`).
    """
    parts = [
        probability_better(table, reference, m, higher_is_better=m not in LOWER_IS_BETTER)
        for m in PROBABILITY_MEASURES
    ]
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["measure"].map(MEASURES)
    return out


# ----------------------------------------------------------------------------- running
def compare(
    scenarios: list[Scenario],
    *,
    replications: int,
    root_seed: int,
    workers: int = 1,
    progress: bool = False,
    funding_end_step: int | None = None,
    retention_lag: int = 24,
    plan: DrawPlan | None = None,
) -> dict[str, Any]:
    """Run the designs (the first is the status quo) and compute every table.

    Returns a dictionary with ``timeseries``, ``events``, ``per_replicate``, ``differences``,
    ``designs``, ``incremental`` and the settings used (``funding_end``, ``retention_lag``).
    With a :class:`~sim.experiments.uncertainty.DrawPlan` every design runs under every
    posterior draw, and the result adds ``uncertainty`` (:func:`uncertainty_table`),
    ``probability`` (:func:`probability_table`) and ``plan``.
    """
    logs: list[pd.DataFrame] = []
    run = run_comparison if plan is None else partial(run_posterior, plan=plan)
    df = run(
        scenarios,
        replications=replications,
        root_seed=root_seed,
        workers=workers,
        progress=progress,
        events=logs,
    )
    events = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    if funding_end_step is None:
        ends = [e for e in (funding_end(s) for s in scenarios) if e is not None]
        funding_end_step = min(ends) if ends else None
    table, lag = per_replicate(df, funding_end_step, retention_lag)
    reference = scenarios[0].name
    diffs = paired_table(table, reference)
    extra: dict[str, Any] = {}
    if plan is not None:
        extra = {
            "plan": plan,
            "uncertainty": uncertainty_table(table, reference),
            "probability": probability_table(table, reference),
        }
    return {
        **extra,
        "timeseries": df,
        "events": events,
        "per_replicate": table,
        "differences": diffs,
        "designs": design_table(table),
        "incremental": incremental_cost(diffs),
        "reference": reference,
        "funding_end": funding_end_step,
        "retention_lag": lag,
        "replications": replications,
        "steps": int(df["step"].max()),
    }
