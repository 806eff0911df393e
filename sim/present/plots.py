"""Figures from results tables (never from live models), so they work on saved runs too.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"scenario": ["a"] * 4, "replicate": [0, 0, 1, 1], "seed": [1, 1, 2, 2],
    ...                    "step": [0, 1, 0, 1], "welfare_mean": [0.1, 0.2, 0.1, 0.3]})
    >>> fig = plot_bands(df, ["welfare_mean"])
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

import sys

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter, keep the inline backend so figures show
    matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.experiments.stats import half_width
from sim.scenario import outcomes

__all__ = ["LABELS", "plot_bands", "plot_comparison", "plot_horizon"]

LABELS = outcomes.LABELS
"""Outcome labels, read from their declaration (:mod:`sim.scenario.outcomes`)."""


def _band(group: pd.DataFrame, outcome: str) -> pd.DataFrame:
    g = group.groupby("step")[outcome]
    mean, sd, n = g.mean(), g.std(ddof=1), g.count()
    half = half_width(sd, n)
    return pd.DataFrame({"mean": mean, "low": mean - half.fillna(0), "high": mean + half.fillna(0)})


def plot_bands(df: pd.DataFrame, outcomes: list[str], ncols: int = 2) -> plt.Figure:
    """Mean and 95% interval over replicates, per scenario, of each outcome over time."""
    nrows = int(np.ceil(len(outcomes) / ncols))
    ncols = min(ncols, len(outcomes))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.2 * nrows), squeeze=False)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        for name, group in df.groupby("scenario", sort=False):
            band = _band(group, outcome)
            (line,) = ax.plot(band.index, band["mean"], label=name, lw=1.4)
            ax.fill_between(
                band.index, band["low"], band["high"], color=line.get_color(), alpha=0.18
            )
        ax.set_title(LABELS.get(outcome, outcome), fontsize=10)
        ax.set_xlabel("step (month)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) // 6), 1, 1))
    return fig


def plot_horizon(summary: pd.DataFrame, title: str = "Welfare at the horizon") -> plt.Figure:
    """Horizontal bars of a :func:`sim.experiments.summarize` table with 95% intervals."""
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(summary) + 1.2))
    y = np.arange(len(summary))
    err = np.vstack([summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]])
    ax.barh(y, summary["mean"], xerr=np.nan_to_num(err), color="#4C78A8", alpha=0.85, capsize=3)
    ax.set_yticks(y, summary["scenario"])
    ax.invert_yaxis()
    ax.set_xlabel(LABELS.get(summary["outcome"].iloc[0], summary["outcome"].iloc[0]))
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_comparison(df: pd.DataFrame) -> plt.Figure:
    """The default comparison figure: welfare, the poorest, empowerment and partner trust."""
    return plot_bands(
        df, ["welfare_mean", "welfare_q1", "empowerment_mean", "trust_partners"], ncols=2
    )
