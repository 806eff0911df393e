"""The sweep commands and what ``analyze`` writes: tables, figures and notes in ``DIR/analysis/``.

``python run_simulation.py sweep FILE`` runs a sweep into a resumable folder
(:func:`sim.experiments.sweep.run_sweep`); ``python run_simulation.py analyze DIR`` computes
its summaries, paired differences and sensitivity indices (:mod:`sim.experiments.analysis`)
and writes them with their figures (:func:`analyze`): bands over time, paired differences,
and tornado charts of the indices.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.analysis import (
    paired_differences_by_point,
    scenarios_without_runs,
    sensitivity,
    summarize_steps,
)
from sim.experiments.dictionary import DICTIONARY, data_dictionary
from sim.experiments.disk import write_atomic
from sim.experiments.results import save_figure
from sim.experiments.store import (
    StoreError,
    compact,
    failures,
    is_complete,
    read_manifest,
    stored_runs,
    verify,
)
from sim.experiments.sweep import load_sweep, run_sweep
from sim.paths import RESULTS
from sim.present import args as opts
from sim.present.plots import (
    LINE_STYLES,
    OKABE_ITO,
    PAPER,
    axis_label,
    caption,
    conditional,
    plt,
    title,
)
from sim.scenario.outcomes import label as declared_label

__all__ = [
    "analyze",
    "analyze_command",
    "plot_bands",
    "plot_differences",
    "plot_indices",
    "sweep_command",
    "unfinished",
]


# ----------------------------------------------------------------------------- figures
def _style(i: int) -> dict[str, Any]:
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "ls": LINE_STYLES[i % len(LINE_STYLES)]}


def _runs(data: pd.DataFrame) -> str:
    n = data.loc[data["n"] > 0, "n"]
    if n.empty:
        return "0"
    low, high = int(n.min()), int(n.max())
    return str(low) if low == high else f"{low}-{high}"


def plot_bands(summary: pd.DataFrame, outcome: str, labels: dict[Any, str] | None = None):
    """Mean over time with 50% and 90% bands, one line per group (scenario or scenario/point).

    ``summary`` is a :func:`~sim.experiments.analysis.summarize_steps` table. The bands are the
    spread of the runs (quantiles over replicates, and over design points when pooled), not
    intervals of the mean; the caption says so.
    """
    data = summary[summary["outcome"] == outcome]
    keys = [k for k in ("scenario", "point") if k in data.columns]
    groups = list(data.groupby(keys, sort=True))
    fade = min(1.0, 3.0 / max(1, len(groups)))  # many stacked bands would hide the lines
    with plt.rc_context(PAPER):
        fig, ax = plt.subplots(figsize=(6.0, 3.4), layout="constrained")
        missing = []
        for i, (key, group) in enumerate(groups):
            label = (labels or {}).get(key, " / ".join(map(str, np.atleast_1d(key))))
            if group["mean"].isna().all():
                missing.append(label)
                continue
            st = _style(i)
            ax.fill_between(group["step"], group["q05"], group["q95"], color=st["color"],
                            alpha=0.10 * fade, lw=0)  # fmt: skip
            ax.fill_between(group["step"], group["q25"], group["q75"], color=st["color"],
                            alpha=0.22 * fade, lw=0)  # fmt: skip
            ax.plot(group["step"], group["mean"], label=label, lw=1.3, **st)
        if missing:
            _no_values(ax, missing, outcome)
        ax.set_xlabel("month (step)")
        ax.set_ylabel(axis_label(outcome))
        pooled = "" if "point" in data.columns else ", design points pooled"
        ax.set_title(f"{title(outcome)}{pooled}")
        ax.grid(alpha=0.3, lw=0.5)
        if len(groups) > 6:
            fig.legend(loc="outside right upper", frameon=False)
        elif ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", frameon=False)
    text = (
        f"Lines: mean over {_runs(data)} runs per line; inner band: 25th-75th percentile, "
        "outer band: 5th-95th percentile of the runs (their spread, not an interval of the "
        "mean)."
    )
    if conditional(outcome):
        text += " Conditional mean: only runs with an active partnership at that step count."
    caption(fig, text)
    return fig


def _no_values(ax, missing: list[str], outcome: str) -> None:
    """Name the series that have no values, in the panel's lower left corner."""
    why = "undefined without a partnership" if conditional(outcome) else "no finite values"
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    ax.text(0.01, 0.02, f"no line for {shown}:\n{why}", transform=ax.transAxes, ha="left",
            va="bottom", fontsize=6.5, color="0.35")  # fmt: skip


def _empty_panel(ax, outcome: str, reference: str) -> None:
    """Explain a panel of paired differences that has no values at all."""
    if conditional(outcome):
        why = (
            f"No paired difference:\n{declared_label(outcome).lower()} is undefined\n"
            f"in '{reference}', which has\nno partnership to compare with."
        )
    else:
        why = "No paired difference:\nno finite values."
    ax.set_yticks([])
    ax.set_xticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=7.5,
            color="0.3")  # fmt: skip


