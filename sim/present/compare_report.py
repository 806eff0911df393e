"""The comparison report and the ``compare`` command: HTML and Markdown, the results folder.

:func:`sim.experiments.compare.compare` computes the tables and
:mod:`sim.present.compare_figures` draws the figures; this module renders the self-contained
HTML report (figures embedded as PNG data, every user-supplied string escaped) and the Markdown
summary, and writes the results folder atomically with the manifest last (:func:`write_report`).
``python run_simulation.py compare STATUS_QUO.toml DESIGN.toml`` runs both (:func:`command`).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.compare import (
    DERIVED_OUTCOMES,
    MEASURES,
    CompareError,
    compare,
    population_changes,
)
from sim.experiments.results import manifest, prepare_output_folder, write_results
from sim.experiments.uncertainty import draw_scenarios
from sim.model import memory
from sim.paths import RESULTS
from sim.present import args as opts
from sim.present import wording
from sim.present.compare_figures import figure_differences, figure_trajectories
from sim.present.plots import plt
from sim.present.uncertainty_report import (
    add_posterior_options,
    plan_from_args,
    posterior_section,
    probability_sentences,
)
from sim.scenario import Scenario, load_scenario
from sim.scenario.interventions import EVENT_COLUMNS, check_horizon
from sim.scenario.maps import fingerprint

__all__ = [
    "FILES",
    "command",
    "figure_differences",
    "figure_trajectories",
    "render_html",
    "render_markdown",
    "write_report",
]


# ----------------------------------------------------------------------------- reports
def _png(fig) -> str:
    """The figure as base64 PNG for the HTML report (150 dpi; the files are 300 dpi)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _num(x: float, digits: int = 4) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if digits else f"{x:+.0f}"


def _sentences(result: dict[str, Any]) -> list[str]:
    """One plain sentence per design: who it helps, by how much, how sure, and whether it lasts."""
    diffs = result["differences"].set_index(["scenario", "measure"])
    out = []
    for name in dict.fromkeys(result["differences"]["scenario"]):
        parts = []
        for measure, what in (
            ("welfare_mean", "mean welfare"),
            ("welfare_q1", "welfare of the poorest fifth"),
        ):
            r = diffs.loc[(name, measure)]
            interval = wording.interval(r.ci_low, r.ci_high, r.n)
            if r.verdict in ("better", "worse"):
                move = "rises" if r.mean_difference > 0 else "falls"
                parts.append(f"{what} {move} by {abs(r.mean_difference):.4f} ({interval})")
            elif r.n < wording.MIN_FOR_INTERVAL:
                parts.append(f"{what}: {r.mean_difference:+.4f} ({interval})")
            else:
                parts.append(f"{what}: no clear difference ({r.mean_difference:+.4f}, {interval})")
        text = f"{name}: compared with {result['reference']}, " + "; ".join(parts) + "."
        mean, q1 = diffs.loc[(name, "welfare_mean")], diffs.loc[(name, "welfare_q1")]
        if q1.verdict == "better" and q1.ci_low > mean.ci_high:
            text += " The poorest fifth gains more than the average household."
        elif mean.verdict == "better" and q1.ci_high < mean.ci_low:
            text += " The poorest fifth gains less than the average household."
        if (name, "welfare_retained") in diffs.index:
            r = diffs.loc[(name, "welfare_retained")]
            more = "more" if r.mean_difference >= 0 else "less"
            text += (
                f" {result['retention_lag']} steps after funding ends it keeps "
                f"{_pct(r.mean_difference)} percentage points {more} of the welfare gained by "
                f"then ({r.verdict})."
            )
        out.append(text)
    return out


def _pct(x: float) -> str:
    return f"{abs(100 * x):.1f}" if np.isfinite(x) else "n/a"


