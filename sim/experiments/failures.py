"""Partnership failures that matter, classified run by run against the same run without one.

Scenario discovery (:mod:`sim.experiments.discovery`) asks under which conditions partnerships
fail. A failure is judged per pair of runs made with the same levers and the same replicate
seed (common random numbers: the same households, villages and ties), one with the partnership
and one with the reference (no partnership, ``partnership.type = "none"``). With ``T`` the
last step, ``W`` mean welfare and ``Q`` the welfare of the poorest fifth (by initial income),
partnership run minus reference run:

- **zombie**: the partnership is still active at ``T`` but ``W_T`` is below the reference's
  by more than ``margin`` (active, yet worse than no partnership);
- **collapse**: external funding ends at step ``e`` (``partnership.funding_horizon`` > 0) while
  the partnership is active, and by ``T`` it has dissolved, or it keeps less than
  ``retained_share`` of its welfare gain ``lag`` steps later:
  ``(W_{e+k} − W_0) / (W_e − W_0) < retained_share`` (the ``welfare_retained`` of
  :func:`sim.experiments.compare.per_replicate`); undefined (missing) for a pair without a
  funding end, with the partnership already gone at ``e``, or without a welfare gain at ``e``
  that has not dissolved;
- **poorest_worse**: ``Q_T`` is below the reference's by more than ``margin``.

The thresholds are definitions of what counts as a failure, not estimates: the report states
them (defaults: ``margin`` 0, ``retained_share`` one half, ``lag`` 24 months).

Example:
    Two pairs (point 0 and 1, one replicate), three steps, funding ending at step 1:

    >>> rows = []
    >>> for point, (w_p, active) in enumerate([(0.35, True), (0.6, False)]):
    ...     for scenario, w, a in (("msp", w_p, active), ("baseline", 0.5, False)):
    ...         for step in range(3):
    ...             rows.append(dict(scenario=scenario, point=point, replicate=0, seed=1,
    ...                              step=step, welfare_mean=[0.3, 0.5, w][step],
    ...                              welfare_q1=[0.2, 0.3, w - 0.1][step],
    ...                              partnership_active=a if step == 2 else scenario == "msp",
    ...                              **{"partnership.funding_horizon": 1}))
    >>> table = classify(pd.DataFrame(rows), partnership="msp", reference="baseline", lag=1)
    >>> table[["zombie", "collapse", "poorest_worse"]].to_dict("list")
    {'zombie': [True, False], 'collapse': [True, True], 'poorest_worse': [True, False]}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import UserError

__all__ = [
    "FAILURES",
    "FUNDING_COLUMN",
    "NEEDED",
    "Failure",
    "FailureError",
    "classify",
]

FUNDING_COLUMN = "partnership.funding_horizon"
"""The lever that ends external funding; read per row when the table has it as a column."""

NEEDED = ("welfare_mean", "welfare_q1", "partnership_active")
"""The outcomes a run table must hold, every step from 0 to ``T``."""

_KEYS = ("point", "replicate")


@dataclass(frozen=True)
class Failure:
    """A kind of failure: its column in :func:`classify`'s table and what it means."""

    name: str
    label: str
    meaning: str


FAILURES = (
    Failure(
        "zombie",
        "Zombie partnership",
        "active at the horizon, yet mean welfare below the same run without a partnership",
    ),
    Failure(
        "collapse",
        "Collapse after funding ends",
        "active when external funding ends, then dissolved by the horizon or keeping less "
        "than the stated share of its welfare gain",
    ),
    Failure(
        "poorest_worse",
        "Poorest fifth worse off",
        "welfare of the poorest fifth at the horizon below the same run without a partnership",
    ),
)
"""The failure kinds, in the report's order."""


class FailureError(UserError):
    """A run table that cannot be classified (missing columns, unpaired runs, bad settings)."""


def _checked(
    table: pd.DataFrame, partnership: str, reference: str, lag: int, share: float
) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise FailureError("run table: a non-empty table of runs is needed")
    needed = ["scenario", *_KEYS, "step", *NEEDED]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise FailureError(f"run table: missing column(s) {missing}; needed: {needed}")
    names = set(table["scenario"])
    for role, name in (("partnership", partnership), ("reference", reference)):
        if name not in names:
            raise FailureError(
                f"{role} = {name!r}: no runs of it in the table (scenarios: {sorted(names)})"
            )
    if not isinstance(lag, int | np.integer) or lag < 1:
        raise FailureError(f"lag = {lag!r}: a whole number of steps >= 1 is needed")
    if not 0.0 < share <= 1.0:
        raise FailureError(f"retained_share = {share!r}: allowed 0 < retained_share <= 1")
    return table[table["scenario"].isin([partnership, reference])]


