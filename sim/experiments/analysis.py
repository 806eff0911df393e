"""Analysis of a sweep folder: summaries over replicates, paired differences, sensitivity indices.

Everything reads the store lazily (one outcome column at a time through :mod:`pyarrow.dataset`),
so a sweep of many runs is summarized without loading the whole table.

* Per base scenario, design point and step: mean, sd, median, the 5/25/75/95% quantiles and the
  95% t-interval of the mean over replicates (:func:`summarize_steps`).
* Paired differences against a reference scenario, matched on design point and replicate, which
  common random numbers make meaningful (:func:`paired_differences`).
* Sensitivity of horizon outcomes (each design point's mean over its replicates): Sobol first-
  and total-order indices with bootstrap confidence intervals (Saltelli 2002, Comput. Phys.
  Commun. 145:280; Saltelli et al. 2010, Comput. Phys. Commun. 181:259) and Morris elementary
  effects mu*, sigma (Morris 1991, Technometrics 33:161; Campolongo et al. 2007), through SALib.
* Figures: bands over time, and tornado charts of the indices.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.disk import write_atomic
from sim.experiments.stats import half_width
from sim.experiments.store import (
    compact,
    failures,
    is_complete,
    read_manifest,
    read_table,
    stored_runs,
)
from sim.experiments.sweep import SweepSpec, salib_problem

__all__ = [
    "command",
    "horizon_means",
    "morris_indices",
    "paired_differences",
    "plot_bands",
    "plot_differences",
    "plot_indices",
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


def paired_differences(
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
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
            if method == "sobol":
                idx = sobol_indices(problem, y, spec.design.second_order, seed=spec.seed)
            else:
                idx = morris_indices(problem, x, y, spec.design.levels, seed=spec.seed)
            idx.insert(0, "scenario", scenario)
            idx.insert(1, "outcome", outcome)
            idx.insert(2, "method", method)
            frames.append(idx)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes


# ----------------------------------------------------------------------------- figures
def plot_bands(summary: pd.DataFrame, outcome: str, labels: dict[Any, str] | None = None):
    """Mean over time with 50% and 90% bands, one line per group (scenario or scenario/point).

    ``summary`` is a :func:`summarize_steps` table.
    """
    from sim.present.plots import plt  # backend chosen there: inline in Jupyter, Agg elsewhere

    data = summary[summary["outcome"] == outcome]
    keys = [k for k in ("scenario", "point") if k in data.columns]
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = list(data.groupby(keys, sort=True))
    palette = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
    for i, (key, group) in enumerate(groups):
        color = palette(i % palette.N)
        label = (labels or {}).get(key, " / ".join(map(str, np.atleast_1d(key))))
        ax.fill_between(group["step"], group["q05"], group["q95"], color=color, alpha=0.12)
        ax.fill_between(group["step"], group["q25"], group["q75"], color=color, alpha=0.25)
        ax.plot(group["step"], group["mean"], color=color, label=label)
    ax.set_xlabel("step (month)")
    ax.set_ylabel(outcome)
    pooled = "" if "point" in data.columns else ", design points pooled"
    ax.set_title(f"{outcome}: mean, 50% and 90% bands{pooled}")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_differences(diffs: pd.DataFrame, labels: dict[Any, str] | None = None):
    """Horizon paired differences (scenario - reference) with 95% intervals, one panel each.

    ``diffs`` is a :func:`paired_differences` table; one row per scenario and design point.
    """
    from sim.present.plots import plt  # backend chosen there: inline in Jupyter, Agg elsewhere

    at = diffs[diffs["step"] == diffs["step"].max()]
    outcomes = list(dict.fromkeys(at["outcome"]))
    cols = min(3, len(outcomes))
    rows = -(-len(outcomes) // cols)
    groups = at[["scenario", "point"]].drop_duplicates().itertuples(index=False)
    keys = [tuple(k) for k in groups]
    height = 1.0 + 0.28 * len(keys)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, height * rows), squeeze=False)
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        part = at[at["outcome"] == outcome].set_index(["scenario", "point"]).reindex(keys)
        pos = np.arange(len(keys))
        err = np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
        ax.errorbar(part["mean"], pos, xerr=err, fmt="o", ms=3, color="C0", capsize=2)
        ax.axvline(0, color="k", lw=0.5)
        names = [(labels or {}).get(k, f"{k[0]} #{k[1]}") for k in keys]
        ax.set_yticks(pos, names, fontsize=7)
        ax.set_title(outcome, fontsize=9)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    reference = at["reference"].iloc[0]
    fig.suptitle(f"Paired differences from {reference} at the horizon (95% CI)")
    fig.tight_layout()
    return fig


def plot_indices(indices: pd.DataFrame, scenario: str):
    """Tornado charts of the sensitivity indices: one panel per outcome, levers sorted."""
    from sim.present.plots import plt  # backend chosen there: inline in Jupyter, Agg elsewhere

    data = indices[indices["scenario"] == scenario]
    outcomes = list(dict.fromkeys(data["outcome"]))
    cols = min(3, len(outcomes))
    rows = -(-len(outcomes) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    sobol = "ST" in data.columns and data["ST"].notna().any()
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        part = data[data["outcome"] == outcome]
        part = part.sort_values("ST" if sobol else "mu_star")
        pos = np.arange(len(part))
        if sobol:
            ax.barh(pos + 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="ST", color="C0")
            ax.barh(pos - 0.2, part["S1"], 0.4, xerr=part["S1_conf"], label="S1", color="C1")
            ax.axvline(0, color="k", lw=0.5)
        else:
            ax.barh(pos + 0.2, part["mu_star"], 0.4, xerr=part["mu_star_conf"], label="μ*")
            ax.barh(pos - 0.2, part["sigma"], 0.4, label="σ", color="C3")
        ax.set_yticks(pos, [lever.split(".")[-1] for lever in part["lever"]], fontsize=8)
        ax.set_title(outcome, fontsize=9)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, loc="lower right")
    kind = "Sobol indices (95% CI)" if sobol else "Morris μ* (95% CI) and σ"
    fig.suptitle(f"{scenario}: {kind} of horizon outcomes")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- command line
def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda p: frame.to_csv(p, index=False))


def _write_png(path: Path, fig) -> None:
    import matplotlib.pyplot as plt

    write_atomic(path, lambda p: fig.savefig(p, dpi=120, bbox_inches="tight", format="png"))
    plt.close(fig)


def unfinished(out: Path, info: dict[str, Any], failed: int) -> str:
    """A sentence saying how much of the sweep in ``out`` is missing (empty if complete).

    ``failed`` runs (recorded in ``failed/``) count as missing; the analysis then covers the
    stored runs only.
    """
    if is_complete(out):
        return ""
    sweep_file = shlex.quote(str(info.get("sweep_file") or "FILE"))
    command = f"python run_simulation.py sweep {sweep_file} --out {shlex.quote(str(out))}"
    return (
        f"the sweep is incomplete: {stored_runs(out)} of {info.get('runs_total')} runs are "
        f"stored ({failed} failed); the tables and figures cover the stored runs only. To "
        f"finish it, run again: {command}" + (" --retry-failed" if failed else "")
    )


def analyze(
    out: Path, reference: str | None = None, figures: bool = True, max_lines: int = 12
) -> list[Path]:
    """Write the summary tables and figures of a sweep folder into ``out/analysis/``."""
    out = Path(out)
    info = read_manifest(out)
    spec = info["sweep"]
    failed = failures(out)
    incomplete = unfinished(out, info, len(failed))
    compact(out)  # one file to scan per outcome instead of one per run
    target = out / "analysis"
    target.mkdir(exist_ok=True)
    written: list[Path] = []

    def save(name: str, obj: Any) -> None:
        path = target / name
        if isinstance(obj, pd.DataFrame):
            _write_csv(path, obj)
        else:
            _write_png(path, obj)
        written.append(path)

    design = pd.read_parquet(out / "design.parquet")
    levers = [c for c in design.columns if c != "point" and not c.startswith("sample:")]
    summary = summarize_steps(out)
    save("summary_by_step.csv", summary.merge(design[["point", *levers]], on="point"))
    pooled = summarize_steps(out, pooled=True)
    save("summary_pooled.csv", pooled)
    reference = reference or spec.get("reference")
    diffs = pd.DataFrame()
    if reference is not None and len(info["scenarios"]) > 1:
        diffs = paired_differences(out, reference)
        save("paired_differences.csv", diffs.merge(design[["point", *levers]], on="point"))
    indices, notes = sensitivity(out)
    if not indices.empty:
        save(f"{spec['design']['method']}_indices.csv", indices)
    save("failed_runs.csv", failed)
    if figures:
        few = summary["point"].nunique() * summary["scenario"].nunique() <= max_lines
        bands = summary if few else pooled
        labels = None
        if few and levers:
            by_point = design.set_index("point")[levers]
            labels = {
                (s, p): f"{s} "
                + ", ".join(
                    f"{k.split('.')[-1]}={by_point.at[p, k]:g}"
                    if isinstance(by_point.at[p, k], float)
                    else f"{k.split('.')[-1]}={by_point.at[p, k]}"
                    for k in levers
                )
                for s, p in summary[["scenario", "point"]].drop_duplicates().itertuples(index=False)
            }
        for outcome in spec["outcomes"]:
            save(f"bands_{outcome}.png", plot_bands(bands, outcome, labels))
        if not diffs.empty and few:
            save("paired_differences.png", plot_differences(diffs, labels))
        if not indices.empty:
            for scenario in indices["scenario"].unique():
                save(f"sensitivity_{scenario}.png", plot_indices(indices, scenario))
    if incomplete:
        notes.insert(0, incomplete)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if len(failed):
        print(f"note: {len(failed)} failed runs (see analysis/failed_runs.csv)", file=sys.stderr)
    return written


def command(argv: list[str]) -> int:
    """``python run_simulation.py analyze DIR [--reference NAME] [--no-figures]``."""
    from sim.present.cli import _Parser

    p = _Parser(
        prog="run_simulation.py analyze",
        description=(
            "Summarize a sweep folder: statistics over replicates per scenario, design point "
            "and step; paired differences against a reference scenario; Sobol or Morris "
            "indices of horizon outcomes; figures. Writes DIR/analysis/."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a folder written by 'sweep'")
    p.add_argument("--reference", help="reference scenario (default: the sweep file's)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    args = p.parse_args(argv)
    written = analyze(args.dir, args.reference, figures=not args.no_figures)
    indices = [p for p in written if p.name.endswith("_indices.csv")]
    if indices:
        table = pd.read_csv(indices[0])
        cols = [c for c in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma") if c in table]
        with pd.option_context("display.width", 120, "display.max_rows", 60):
            print(table[["scenario", "outcome", "lever", *cols]].round(3).to_string(index=False))
    for path in written:
        print(path)
    return 0
