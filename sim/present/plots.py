"""Paper-ready figures from results tables (never from live models), so they work on saved runs.

Every figure the command line draws follows the same rules, kept here:

- the Okabe-Ito palette (Okabe & Ito 2008; Wong 2011, Nature Methods 8:441), safe for the
  common colour-vision deficiencies, with a line style per series so that a greyscale print
  still tells them apart (:data:`OKABE_ITO`, :func:`series_styles`);
- axes labelled with units, read from the outcome declarations (:func:`axis_label`);
- a caption line under the figure saying what the lines and bands are (:func:`caption`);
- facets that keep each panel readable: scenarios and the variants of one scenario
  (``msp`` and ``msp_*``) in separate columns (:func:`facet_groups`);
- outcomes defined only while a partnership is active are labelled as conditional means, and
  a series without values is named in its panel rather than silently missing.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"scenario": ["a"] * 4, "replicate": [0, 0, 1, 1], "seed": [1, 1, 2, 2],
    ...                    "step": [0, 1, 0, 1], "welfare_mean": [0.1, 0.2, 0.1, 0.3]})
    >>> fig = plot_bands(df, ["welfare_mean"])
    >>> len(fig.axes), fig.axes[0].get_ylabel()
    (1, 'index (0-1)')
    >>> caption_of(fig)[:73]
    'Lines: mean over 2 replicates; bands: 95% t-interval of the mean over 2 r'
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter, keep the inline backend so figures show
    matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sim.experiments.stats import half_width
from sim.scenario import outcomes as declared

__all__ = [
    "LABELS",
    "OKABE_ITO",
    "PAPER",
    "axis_label",
    "caption",
    "caption_of",
    "conditional",
    "facet_groups",
    "plot_bands",
    "plot_comparison",
    "plot_horizon",
    "series_styles",
    "title",
]

LABELS = declared.LABELS
"""Outcome labels, read from their declaration (:mod:`sim.scenario.outcomes`)."""

OKABE_ITO = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (last: faint as a line on white)
)
"""The Okabe-Ito colour-blind-safe palette, black first (the reference series)."""

LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
"""Line styles cycled with the colours, so series differ in greyscale too."""

PAPER = {
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "savefig.dpi": 300,
}
"""Matplotlib settings of every figure (sizes for a printed page, the palette, 300 dpi)."""

PARTNERSHIP_TYPES = ("baseline", "ppp", "psp", "pmg", "msp")
"""The shipped scenarios of the partnership types (and no partnership)."""

CAPTION_TAG = "kemitraan-caption"


def conditional(outcome: str) -> bool:
    """Whether an outcome's mean over runs is conditional on an active partnership."""
    o = declared.DECLARED.get(outcome)
    return bool(o and o.undefined_without_partnership)


def title(outcome: str) -> str:
    """A panel title: the outcome's label, and what a conditional mean averages."""
    text = declared.label(outcome)
    return text + "\n(runs with an active partnership only)" if conditional(outcome) else text


def axis_label(outcome: str, what: str = "") -> str:
    """The axis label of an outcome: its unit and range from the declaration.

    ``what`` prefixes it (e.g. ``"difference"``). A yes/no outcome is drawn as its mean over
    runs, the share of runs where it holds.

    Example:
        >>> axis_label("income_mean"), axis_label("partnership_active")
        ('multiples of the poverty line', 'share of runs')
        >>> axis_label("mpi_m0", "difference")
        'difference (index)'
    """
    o = declared.DECLARED.get(outcome)
    if o is None:
        unit = ""
    elif o.dtype == "bool":
        unit = "share of runs"
    elif o.unit in ("index", "share") and o.bounds == (0.0, 1.0) and not what:
        unit = f"{o.unit} (0-1)"
    else:
        unit = o.unit
    if what:
        return f"{what} ({unit})" if unit else what
    return unit


def caption(fig: plt.Figure, text: str) -> None:
    """Write a caption line under the figure (kept in the saved file by ``bbox_inches``)."""
    fig.text(0.0, -0.01, text, ha="left", va="top", fontsize=7, wrap=True, gid=CAPTION_TAG)


def caption_of(fig: plt.Figure) -> str:
    """The caption :func:`caption` wrote (for tests and reports)."""
    return " ".join(t.get_text() for t in fig.texts if t.get_gid() == CAPTION_TAG)