def _main_rows(result: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for r in result["differences"].itertuples():
        rows.append(
            {
                "design": r.scenario,
                "measure": r.label,
                "difference": _num(r.mean_difference),
                "95% interval": wording.interval_brackets(r.ci_low, r.ci_high, r.n),
                "verdict": r.verdict,
                "n": str(r.n),
            }
        )
    return rows


def render_markdown(result: dict[str, Any], info: dict[str, Any]) -> str:
    """The Markdown summary: verdicts, the table of paired differences and the settings."""
    lines = [
        f"# Policy designs compared with `{result['reference']}`",
        "",
        f"{result['replications']} paired replicates (common random numbers), "
        f"{result['steps']} steps (months), root seed {info['root_seed']}.",
        _funding_line(result),
        "",
        "## In short",
        "",
        *[f"- {s}" for s in _sentences(result)],
        "",
        "## Paired differences (design − status quo)",
        "",
        "| design | measure | difference | 95% interval | verdict | n |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in _main_rows(result):
        lines.append("| " + " | ".join(v.replace("|", "\\|") for v in row.values()) + " |")
    lines += ["", *posterior_section(result)]
    lines += ["## Extra resources per extra unit of welfare", ""]
    for r in result["incremental"].itertuples():
        value = r.resources_per_extra_welfare
        lines.append(
            f"- {r.scenario}: "
            + (f"{value:.2f}" if np.isfinite(value) else "n/a")
            + (f" ({r.note})" if r.note else "")
        )
    lines += ["", "Files: " + ", ".join(info["files"]), ""]
    return "\n".join(lines)


def _funding_line(result: dict[str, Any]) -> str:
    if result["funding_end"] is None:
        return (
            "No design ends funding, so sustainability (welfare retained after funding "
            "ends) is not computed."
        )
    return (
        f"Funding ends after step {result['funding_end']}; sustainability is measured "
        f"{result['retention_lag']} steps later."
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;font-size:0.9em;margin:1em 0}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.better{background:#e3f4e1}.worse{background:#f9e0de}
pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.8em}
img{max-width:100%} details{margin:0.6em 0}
"""


def render_html(
    result: dict[str, Any], info: dict[str, Any], configs: dict[str, Any], figures: list[str]
) -> str:
    """The self-contained HTML report; every user-supplied string is escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Policy comparison: designs vs {e(result['reference'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Policy designs compared with <em>{e(result['reference'])}</em></h1>",
        f"<p>{result['replications']} paired replicates per design (common random numbers: "
        "each replicate uses the same households, villages and ties in every design), "
        f"{result['steps']} steps of one month, root seed {int(info['root_seed'])}. "
        f"{e(_funding_line(result))}</p>",
        "<h2>In short</h2><ul>",
        *[f"<li>{e(s)}</li>" for s in _sentences(result)],
        "</ul>",
        "<p>A difference is <em>clear</em> when its 95% interval excludes zero. 'better' or "
        "'worse' is from the households' side: lower poverty, inequality and cost are better."
        "</p>",
        "<h2>Paired differences (design − status quo)</h2>",
        "<table><thead><tr><th>design</th><th>measure</th><th>difference</th>"
        "<th>95% interval</th><th>verdict</th><th>n</th></tr></thead><tbody>",
    ]
    for row in _main_rows(result):
        cls = row["verdict"] if row["verdict"] in ("better", "worse") else ""
        parts.append(
            f'<tr class="{cls}"><td>{e(row["design"])}</td><td>{e(row["measure"])}</td>'
            f'<td class="num">{e(row["difference"])}</td><td class="num">'
            f'{e(row["95% interval"])}</td><td>{e(row["verdict"])}</td><td class="num">'
            f"{e(row['n'])}</td></tr>"
        )
    parts.append("</tbody></table>")
    if "plan" in result:
        unc = result["uncertainty"]
        parts.append(f"<h2>Across {len(result['plan'])} posterior draws</h2><ul>")
        parts += [f"<li>{e(x)}</li>" for x in probability_sentences(result)]
        parts.append("</ul>")
        diff = unc[unc["kind"] == "difference"]
        cols = ["scenario", "label", "mean", "param_low", "param_high", "noise_low", "noise_high"]
        parts.append(_frame_html(diff[[*cols, "param_share"]]))
    parts.append("<h2>Figures</h2>")
    for png in figures:
        parts.append(f'<p><img alt="figure" src="data:image/png;base64,{png}"></p>')
    parts.append("<h2>Each design on its own (mean and 95% interval over replicates)</h2>")
    parts.append(
        _frame_html(result["designs"][["scenario", "label", "n", "mean", "ci_low", "ci_high"]])
    )
    parts.append("<h2>Extra resources per extra unit of welfare</h2>")
    parts.append(_frame_html(result["incremental"]))
    parts.append("<h2>Interventions that fired</h2>")
    parts.append(_events_html(result["events"]))
    parts.append(
        "<h2>Definitions</h2><ul>"
        + "".join(f"<li><b>{e(v)}</b> (<code>{e(k)}</code>)</li>" for k, v in MEASURES.items())
        + "</ul><p>Horizon measures are read at the last step. Welfare gain retained = "
        "(W<sub>e+k</sub> − W<sub>0</sub>) / (W<sub>e</sub> − W<sub>0</sub>), e = last step "
        "with full funding, k = retention lag. Resources per unit of welfare gained = resources "
        "spent per household over the run / (W<sub>T</sub> − W<sub>0</sub>). Paired "
        "differences are design minus status quo for the same replicate seed; intervals are "
        "t-intervals over the replicate pairs (sim.experiments.paired_differences).</p>"
    )
    parts.append("<h2>Designs: full resolved configurations</h2>")
    for name, cfg in configs.items():
        parts.append(
            f"<details><summary>{e(name)}</summary><pre>{e(json.dumps(cfg, indent=2))}</pre>"
            "</details>"
        )
    parts.append("<h2>Manifest</h2>")
    parts.append(f"<pre>{e(json.dumps(info, indent=2, default=str))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _frame_html(df: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float | np.floating):
                cells.append(f'<td class="num">{e(_num(float(v)).lstrip("+"))}</td>')
            else:
                cells.append(f"<td>{e(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _events_html(events: pd.DataFrame) -> str:
    if events is None or events.empty:
        return "<p>No intervention fired.</p>"
    g = events.groupby(["scenario", "intervention", "action"], sort=False)
    summary = g.agg(
        firings=("step", "size"),
        replicates=("replicate", "nunique"),
        first_step=("step", "min"),
        last_step=("step", "max"),
    ).reset_index()
    return _frame_html(summary) + "<p>Every firing is listed in events.csv.</p>"


# ----------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = opts.Parser(
        prog="run_simulation.py compare",
        description=(
            "Compare policy designs with a status quo (the first file): runs every design with "
            "common random numbers and reports paired differences with 95% intervals in an "
            "HTML report, a Markdown summary and CSV tables."
        ),
        epilog="Example: python run_simulation.py compare scenarios/policies/status_quo.toml "
        "scenarios/policies/community_seat.toml --replications 20",
    )
    p.add_argument(
        "designs",
        nargs="+",
        metavar="DESIGN.toml",
        help="scenario files; the first is the status quo",
    )
    p.add_argument(
        "--replications", type=opts.replications, help="paired replicates per design (default: 20)"
    )
    p.add_argument("--steps", type=opts.steps, help="steps per run (default: status quo's)")
    p.add_argument("--seed", type=opts.seed, help="root seed (default: the status quo's run.seed)")
    p.add_argument(
        "--workers",
        type=opts.workers,
        default=1,
        help="processes to use (results do not depend on it)",
    )
    p.add_argument("--out", type=Path, help="output folder (default: results/<timestamp>/)")
    p.add_argument("--overwrite", action="store_true", help="allow a non-empty --out")
    opts.add_set_option(p, "in every design")
    p.add_argument(
        "--funding-end",
        type=opts.int_at_least(0, "0 or more", maximum=opts.MAX_STEPS),
        help="last step with full funding (default: read from the designs)",
    )
    p.add_argument(
        "--retention-lag",
        type=opts.int_at_least(1, maximum=opts.MAX_STEPS),
        default=24,
        help="steps after funding ends at which welfare retained is read (24)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    opts.add_figure_format_option(p)
    add_posterior_options(p)
    return p


def command(argv: list[str]) -> int:
    """``compare``: run the designs, print the verdicts and write the report."""
    args = _parser().parse_args(argv)
    if len(args.designs) < 2:
        raise CompareError("compare needs a status quo and at least one design (two files)")
    # --set first, as run does, so a --set run.steps is the status quo's horizon too.
    scenarios = [load_scenario(path, args.overrides) for path in args.designs]
    steps = args.steps or scenarios[0].run.steps
    horizon = f"--steps {steps}" if args.steps else f"the status quo's run.steps = {steps}"
    for path, design in zip(args.designs, scenarios, strict=True):
        check_horizon(design, steps, str(path), horizon)
    # Every design runs the same horizon; a problem it causes names the horizon, not --set.
    scenarios = [
        s.with_overrides({"run.steps": steps}, source=f"{path} with {horizon}").model_copy()
        for path, s in zip(args.designs, scenarios, strict=True)
    ]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise CompareError(f"design names must be unique; got {names} (set name = ... in files)")
    if args.funding_end is not None and args.funding_end >= steps:
        raise CompareError(
            f"--funding-end {args.funding_end}: must be before the last step ({steps})"
        )
    for path, design in zip(args.designs[1:], scenarios[1:], strict=True):
        changed = population_changes(scenarios[0], design)
        if changed:
            print(
                f"note: {path}: its population differs from the status quo's ({changed}); "
                "paired differences then mix the policy with a different district",
                file=sys.stderr,
            )
    replications = args.replications or 20
    root_seed = scenarios[0].run.seed if args.seed is None else args.seed
    plan = plan_from_args(args, root_seed)
    runs = replications * (len(plan) if plan else 1)
    memory.check_fits(
        scenarios, replications=runs, steps=steps, workers=args.workers, files=args.designs
    )
    out = prepare_output_folder(args.out, RESULTS, args.overwrite)
    result = compare(
        scenarios,
        replications=replications,
        root_seed=root_seed,
        workers=args.workers,
        progress=not args.no_progress,
        funding_end_step=args.funding_end,
        retention_lag=args.retention_lag,
        plan=plan,
    )
    write_report(out, scenarios, result, root_seed, args.figure_format)
    print(f"Designs compared with {result['reference']} ({replications} paired replicates):")
    for sentence in _sentences(result):
        print(f"- {sentence}")
    if plan is not None:
        print(f"Across {len(plan)} posterior draws:")
        for sentence in probability_sentences(result):
            print(f"- {sentence}")
    print(f"\nreport: {out / 'report.html'}")
    return 0


FILES = (
    "timeseries.csv",
    "events.csv",
    "per_replicate.csv",
    "differences.csv",
    "designs.csv",
    "incremental.csv",
    "summary.md",
    "report.html",
    "data_dictionary.csv",
)
"""The tables and reports of a comparison folder; :func:`files` adds the figures."""


def files(figure_format: str = "png") -> list[str]:
    """What a comparison folder holds, besides ``manifest.json``, for a figure format.

    Example:
        >>> [f for f in files("svg") if f.startswith("figure_")]
        ['figure_differences.svg', 'figure_trajectories.svg']
    """
    return [*FILES, *(f"figure_{name}.{figure_format}" for name in FIGURES)]


POSTERIOR_FILES = ("uncertainty.csv", "probability.csv")
"""What ``--posterior N`` adds to a comparison folder."""

FIGURES = ("differences", "trajectories")
"""The figures of a comparison, written as files and embedded in the HTML report."""


def write_report(
    out: Path,
    scenarios: list[Scenario],
    result: dict[str, Any],
    root_seed: int,
    figure_format: str = "png",
) -> list[Path]:
    """Write every file atomically, the manifest last (a folder without it is incomplete).

    The figures are written as ``figure_differences.FORMAT`` and ``figure_trajectories.FORMAT``
    (PNG at 300 dpi, SVG or PDF) and embedded in ``report.html`` as PNG.

    :func:`sim.experiments.results.write_results` does the writing: the manifest lists every file
    with its size and SHA-256, so :func:`sim.experiments.is_complete` judges the folder, and
    an old manifest (``--overwrite``) is deleted before any file is replaced.
    """
    posterior = "plan" in result
    info = manifest(
        scenarios,
        replications=result["replications"],
        steps=result["steps"],
        root_seed=root_seed,
        files=files(figure_format) + (list(POSTERIOR_FILES) if posterior else []),
    )
    if posterior:
        kept = draw_scenarios(scenarios, result["plan"])[1]
        info["posterior"] = {**result["plan"].manifest(), "kept_by_scenario": kept}
    info["comparison"] = {
        "status_quo": result["reference"],
        "funding_end": result["funding_end"],
        "retention_lag": result["retention_lag"],
    }
    maps_used = {s.population.map for s in scenarios if s.population.map}
    if maps_used:
        info["maps"] = {m: fingerprint(m) for m in sorted(maps_used)}
    events = result["events"]
    if events is None or events.empty:
        events = pd.DataFrame(columns=["scenario", "replicate", "seed", *EVENT_COLUMNS])
    drawn = {"differences": figure_differences(result), "trajectories": figure_trajectories(result)}
    figures = [_png(fig) for fig in drawn.values()]
    configs = {s.name: s.to_dict() for s in scenarios}
    extra = {
        **{f"figure_{name}.{figure_format}": fig for name, fig in drawn.items()},
        "events.csv": events,
        "per_replicate.csv": result["per_replicate"],
        "differences.csv": result["differences"],
        "designs.csv": result["designs"],
        "incremental.csv": result["incremental"],
        "summary.md": render_markdown(result, info),
        "report.html": render_html(result, info, configs, figures),
    }
    if posterior:
        extra["uncertainty.csv"] = result["uncertainty"]
        extra["probability.csv"] = result["probability"]
    try:
        return write_results(
            out, result["timeseries"], info, extra=extra, measures=DERIVED_OUTCOMES
        )
    finally:
        for fig in drawn.values():
            plt.close(fig)