def plot_differences(diffs: pd.DataFrame, labels: dict[Any, str] | None = None):
    """Horizon paired differences (scenario - reference) with 95% intervals, one panel each.

    ``diffs`` is a :func:`~sim.experiments.analysis.paired_differences_by_point` table; one row
    per scenario and design point. A panel without values (an outcome undefined in the
    reference, such as partner trust against a scenario without a partnership) says why.
    """
    at = diffs[diffs["step"] == diffs["step"].max()]
    outcomes = list(dict.fromkeys(at["outcome"]))
    cols = min(3, len(outcomes))
    rows = -(-len(outcomes) // cols)
    groups = at[["scenario", "point"]].drop_duplicates().itertuples(index=False)
    keys = [tuple(k) for k in groups]
    height = 1.1 + 0.24 * len(keys)
    reference = at["reference"].iloc[0]
    with plt.rc_context(PAPER):
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, height * rows), squeeze=False,
                                 layout="constrained")  # fmt: skip
        names = [(labels or {}).get(k, f"{k[0]} #{k[1]}") for k in keys]
        for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
            part = at[at["outcome"] == outcome].set_index(["scenario", "point"]).reindex(keys)
            pos = np.arange(len(keys))[::-1]
            ax.set_title(title(outcome))
            if part["mean"].isna().all():
                _empty_panel(ax, outcome, reference)
                continue
            ax.set_yticks(pos, names)
            err = np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
            ax.errorbar(part["mean"], pos, xerr=np.nan_to_num(err), fmt="o", ms=3,
                        color=OKABE_ITO[4], ecolor="0.3", capsize=2, lw=0.8)  # fmt: skip
            ax.axvline(0, color="0.3", lw=0.6)
            ax.set_xlabel(axis_label(outcome, "difference"))
            ax.grid(axis="x", alpha=0.3, lw=0.5)
        for ax in axes.ravel()[len(outcomes) :]:
            ax.axis("off")
        fig.suptitle(f"Paired differences from '{reference}' at the horizon", fontsize=9)
    caption(
        fig,
        f"Points: mean paired difference, scenario minus '{reference}' at the same design point "
        f"and replicate seed; bars: 95% t-interval over {_runs(at)} replicate pairs.",
    )
    return fig


def plot_indices(indices: pd.DataFrame, scenario: str):
    """Tornado charts of the sensitivity indices: one panel per outcome, levers sorted."""
    data = indices[indices["scenario"] == scenario]
    outcomes = list(dict.fromkeys(data["outcome"]))
    cols = min(3, len(outcomes))
    rows = -(-len(outcomes) // cols)
    sobol = "ST" in data.columns and data["ST"].notna().any()
    n_levers = data["lever"].nunique()
    with plt.rc_context(PAPER):
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, (0.9 + 0.3 * n_levers) * rows),
                                 squeeze=False, layout="constrained")  # fmt: skip
        for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
            part = data[data["outcome"] == outcome]
            part = part.sort_values("ST" if sobol else "mu_star")
            pos = np.arange(len(part))
            if sobol:
                ax.barh(pos + 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="ST (total)",
                        color=OKABE_ITO[4], capsize=2)  # fmt: skip
                ax.barh(pos - 0.2, part["S1"], 0.4, xerr=part["S1_conf"],
                        label="S1 (first order)", color=OKABE_ITO[1], capsize=2)  # fmt: skip
                ax.axvline(0, color="0.3", lw=0.6)
                ax.set_xlabel("share of the outcome's variance")
            else:
                ax.barh(pos + 0.2, part["mu_star"], 0.4, xerr=part["mu_star_conf"],
                        label="μ* (mean |effect|)", color=OKABE_ITO[4], capsize=2)  # fmt: skip
                ax.barh(pos - 0.2, part["sigma"], 0.4, label="σ (spread of effects)",
                        color=OKABE_ITO[5])  # fmt: skip
                ax.set_xlabel(f"effect over the lever's range ({axis_label(outcome) or 'units'})")
            ax.set_yticks(pos, [lever.split(".")[-1] for lever in part["lever"]])
            ax.set_title(title(outcome))
            ax.grid(axis="x", alpha=0.3, lw=0.5)
        for ax in axes.ravel()[len(outcomes) :]:
            ax.axis("off")
        axes.ravel()[0].legend(loc="lower right", frameon=False, fontsize=6.5)
        kind = "Sobol indices" if sobol else "Morris elementary effects"
        fig.suptitle(f"{scenario}: {kind} of horizon outcomes", fontsize=9)
    caption(
        fig,
        "Whiskers: 95% bootstrap confidence half-widths (SALib)."
        + ("" if sobol else " σ has no interval."),
    )
    return fig


# ----------------------------------------------------------------------------- command line
def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda p: frame.to_csv(p, index=False))


def _write_figure(path: Path, fig) -> None:
    save_figure(fig, path)
    plt.close(fig)


def _resume_command(out: Path, info: dict[str, Any]) -> str:
    sweep_file = shlex.quote(str(info.get("sweep_file") or "FILE"))
    return f"python run_simulation.py sweep {sweep_file} --out {shlex.quote(str(out))}"


def unfinished(out: Path, info: dict[str, Any], failed: int) -> str:
    """A sentence saying how much of the sweep in ``out`` is missing (empty if complete).

    ``failed`` runs (recorded in ``failed/``) count as missing; the analysis then covers the
    stored runs only.
    """
    if is_complete(out):
        return ""
    command = _resume_command(out, info)
    return (
        f"the sweep is incomplete: {stored_runs(out)} of {info.get('runs_total')} runs are "
        f"stored ({failed} failed); the tables and figures cover the stored runs only. To "
        f"finish it, run again: {command}" + (" --retry-failed" if failed else "")
    )


def analyze(
    out: Path,
    reference: str | None = None,
    figures: bool = True,
    max_lines: int = 12,
    figure_format: str = "png",
) -> list[Path]:
    """Write the summary tables and figures of a sweep folder into ``out/analysis/``.

    Figures are PNG at 300 dpi, SVG or PDF (``figure_format``).
    """
    out = Path(out)
    info = read_manifest(out)
    spec = info["sweep"]
    # Stored files are checked, not trusted: a damaged one is reported and moved aside, and
    # the analysis covers the sound runs (the note below says how to recompute the rest).
    damaged = verify(out)
    if not (out / "design.parquet").is_file():
        raise StoreError(
            f"{out}: design.parquet is missing or was damaged; run the sweep again to rewrite "
            f"it: {_resume_command(out, info)}"
        )
    failed = failures(out)
    incomplete = unfinished(out, info, len(failed))
    compact(out)  # one file to scan per outcome instead of one per run
    absent = scenarios_without_runs(out)
    target = out / "analysis"
    target.mkdir(exist_ok=True)
    written: list[Path] = []
    tables: dict[str, pd.DataFrame] = {}

    def save(name: str, obj: Any) -> None:
        path = target / name
        if isinstance(obj, pd.DataFrame):
            _write_csv(path, obj)
            tables[name] = obj
        else:
            _write_figure(path, obj)
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
        diffs = paired_differences_by_point(out, reference)
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
            save(f"bands_{outcome}.{figure_format}", plot_bands(bands, outcome, labels))
        if not diffs.empty and few:
            save(f"paired_differences.{figure_format}", plot_differences(diffs, labels))
        if not indices.empty:
            for scenario in indices["scenario"].unique():
                save(f"sensitivity_{scenario}.{figure_format}", plot_indices(indices, scenario))
    save(DICTIONARY, data_dictionary(tables))
    if absent:
        pairs = (
            f"no paired differences (none without the reference {reference!r})"
            if reference in absent
            else "no paired differences for them"
        )
        notes.insert(
            0,
            f"no run of {', '.join(absent)} is stored yet: {pairs}; the tables cover the "
            "scenarios with stored runs",
        )
    if incomplete:
        notes.insert(0, incomplete)
    notes[:0] = [f"{out}: {line}" for line in damaged]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if len(failed):
        print(f"note: {len(failed)} failed runs (see analysis/failed_runs.csv)", file=sys.stderr)
    return written


def analyze_command(argv: list[str]) -> int:
    """``python run_simulation.py analyze DIR [--reference NAME] [--no-figures]``."""
    p = opts.Parser(
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
    opts.add_figure_format_option(p)
    args = p.parse_args(argv)
    written = analyze(
        args.dir, args.reference, figures=not args.no_figures, figure_format=args.figure_format
    )
    indices = [p for p in written if p.name.endswith("_indices.csv")]
    if indices:
        table = pd.read_csv(indices[0])
        cols = [c for c in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma") if c in table]
        with pd.option_context("display.width", 120, "display.max_rows", 60):
            print(table[["scenario", "outcome", "lever", *cols]].round(3).to_string(index=False))
    for path in written:
        print(path)
    return 0


# ----------------------------------------------------------------------------- sweep
def sweep_command(argv: list[str]) -> int:
    """``python run_simulation.py sweep FILE [--engine ...] [--out DIR] ...``."""
    p = opts.Parser(
        prog="run_simulation.py sweep",
        description=(
            "Run a sweep file (base scenarios x design x replications) into a resumable "
            "results folder: one Parquet file per run. Re-running the same command resumes, "
            "computing only the missing runs. See docs/sweeps.md."
        ),
        epilog="Then: python run_simulation.py analyze DIR",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="sweep file (TOML), e.g. sweeps/*.toml")
    opts.add_engine_options(p)
    p.add_argument("--out", type=Path, help="results folder (default: results/<sweep name>/)")
    p.add_argument("--retry-failed", action="store_true", help="rerun runs that failed before")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args: argparse.Namespace = p.parse_args(argv)
    sweep = load_sweep(args.file)
    out = args.out or RESULTS / sweep.spec.name
    run_sweep(
        sweep,
        out,
        engine="dask" if args.scheduler else args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        retry_failed=args.retry_failed,
        progress=not args.no_progress,
        sweep_text=args.file.read_text(),
        command=[sys.argv[0], "sweep", *argv],
    )
    print(f"results: {out}\nanalyze: python run_simulation.py analyze {out}")
    return 0
