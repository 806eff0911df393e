"""Compare policy designs against a status quo: paired differences with 95% intervals.

``python run_simulation.py compare STATUS_QUO.toml DESIGN.toml [...]`` runs every design with
the same replicate seeds (common random numbers: the same households, villages and ties in
every design), pairs each design's replicate with the status quo's replicate of the same seed,
and reports the mean paired difference with a 95% t-interval for each measure in
:data:`MEASURES`. It writes, atomically and with the manifest last:

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

from sim.errors import UserError
from sim.experiments.results import manifest, write_results
from sim.experiments.runs import run_comparison
from sim.experiments.stats import paired_differences, summarize
from sim.model.interventions import EVENT_COLUMNS
from sim.paths import RESULTS
from sim.scenario import Scenario, apply_overrides, load_scenario
from sim.scenario.interventions import check_horizon
from sim.scenario.maps import fingerprint

__all__ = [
    "HORIZON_OUTCOMES",
    "MEASURES",
    "command",
    "compare",
    "funding_end",
    "paired_table",
    "per_replicate",
    "render_html",
    "render_markdown",
]

HORIZON_OUTCOMES = {
    "welfare_mean": "Welfare, mean",
    "welfare_q1": "Welfare, poorest fifth",
    "access_mean": "Access to services",
    "capacity_mean": "Capacity",
    "empowerment_mean": "Empowerment",
    "income_mean": "Income (x poverty line)",
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

MEASURES = {**HORIZON_OUTCOMES, **DERIVED}
"""Every measure of the comparison and its label."""

LOWER_IS_BETTER = {"mpi_m0", "welfare_gini", "resources_spent", "cost_per_welfare"}
"""Measures where a negative difference is an improvement."""

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

    Returns the table and the lag actually used (shortened to fit the run; ``None`` when
    there is no funding end).
    """
    last = int(df["step"].max())
    keys = ["scenario", "replicate", "seed"]
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


def paired_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Paired differences (design − reference) with 95% t-intervals for every measure.

    ``table`` is :func:`per_replicate`'s output; pairs are matched on the replicate seed.
    Uses :func:`sim.experiments.stats.paired_differences`.
    """
    rows = []
    for measure in MEASURES:
        frame = table[["scenario", "seed", measure]].assign(step=0)
        if frame[measure].isna().all():
            continue
        diff = paired_differences(frame, reference, measure, step=0)
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
) -> dict[str, Any]:
    """Run the designs (the first is the status quo) and compute every table.

    Returns a dictionary with ``timeseries``, ``events``, ``per_replicate``, ``differences``,
    ``designs``, ``incremental`` and the settings used (``funding_end``, ``retention_lag``).
    """
    logs: list[pd.DataFrame] = []
    df = run_comparison(
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
    return {
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


# ----------------------------------------------------------------------------- figures
def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure_trajectories(result: dict[str, Any]):
    """Welfare and the poorest fifth's welfare over time, mean and 95% band per design."""
    from sim.present.plots import plot_bands

    fig = plot_bands(
        result["timeseries"], ["welfare_mean", "welfare_q1", "trust_partners", "partnership_active"]
    )
    if result["funding_end"] is not None:
        for ax in fig.axes:
            ax.axvline(result["funding_end"], color="0.3", ls="--", lw=0.9)
        fig.axes[0].annotate(
            "funding ends",
            (result["funding_end"], fig.axes[0].get_ylim()[0]),
            xytext=(3, 4),
            textcoords="offset points",
            fontsize=8,
            color="0.3",
        )
    return fig


def figure_differences(result: dict[str, Any]):
    """Forest plot: each design's paired difference from the status quo, with 95% intervals."""
    import matplotlib.pyplot as plt

    diffs = result["differences"]
    shown = [
        m
        for m in ("welfare_mean", "welfare_q1", "empowerment_mean", "mpi_m0", "welfare_retained")
        if m in set(diffs["measure"])
    ]
    fig, axes = plt.subplots(
        1,
        len(shown),
        figsize=(3.1 * len(shown), 0.5 + 0.45 * diffs["scenario"].nunique() + 1.0),
        squeeze=False,
        sharey=True,
    )
    names = list(dict.fromkeys(diffs["scenario"]))
    for ax, measure in zip(axes.flat, shown, strict=True):
        d = diffs[diffs["measure"] == measure].set_index("scenario").reindex(names)
        y = np.arange(len(names))[::-1]
        err = np.vstack([d["mean_difference"] - d["ci_low"], d["ci_high"] - d["mean_difference"]])
        ax.errorbar(d["mean_difference"], y, xerr=err, fmt="o", color="C0", capsize=3)
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_title(MEASURES[measure], fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_yticks(y, names)
    fig.suptitle(f"Difference from '{result['reference']}' (mean and 95% interval)", fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- reports
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
            interval = f"95% interval {r.ci_low:+.4f} to {r.ci_high:+.4f}"
            if r.verdict in ("better", "worse"):
                move = "rises" if r.mean_difference > 0 else "falls"
                parts.append(f"{what} {move} by {abs(r.mean_difference):.4f} ({interval})")
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
                "95% interval": f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
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
    lines += ["", "## Extra resources per extra unit of welfare", ""]
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
    from sim.present.cli import (
        _add_set_option,
        _int_at_least,
        _Parser,
        _positive_int,
        _replications,
        _seed,
        _steps,
        _workers,
    )

    p = _Parser(
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
        "--replications", type=_replications, help="paired replicates per design (default: 20)"
    )
    p.add_argument("--steps", type=_steps, help="steps per run (default: status quo's)")
    p.add_argument("--seed", type=_seed, help="root seed (default: the status quo's run.seed)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes to use (results do not depend on it)",
    )
    p.add_argument("--out", type=Path, help="output folder (default: results/<timestamp>/)")
    p.add_argument("--overwrite", action="store_true", help="allow a non-empty --out")
    _add_set_option(p, "in every design")
    p.add_argument(
        "--funding-end",
        type=_int_at_least(0, "0 or more"),
        help="last step with full funding (default: read from the designs)",
    )
    p.add_argument(
        "--retention-lag",
        type=_positive_int,
        default=24,
        help="steps after funding ends at which welfare retained is read (24)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def command(argv: list[str]) -> int:
    """``compare``: run the designs, print the verdicts and write the report."""
    args = _parser().parse_args(argv)
    if len(args.designs) < 2:
        raise CompareError("compare needs a status quo and at least one design (two files)")
    scenarios = [load_scenario(path) for path in args.designs]
    steps = args.steps or scenarios[0].run.steps
    for path, design in zip(args.designs, scenarios, strict=True):
        horizon = f"--steps {steps}" if args.steps else f"the status quo's run.steps = {steps}"
        check_horizon(design, steps, str(path), horizon)
    # Every design runs the same horizon; re-validating catches interventions beyond it.
    scenarios = [
        apply_overrides(s, [*args.overrides, f"run.steps={steps}"]).model_copy() for s in scenarios
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
    from sim.experiments import results as experiments
    from sim.model import memory

    replications = args.replications or 20
    memory.check_fits(
        scenarios, replications=replications, steps=steps, workers=args.workers, files=args.designs
    )
    out = experiments.prepare_output_folder(args.out, RESULTS, args.overwrite)
    root_seed = scenarios[0].run.seed if args.seed is None else args.seed
    result = compare(
        scenarios,
        replications=replications,
        root_seed=root_seed,
        workers=args.workers,
        progress=not args.no_progress,
        funding_end_step=args.funding_end,
        retention_lag=args.retention_lag,
    )
    write_report(out, scenarios, result, root_seed)
    print(f"Designs compared with {result['reference']} ({replications} paired replicates):")
    for sentence in _sentences(result):
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
)
"""What a comparison folder holds, besides ``manifest.json`` (written last)."""


def write_report(
    out: Path, scenarios: list[Scenario], result: dict[str, Any], root_seed: int
) -> list[Path]:
    """Write every file atomically, the manifest last (a folder without it is incomplete).

    :func:`sim.experiments.write_results` does the writing: the manifest lists every file
    with its size and SHA-256, so :func:`sim.experiments.is_complete` judges the folder, and
    an old manifest (``--overwrite``) is deleted before any file is replaced.
    """
    info = manifest(
        scenarios,
        replications=result["replications"],
        steps=result["steps"],
        root_seed=root_seed,
        files=list(FILES),
    )
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
    figures = [_png(figure_differences(result)), _png(figure_trajectories(result))]
    configs = {s.name: s.to_dict() for s in scenarios}
    extra = {
        "events.csv": events,
        "per_replicate.csv": result["per_replicate"],
        "differences.csv": result["differences"],
        "designs.csv": result["designs"],
        "incremental.csv": result["incremental"],
        "summary.md": render_markdown(result, info),
        "report.html": render_html(result, info, configs, figures),
    }
    return write_results(out, result["timeseries"], info, extra=extra)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command(sys.argv[1:]))