def facet_groups(names: Sequence[str], max_lines: int = 6) -> list[tuple[str, list[str]]]:
    """Columns of a faceted figure: the scenarios, and each family of variants apart.

    A scenario ``msp_low_trust`` is a variant of ``msp`` (its name extends another's with
    ``_``). With more than ``max_lines`` scenarios, each family (the parent and its variants)
    gets its own column and the rest share the first; the parent appears in both, drawn in
    black, as the reference. A column holds at most eight series (the palette's size).

    Example:
        >>> facet_groups(["baseline", "ppp", "msp", "msp_low_trust"])
        [('', ['baseline', 'ppp', 'msp', 'msp_low_trust'])]
        >>> names = ["baseline", "ppp", "psp", "pmg", "msp", "msp_a", "msp_b", "msp_c"]
        >>> [(t, len(g)) for t, g in facet_groups(names)]
        [('Partnership types', 5), ('msp and its variants', 4)]
    """
    names = list(dict.fromkeys(names))
    parent = {}
    for n in names:
        roots = [p for p in names if p != n and n.startswith(p + "_")]
        if roots:
            parent[n] = max(roots, key=len)
    if len(names) <= max_lines or not parent:
        return _chunks("", names)
    main = [n for n in names if n not in parent]
    title_main = "Partnership types" if set(main) <= set(PARTNERSHIP_TYPES) else "Scenarios"
    groups = _chunks(title_main, main)
    for p in dict.fromkeys(parent.values()):
        family = [p, *(n for n in names if parent.get(n) == p)]
        groups += _chunks(f"{p} and its variants", family)
    return groups


def _chunks(name: str, names: list[str]) -> list[tuple[str, list[str]]]:
    size = len(OKABE_ITO)
    if len(names) <= size:
        return [(name, names)]
    return [(f"{name} ({k + 1})".strip(), names[i : i + size])
            for k, i in enumerate(range(0, len(names), size))]  # fmt: skip


def series_styles(groups: list[tuple[str, list[str]]]) -> dict[tuple[int, str], dict]:
    """Colour and line style of every series, per column: no two alike within a column.

    A scenario drawn in several columns (the parent of a family) is black and solid in each.
    """
    shared = {n for _, g in groups for n in g if sum(n in h for _, h in groups) > 1}
    styles = {}
    for col, (_, names) in enumerate(groups):
        k = 1 if shared else 0
        for name in names:
            if name in shared:
                styles[col, name] = {"color": OKABE_ITO[0], "ls": "-", "lw": 1.6}
                continue
            styles[col, name] = {
                "color": OKABE_ITO[k % len(OKABE_ITO)],
                "ls": LINE_STYLES[k % len(LINE_STYLES)],
                "lw": 1.3,
            }
            k += 1
    return styles


def _band(group: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Mean and 95% t-interval per step, clipped to the outcome's declared range.

    Few surviving runs can stretch the interval past a bound the outcome cannot cross.
    """
    g = group[outcome].astype(float).groupby(group["step"])
    mean, sd, n = g.mean(), g.std(ddof=1), g.count()
    half = half_width(sd, n).fillna(0)
    o = declared.DECLARED.get(outcome)
    low, high = o.bounds if o is not None else (-np.inf, np.inf)
    return pd.DataFrame(
        {"mean": mean, "low": (mean - half).clip(lower=low), "high": (mean + half).clip(upper=high)}
    )


def _replicates(df: pd.DataFrame) -> str:
    key = "replicate" if "replicate" in df.columns else "seed"
    counts = df.groupby("scenario")[key].nunique()
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low}-{high}"


def bands_caption(df: pd.DataFrame, outcomes: Sequence[str]) -> str:
    """The caption of a bands figure: what lines and bands are, and conditional means."""
    n = _replicates(df)
    text = (
        f"Lines: mean over {n} replicates; bands: 95% t-interval of the mean over {n} "
        "replicates, clipped to the outcome's range."
    )
    if any(conditional(o) for o in outcomes):
        text += (
            " Panels marked 'runs with an active partnership only' average only the runs whose "
            "partnership is active at that step (a conditional mean); a scenario without one "
            "has no line there."
        )
    return text


def _empty_note(ax: plt.Axes, missing: list[str], outcome: str) -> None:
    why = "no partnership" if conditional(outcome) else "no finite values"
    ax.text(0.02, 0.03, f"no line for {', '.join(missing)}: {why}", transform=ax.transAxes,
            fontsize=6.5, color="0.35", va="bottom")  # fmt: skip


def _handles(styles: dict, col: int, names: list[str]) -> list[Line2D]:
    return [Line2D([], [], label=name, **styles[col, name]) for name in names]


def plot_bands(
    df: pd.DataFrame,
    outcomes: list[str],
    ncols: int = 2,
    groups: list[tuple[str, list[str]]] | None = None,
) -> plt.Figure:
    """Mean and 95% interval over replicates, per scenario, of each outcome over time.

    With one group of scenarios (the default for six or fewer) the outcomes fill a grid of
    ``ncols`` columns. With several (:func:`facet_groups`), each outcome is a row and each
    group a column, rows sharing their y-axis so the columns compare directly.
    """
    names = list(dict.fromkeys(df["scenario"]))
    groups = groups or facet_groups(names)
    faceted = len(groups) > 1
    if faceted:
        nrows, ncols = len(outcomes), len(groups)
        cells = [(r, c) for r in range(nrows) for c in range(ncols)]
    else:
        ncols = min(ncols, len(outcomes))
        nrows = int(np.ceil(len(outcomes) / ncols))
        cells = [divmod(i, ncols) for i in range(len(outcomes))]
    styles = series_styles(groups)
    by_name = dict(tuple(df.groupby("scenario", sort=False)))
    with plt.rc_context(PAPER):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(3.4 * ncols, 2.3 * nrows + 0.5), squeeze=False,
            sharey="row" if faceted else False, layout="constrained",
        )  # fmt: skip
        for i, (r, c) in enumerate(cells):
            outcome = outcomes[r] if faceted else outcomes[i]
            col = c if faceted else 0
            ax = axes[r, c]
            missing = []
            for name in groups[col][1]:
                band = _band(by_name[name], outcome)
                if band["mean"].isna().all():
                    missing.append(name)
                    continue
                st = styles[col, name]
                ax.plot(band.index, band["mean"], label=name, **st)
                ax.fill_between(band.index, band["low"], band["high"], color=st["color"],
                                alpha=0.15, lw=0)  # fmt: skip
            if missing:
                _empty_note(ax, missing, outcome)
            head = title(outcome)
            if faceted and r == 0 and groups[col][0]:
                head = f"{groups[col][0]}\n{head}"
            ax.set_title(head)
            if not faceted or r == nrows - 1:
                ax.set_xlabel("month (step)")
            if not faceted or c == 0:
                ax.set_ylabel(axis_label(outcome))
            ax.grid(alpha=0.3, lw=0.5)
        for ax in axes.flat[len(cells) :]:
            ax.set_visible(False)
        if faceted:
            for c, (_, group) in enumerate(groups):
                axes[-1, c].legend(handles=_handles(styles, c, group), loc="upper center",
                                   bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)  # fmt: skip
        else:
            handles = _handles(styles, 0, groups[0][1])
            fig.legend(handles=handles, loc="outside right upper", frameon=False)
    caption(fig, bands_caption(df, outcomes))
    return fig


def plot_horizon(summary: pd.DataFrame, title: str = "Welfare at the horizon") -> plt.Figure:
    """Horizontal bars of a :func:`sim.experiments.summarize` table with 95% intervals."""
    outcome = summary["outcome"].iloc[0]
    with plt.rc_context(PAPER):
        fig, ax = plt.subplots(figsize=(5.0, 0.3 * len(summary) + 1.0), layout="constrained")
        y = np.arange(len(summary))
        err = np.vstack([summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]])
        ax.barh(y, summary["mean"], xerr=np.nan_to_num(err), color=OKABE_ITO[4], capsize=2)
        ax.set_yticks(y, summary["scenario"])
        ax.invert_yaxis()
        ax.set_xlabel(f"{declared.label(outcome)}, {axis_label(outcome)}")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3, lw=0.5)
    n = int(summary["n"].min())
    caption(fig, f"Bars: mean over {n} replicates; whiskers: 95% t-interval of the mean.")
    return fig


COMPARISON_OUTCOMES = ["welfare_mean", "welfare_q1", "empowerment_mean", "trust_partners"]
"""The outcomes of the default comparison figure."""


def plot_comparison(df: pd.DataFrame) -> plt.Figure:
    """The default comparison figure: welfare, the poorest, empowerment and partner trust.

    The partnership types and the variants of ``msp`` (one factor degraded each) are drawn in
    separate columns, each outcome a row.
    """
    return plot_bands(df, COMPARISON_OUTCOMES, ncols=2)
