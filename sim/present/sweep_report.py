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
from sim.present.plots import plt

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
def plot_bands(summary: pd.DataFrame, outcome: str, labels: dict[Any, str] | None = None):
    """Mean over time with 50% and 90% bands, one line per group (scenario or scenario/point).

    ``summary`` is a :func:`~sim.experiments.analysis.summarize_steps` table.
    """
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

    ``diffs`` is a :func:`~sim.experiments.analysis.paired_differences_by_point` table; one row
    per scenario and design point.
    """
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
    write_atomic(path, lambda p: fig.savefig(p, dpi=120, bbox_inches="tight", format="png"))
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
    out: Path, reference: str | None = None, figures: bool = True, max_lines: int = 12
) -> list[Path]:
    """Write the summary tables and figures of a sweep folder into ``out/analysis/``."""
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
            save(f"bands_{outcome}.png", plot_bands(bands, outcome, labels))
        if not diffs.empty and few:
            save("paired_differences.png", plot_differences(diffs, labels))
        if not indices.empty:
            for scenario in indices["scenario"].unique():
                save(f"sensitivity_{scenario}.png", plot_indices(indices, scenario))
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
    p.add_argument(
        "--engine",
        choices=("local", "dask", "serial"),
        default="local",
        help="local process pool (default), Dask distributed, or serial in this process",
    )
    p.add_argument("--workers", type=opts.workers, help="worker processes (default: all cores)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.1:8786 (implies --engine dask)",
    )
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
