"""The comparison's figures: trajectories per design and the forest plot of paired differences.

:mod:`sim.present.compare_report` writes them as files (``--figure-format``) and embeds them in
the HTML report. Both follow the figure rules of :mod:`sim.present.plots` (Okabe-Ito, units from
the declarations, a caption line).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.experiments.compare import DERIVED_OUTCOMES, MEASURES
from sim.present.plots import OKABE_ITO, PAPER, axis_label, caption, plot_bands, plt

__all__ = ["TRAJECTORY_OUTCOMES", "VERDICT_COLORS", "figure_differences", "figure_trajectories"]


TRAJECTORY_OUTCOMES = ["welfare_mean", "welfare_q1", "trust_partners", "partnership_active"]
"""The outcomes of the trajectories figure."""


def figure_trajectories(result: dict[str, Any]):
    """Welfare, the poorest fifth's welfare, partner trust and survival over time per design."""
    fig = plot_bands(result["timeseries"], TRAJECTORY_OUTCOMES)
    if result["funding_end"] is not None:
        for ax in fig.axes:
            ax.axvline(result["funding_end"], color="0.3", ls="--", lw=0.9)
        fig.axes[0].annotate(
            "funding ends",
            (result["funding_end"], fig.axes[0].get_ylim()[0]),
            xytext=(3, 4),
            textcoords="offset points",
            fontsize=7,
            color="0.3",
        )
    return fig


def _unit(measure: str) -> str:
    if measure in DERIVED_OUTCOMES:
        return f"difference ({DERIVED_OUTCOMES[measure].unit})"
    return axis_label(measure, "difference")


def figure_differences(result: dict[str, Any]):
    """Forest plot: each design's paired difference from the status quo, with 95% intervals."""
    diffs = result["differences"]
    shown = [
        m
        for m in ("welfare_mean", "welfare_q1", "empowerment_mean", "mpi_m0", "welfare_retained")
        if m in set(diffs["measure"])
    ]
    names = list(dict.fromkeys(diffs["scenario"]))
    with plt.rc_context(PAPER):
        fig, axes = plt.subplots(
            1, len(shown), figsize=(2.4 * len(shown), 0.9 + 0.32 * len(names)), squeeze=False,
            sharey=True, layout="constrained",
        )  # fmt: skip
        for ax, measure in zip(axes.flat, shown, strict=True):
            d = diffs[diffs["measure"] == measure].set_index("scenario").reindex(names)
            y = np.arange(len(names))[::-1]
            err = np.vstack(
                [d["mean_difference"] - d["ci_low"], d["ci_high"] - d["mean_difference"]]
            )
            colors = [VERDICT_COLORS.get(v, OKABE_ITO[0]) for v in d["verdict"]]
            ax.errorbar(d["mean_difference"], y, xerr=np.nan_to_num(err), fmt="none",
                        ecolor="0.3", capsize=2, lw=0.9)  # fmt: skip
            ax.scatter(d["mean_difference"], y, c=colors, s=18, zorder=3)
            ax.axvline(0, color="0.4", lw=0.7)
            ax.set_title(MEASURES[measure])
            ax.set_xlabel(_unit(measure))
            ax.set_yticks(y, names)
            ax.grid(axis="x", alpha=0.3, lw=0.5)
        fig.suptitle(f"Difference from '{result['reference']}'", fontsize=9)
    n = int(diffs["n"].min()) if len(diffs) else 0
    caption(
        fig,
        f"Points: mean paired difference, design minus '{result['reference']}' (same replicate "
        f"seeds); bars: 95% t-interval over {n} replicate pairs. Colour: blue better, "
        "vermillion worse, black no clear difference (from the households' side; lower "
        "poverty is better).",
    )
    return fig


VERDICT_COLORS = {"better": OKABE_ITO[4], "worse": OKABE_ITO[5]}
"""Point colours of the forest plot by verdict (Okabe-Ito blue and vermillion)."""
