"""``--posterior N`` on the command line: the options, the draws, and how uncertainty is told.

``run``, ``compare`` and ``validate`` take ``--posterior N`` (and ``--posterior-file PATH``,
default the shipped ``calibration/posterior.parquet``): ``N`` draws of the calibrated levers,
each run with every replicate (:mod:`sim.experiments.uncertainty`). This module adds the
options (:func:`add_posterior_options`), turns them into a plan (:func:`plan_from_args`:
a missing or incompatible file is one error line, exit code 2) and words the two kinds of
uncertainty for tables, sentences and a figure.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.present import args as opts
from sim.scenario.posterior import POSTERIOR_FILE, load_posterior

__all__ = [
    "MAX_DRAWS",
    "add_posterior_options",
    "figure_uncertainty",
    "markdown_table",
    "plan_from_args",
    "posterior_section",
    "probability_sentences",
]

MAX_DRAWS = 10_000
"""Most posterior draws a command takes."""


def add_posterior_options(p: argparse.ArgumentParser) -> None:
    """Add ``--posterior N`` and ``--posterior-file PATH``."""
    p.add_argument(
        "--posterior",
        type=opts.int_at_least(1, maximum=MAX_DRAWS),
        metavar="N",
        help="run under N draws of the calibrated levers (posterior sample), each with every "
        "replicate; reports parameter uncertainty apart from run-to-run noise",
    )
    p.add_argument(
        "--posterior-file",
        type=Path,
        metavar="PATH",
        help="posterior sample (Parquet; default: calibration/posterior.parquet)",
    )


def plan_from_args(args: argparse.Namespace, root_seed: int):
    """The :class:`~sim.experiments.uncertainty.DrawPlan` asked for, or ``None``.

    Raises:
        UserError: ``--posterior-file`` without ``--posterior``, or a posterior file that is
            missing or breaks the format (:class:`~sim.scenario.posterior.PosteriorError`).
    """
    if args.posterior is None:
        if args.posterior_file is not None:
            raise UserError("--posterior-file needs --posterior N (the number of draws to run)")
        return None
    from sim.experiments.uncertainty import plan_draws

    posterior = load_posterior(args.posterior_file or POSTERIOR_FILE)
    return plan_draws(posterior, args.posterior, root_seed)


def _f(x: float, spec: str = ".4f") -> str:
    return f"{x:{spec}}" if x is not None and np.isfinite(x) else "n/a"


def markdown_table(table: pd.DataFrame, first: list[str]) -> list[str]:
    """Rows of a decomposition (``first`` key columns, then the mean and both intervals)."""
    head = [
        *first,
        "mean",
        "parameter 95% interval",
        "run-to-run noise 95% interval",
        "parameter share of variance",
        "draws x replicates",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in table.itertuples(index=False):
        d = r._asdict()
        cells = [str(d[k]) for k in first]
        cells += [
            _f(d["mean"], "+.4f"),
            f"[{_f(d['param_low'], '+.4f')}, {_f(d['param_high'], '+.4f')}]",
            f"[{_f(d['noise_low'], '+.4f')}, {_f(d['noise_high'], '+.4f')}]",
            _f(100 * d["param_share"], ".0f") + "%",
            f"{int(d['draws'])} x {d['replicates']:g}",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def probability_sentences(result: dict[str, Any]) -> list[str]:
    """One sentence per design: how likely it beats the status quo for the poorest fifth."""
    prob = result["probability"]
    unc = result["uncertainty"].set_index(["scenario", "kind", "measure"])
    out = []
    for r in prob[prob["measure"] == "welfare_q1"].itertuples():
        d = unc.loc[(r.scenario, "difference", "welfare_q1")]
        out.append(
            f"{r.scenario}: beats {r.reference} for the poorest fifth in {r.better_draws} of "
            f"{r.draws} posterior draws (probability {r.probability_better:.2f}); mean "
            f"difference {d['mean']:+.4f}, parameter 95% interval {_f(d['param_low'], '+.4f')} "
            f"to {_f(d['param_high'], '+.4f')}, run-to-run noise 95% interval "
            f"{_f(d['noise_low'], '+.4f')} to {_f(d['noise_high'], '+.4f')}."
        )
    return out


def figure_uncertainty(table: pd.DataFrame, title: str):
    """Each row's mean with its parameter interval (thin) and noise interval (thick)."""
    from sim.present.plots import OKABE_ITO, plt

    labels = [str(x) for x in table["scenario"]]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(labels) + 1.2))
    y = np.arange(len(labels))[::-1]
    mean = table["mean"].to_numpy(float)
    for low, high, width, color, name in (
        ("param_low", "param_high", 1.5, OKABE_ITO[2], "parameter uncertainty (95%)"),
        ("noise_low", "noise_high", 6.0, OKABE_ITO[1], "run-to-run noise (95%)"),
    ):
        ax.hlines(y, table[low], table[high], color=color, lw=width, label=name)
    ax.plot(mean, y, "k|", ms=12, label="mean over draws")
    ax.set_yticks(y, labels)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def posterior_section(result: dict[str, Any]) -> list[str]:
    """The comparison's Markdown section across posterior draws (empty without draws)."""
    if "plan" not in result:
        return []
    plan = result["plan"]
    unc = result["uncertainty"]
    shown = unc[(unc["kind"] == "difference") & unc["measure"].isin(("welfare_q1", "welfare_mean"))]
    return [
        "## Across posterior draws",
        "",
        f"{len(plan)} draws of {len(plan.source['levers'])} calibrated levers from "
        f"`{plan.source['file']}` (method {plan.source['meta'].get('method', '?')}), each run "
        f"with the same {result['replications']} replicate seeds. Parameter uncertainty (the "
        "spread of the draw means) is reported apart from run-to-run noise (the t-interval "
        "from the pooled within-draw variance); uncertainty.csv has every measure.",
        "",
        *[f"- {s}" for s in probability_sentences(result)],
        "",
        *markdown_table(
            shown.assign(design=shown["scenario"], what=shown["label"]), ["design", "what"]
        ),
        "",
    ]