def _wide(table: pd.DataFrame, value: str, scenario: str) -> pd.DataFrame:
    rows = table[table["scenario"] == scenario]
    return rows.pivot_table(index=list(_KEYS), columns="step", values=value, aggfunc="first")


def classify(
    table: pd.DataFrame,
    *,
    partnership: str,
    reference: str,
    funding_end: int | None = None,
    lag: int = 24,
    retained_share: float = 0.5,
    margin: float = 0.0,
) -> pd.DataFrame:
    """One row per pair of runs (design point, replicate), with each failure kind flagged.

    Args:
        table: runs in long form: ``scenario, point, replicate, step`` and the outcomes in
            :data:`NEEDED` for every step from 0 to the horizon (as a sweep stores them);
            optionally :data:`FUNDING_COLUMN` per row (the step after which external funding
            ends; 0: never).
        partnership: the scenario name of the partnership runs.
        reference: the scenario name of the runs without a partnership.
        funding_end: the funding end for every pair when the table has no
            :data:`FUNDING_COLUMN` (``None`` or 0: funding never ends).
        lag: steps after the funding end at which retention is read (shortened to fit).
        retained_share: a partnership keeping less than this share of its welfare gain has
            collapsed.
        margin: how far below the reference a partnership must be to count as worse.

    Returns:
        ``point, replicate`` (and ``seed`` when the table has it), ``welfare_gain`` and
        ``q1_gain`` (partnership − reference at ``T``), ``active`` (at ``T``),
        ``funding_end``, ``retained`` (share of the gain kept; missing when undefined), and
        the booleans ``zombie``, ``poorest_worse`` and ``collapse`` (a nullable boolean:
        missing where the pair has no funding end or no partnership left to collapse).

    Raises:
        FailureError: missing columns or scenarios, runs without their pair, bad settings.
    """
    table = _checked(table, partnership, reference, lag, retained_share)
    last = int(table["step"].max())
    w_p, w_r = _wide(table, "welfare_mean", partnership), _wide(table, "welfare_mean", reference)
    q_p, q_r = _wide(table, "welfare_q1", partnership), _wide(table, "welfare_q1", reference)
    active = _wide(table, "partnership_active", partnership)
    unpaired = w_p.index.symmetric_difference(w_r.index)
    if len(unpaired):
        point, replicate = unpaired[0]
        raise FailureError(
            f"run table: {len(unpaired)} run(s) without their pair, e.g. point {point}, "
            f"replicate {replicate} (each run needs one of {partnership!r} and {reference!r})"
        )
    if w_p.isna().any().any() or last not in w_p.columns or 0 not in w_p.columns:
        raise FailureError(f"run table: every run needs every step from 0 to {last}")
    out = pd.DataFrame(index=w_p.index)
    if "seed" in table.columns:
        seeds = table[table["scenario"] == partnership].groupby(list(_KEYS))["seed"].first()
        out["seed"] = seeds
    out["welfare_gain"] = w_p[last] - w_r[last]
    out["q1_gain"] = q_p[last] - q_r[last]
    out["active"] = active[last].astype(bool)
    if FUNDING_COLUMN in table.columns:
        ends = table[table["scenario"] == partnership].groupby(list(_KEYS))[FUNDING_COLUMN]
        end = ends.first().reindex(out.index).astype("int64")
    else:
        end = pd.Series(int(funding_end or 0), index=out.index, dtype="int64")
    out["funding_end"] = end
    retained = pd.Series(np.nan, index=out.index)
    collapse = pd.Series(pd.NA, index=out.index, dtype="boolean")
    for key, e in end.items():
        if not 0 < e < last or not bool(active.loc[key, e]):
            continue  # no funding end inside the run, or nothing left to collapse
        k = min(lag, last - e)
        gain = w_p.loc[key, e] - w_p.loc[key, 0]
        if abs(gain) > 1e-9:
            retained[key] = (w_p.loc[key, e + k] - w_p.loc[key, 0]) / gain
        dissolved = not out.loc[key, "active"]
        if dissolved or not np.isnan(retained[key]):
            collapse[key] = dissolved or bool(retained[key] < retained_share)
    out["retained"] = retained
    out["zombie"] = out["active"] & (out["welfare_gain"] < -margin)
    out["collapse"] = collapse
    out["poorest_worse"] = out["q1_gain"] < -margin
    return out.reset_index()
