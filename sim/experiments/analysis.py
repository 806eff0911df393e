"""Analysis of a sweep folder: summaries over replicates, paired differences, sensitivity indices.

Everything reads the store lazily (one outcome column at a time through :mod:`pyarrow.dataset`),
so a sweep of many runs is summarized without loading the whole table.

* Per base scenario, design point and step: mean, sd, median, the 5/25/75/95% quantiles and the
  95% t-interval of the mean over replicates (:func:`summarize_steps`).
* Paired differences against a reference scenario, matched on design point and replicate, which
  common random numbers make meaningful (:func:`paired_differences_by_point`).
* Sensitivity of horizon outcomes (each design point's mean over its replicates): Sobol first-
  and total-order indices with bootstrap confidence intervals (Saltelli 2002, Comput. Phys.
  Commun. 145:280; Saltelli et al. 2010, Comput. Phys. Commun. 181:259) and Morris elementary
  effects mu*, sigma (Morris 1991, Technometrics 33:161; Campolongo et al. 2007), through SALib.

Figures and the ``analyze`` command, which writes all of it into ``DIR/analysis/``, are in
:mod:`sim.present.sweep_report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.stats import half_width
from sim.experiments.store import read_manifest, read_table, stored_runs
from sim.experiments.sweep_spec import SweepSpec, salib_problem

__all__ = [
    "DIFFERENCE_COLUMNS",
    "QUANTILES",
    "horizon_means",
    "morris_indices",
    "paired_differences_by_point",
    "scenarios_without_runs",
    "sensitivity",
    "sobol_indices",
    "summarize_steps",
]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _describe(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    grouped = frame.groupby(by, sort=True)[value]
    out = grouped.agg(n="count", mean="mean", sd="std")
    q = grouped.quantile(list(QUANTILES)).unstack()
    q.columns = [f"q{round(100 * c):02d}" for c in q.columns]
    out = out.join(q).rename(columns={"q50": "median"})
    half = half_width(out["sd"], out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out.reset_index()


def summarize_steps(
    out: Path, outcomes: list[str] | None = None, pooled: bool = False
) -> pd.DataFrame:
    """Statistics over replicates per scenario, design point and step (long format).

    With ``pooled=True`` the design points are pooled (per scenario and step): the spread then
    covers the design as well as the replicates.
    """
    info = read_manifest(out)
    outcomes = outcomes or info["sweep"]["outcomes"]
    by = ["scenario", "step"] if pooled else ["scenario", "point", "step"]
    frames = []
    for outcome in outcomes:
        table = read_table(out, [outcome])
        stats_ = _describe(table, by, outcome)
        stats_.insert(len(by), "outcome", outcome)
        frames.append(stats_)
    return pd.concat(frames, ignore_index=True)


def paired_differences_by_point(
    out: Path, reference: str, outcomes: list[str] | None = None
) -> pd.DataFrame:
    """Scenario minus reference, matched on design point and replicate, per step (95% t-CIs)."""
    info = read_manifest(out)
    outcomes = outcomes or info["sweep"]["outcomes"]
    names = list(info["scenarios"])
    if reference not in names:
        raise UserError(f"--reference {reference!r}: not a scenario of this sweep; choose {names}")
    frames = []
    for outcome in outcomes:
        table = read_table(out, [outcome])
        wide = table.pivot_table(
            index=["point", "replicate", "step"], columns="scenario", values=outcome, dropna=False
        )
        for name in names:
            if name == reference or name not in wide.columns or reference not in wide.columns:
                continue
            diff = (wide[name] - wide[reference]).rename("difference").reset_index()
            stats_ = _describe(diff, ["point", "step"], "difference")
            stats_.insert(0, "scenario", name)
            stats_.insert(1, "reference", reference)
            stats_.insert(4, "outcome", outcome)
            frames.append(stats_)
    return pd.concat(frames, ignore_index=True) if frames else _no_differences()


DIFFERENCE_COLUMNS = (
    "scenario", "reference", "point", "step", "outcome", "n", "mean", "sd",
    "q05", "q25", "median", "q75", "q95", "ci_low", "ci_high",
)  # fmt: skip
"""The columns of :func:`paired_differences_by_point`, also when it has no rows."""


def _no_differences() -> pd.DataFrame:
    """No pairs yet (e.g. a sweep killed while only the reference's runs were stored)."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in DIFFERENCE_COLUMNS})
    return frame.astype({"point": "int64", "step": "int64", "n": "int64"})


def scenarios_without_runs(out: Path) -> list[str]:
    """The sweep's base scenarios of which no run is stored yet (in the sweep's order)."""
    info = read_manifest(out)
    stored = set(read_table(out, ["scenario"])["scenario"]) if stored_runs(out) else set()
    return [name for name in info["scenarios"] if name not in stored]


def horizon_means(out: Path, outcome: str) -> pd.DataFrame:
    """Each scenario's and design point's mean ``outcome`` over its replicates at the horizon."""
    info = read_manifest(out)
    table = read_table(out, [outcome])
    horizon = int(info["steps"])
    at = table[table["step"] == horizon]
    return at.groupby(["scenario", "point"], sort=True)[outcome].mean().reset_index()


def sobol_indices(
    problem: dict[str, Any],
    y: np.ndarray,
    second_order: bool = False,
    seed: int = 0,
    num_resamples: int = 1000,
) -> pd.DataFrame:
    """First-order ``S1`` and total ``ST`` Sobol indices with 95% bootstrap half-widths.

    ``y`` holds the model output at SALib's Saltelli sample, in its order.

    Example:
        >>> from SALib.sample import sobol
        >>> problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
        >>> x = sobol.sample(problem, 256, calc_second_order=False, seed=1)
        >>> idx = sobol_indices(problem, 4 * x[:, 0] + x[:, 1])  # S1: 16/17 and 1/17
        >>> idx["S1"].round(1).tolist()
        [0.9, 0.1]
    """
    from SALib.analyze import sobol

    res = sobol.analyze(
        problem,
        np.asarray(y, dtype=float),
        calc_second_order=second_order,
        num_resamples=num_resamples,
        conf_level=0.95,
        seed=seed,
    )
    return pd.DataFrame(
        {
            "lever": problem["names"],
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )


def morris_indices(
    problem: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    levels: int = 4,
    seed: int = 0,
    num_resamples: int = 1000,
) -> pd.DataFrame:
    """Morris elementary-effect statistics: mu, mu* (with 95% bootstrap half-width), sigma.

    Effects are measured on the unit hypercube, as SALib does: the change in the output for a
    step across a lever's whole range (so levers with different units compare directly).

    Example:
        >>> from SALib.sample import morris
        >>> problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 2]]}
        >>> x = morris.sample(problem, 10, num_levels=4, seed=1)
        >>> morris_indices(problem, x, 3 * x[:, 0] - x[:, 1])["mu_star"].round(6).tolist()
        [3.0, 2.0]
    """
    from SALib.analyze import morris

    res = morris.analyze(
        problem,
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        num_resamples=num_resamples,
        conf_level=0.95,
        num_levels=levels,
        seed=seed,
    )
    return pd.DataFrame(
        {
            "lever": problem["names"],
            "mu": res["mu"],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "sigma": res["sigma"],
        }
    )


def sensitivity(out: Path, outcomes: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Sobol or Morris indices of every horizon outcome, per base scenario.

    Returns the tidy index table and notes on what could not be analysed (e.g. failed runs or
    an outcome undefined at some design points).
    """
    info = read_manifest(out)
    spec = SweepSpec.model_validate(info["sweep"])
    method = spec.design.method
    if method not in ("sobol", "morris"):
        return pd.DataFrame(), []
    problem = salib_problem(spec)
    design = pd.read_parquet(Path(out) / "design.parquet")
    x = design[[f"sample:{name}" for name in problem["names"]]].to_numpy()
    frames, notes = [], []
    for outcome in outcomes or spec.outcomes:
        means = horizon_means(out, outcome)
        for scenario in info["scenarios"]:
            y = (
                means[means["scenario"] == scenario]
                .set_index("point")[outcome]
                .reindex(design["point"])
                .to_numpy()
            )
            missing = int(np.isnan(y).sum())
            if missing:
                notes.append(
                    f"{scenario} / {outcome}: skipped, {missing} of {y.size} design points have "
                    "no value (failed runs, or the outcome is undefined there)"
                )
                continue
            if np.ptp(y) == 0:  # SALib would divide by a zero spread (NaN and warnings)
                notes.append(
                    f"{scenario} / {outcome}: skipped, the same value ({y[0]:g}) at every "
                    "design point, so its sensitivity to the levers is undefined"
                )
                continue
            if method == "sobol":
                idx = sobol_indices(problem, y, spec.design.second_order, seed=spec.seed)
            else:
                idx = morris_indices(problem, x, y, spec.design.levels, seed=spec.seed)
            idx.insert(0, "scenario", scenario)
            idx.insert(1, "outcome", outcome)
            idx.insert(2, "method", method)
            frames.append(idx)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes
