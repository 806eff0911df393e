"""The validation report's figures: one per pattern, of the kind its result asks for.

A pattern's :class:`~sim.experiments.effects.Figure` names its kind (arms' bands over time,
the paired effects, bars, survival, the breach's trust); :func:`draw` makes it, following the
figure rules of :mod:`sim.present.plots` (Okabe-Ito, a caption line).
:mod:`sim.present.validation_report` saves it beside docs/validation.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments import stats
from sim.experiments.effects import Effect, Figure
from sim.experiments.patterns import BREACH, BREACH_MEMBER
from sim.present.plots import LINE_STYLES, OKABE_ITO, PAPER, caption, plot_bands, plt

__all__ = ["draw"]


def draw(figure: Figure):
    """The matplotlib figure a pattern's :class:`~sim.experiments.validation.Figure` asks for."""
    f = figure
    if f.kind == "bands":
        return _fig_bands(f.data, list(f.outcomes), f.title)
    if f.kind == "effects":
        return _fig_effects(f.data, f.title)
    if f.kind == "bars":
        return _fig_bars(f.data, f.xlabel, f.title)
    if f.kind == "survival":
        return _fig_survival(f.data, f.title)
    if f.kind == "breach":
        return _fig_breach(f.data, f.title)
    raise ValueError(f"unknown figure kind {f.kind!r}")


def _fig_bands(out: dict[str, pd.DataFrame], outcomes: list[str], title: str):
    fig = plot_bands(pd.concat(out.values(), ignore_index=True), outcomes, ncols=len(outcomes))
    fig.suptitle(title, fontsize=9)
    return fig


_PASSED, _FAILED = OKABE_ITO[4], OKABE_ITO[5]
"""Bar colours: effect as predicted (Okabe-Ito blue) or not (vermillion)."""

_EFFECTS_CAPTION = (
    "Bars: mean paired difference between the arms (same replicate seeds); whiskers: 95% "
    "t-interval over {n} replicate pairs. Blue: on the predicted side of zero; vermillion: not."
)


def _fig_effects(effects: list[Effect], title: str):
    """One panel per unit of measure: effects whose labels share a word before ':'."""
    groups: dict[str, list[Effect]] = {}
    for e in effects:
        key = e.label.split(":")[1].split("(")[0].strip() if ":" in e.label else ""
        groups.setdefault(key, []).append(e)
    with plt.rc_context(PAPER):
        if len(groups) > 1 and all(len(g) > 1 for g in groups.values()):
            fig, axes = plt.subplots(
                len(groups), 1, figsize=(6.5, 0.32 * len(effects) + 1.0 * len(groups)),
                squeeze=False, layout="constrained",
            )  # fmt: skip
            for ax, (key, group) in zip(axes.flat, groups.items(), strict=True):
                _effect_bars(ax, group, key, f"paired difference in {key}")
            fig.suptitle(title, fontsize=9)
        else:
            fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(effects) + 1.1), layout="constrained")
            _effect_bars(ax, effects, title, "paired difference (arm minus reference)")
    caption(fig, _EFFECTS_CAPTION.format(n=_pairs(effects)))
    return fig


def _pairs(effects: list[Effect]) -> str:
    ns = sorted({e.n for e in effects})
    return str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"


def _effect_bars(ax, effects: list[Effect], title: str, xlabel: str) -> None:
    y = np.arange(len(effects))
    est = np.array([e.estimate for e in effects])
    err = np.vstack([est - [e.low for e in effects], [e.high for e in effects] - est])
    colors = [_PASSED if e.passed else _FAILED for e in effects]
    ax.barh(y, est, xerr=np.nan_to_num(err), color=colors, capsize=2)
    ax.axvline(0, color="0.2", lw=0.7)
    ax.set_yticks(y, [e.label for e in effects])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3, lw=0.5)


def _fig_bars(values: dict[str, pd.Series], xlabel: str, title: str):
    names = list(values)
    mean = np.array([values[k].mean() for k in names])
    half = np.array([stats.t_interval(values[k].to_numpy(dtype=float))[1] for k in names]) - mean
    with plt.rc_context(PAPER):
        fig, ax = plt.subplots(figsize=(5.5, 0.35 * len(values) + 1.0), layout="constrained")
        ax.barh(np.arange(len(names)), mean, xerr=np.nan_to_num(half), color=_PASSED, capsize=2)
        ax.set_yticks(np.arange(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3, lw=0.5)
    n = min(len(v) for v in values.values())
    caption(fig, f"Bars: mean over {n} replicates; whiskers: 95% t-interval of the mean.")
    return fig


def _fig_survival(out: dict[str, pd.DataFrame], title: str):
    with plt.rc_context(PAPER):
        fig, ax = plt.subplots(figsize=(6.0, 3.2), layout="constrained")
        for k, (label, df) in enumerate(out.items()):
            share = df.groupby("step")["partnership_active"].mean()
            ax.step(share.index, share.to_numpy(), where="post", label=label,
                    ls=LINE_STYLES[k % len(LINE_STYLES)])  # fmt: skip
        ax.set_xlabel("month (step)")
        ax.set_ylabel("share of runs with the partnership active")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(title)
        ax.legend(frameon=False)
        ax.grid(alpha=0.3, lw=0.5)
    n = min(df["seed"].nunique() for df in out.values())
    caption(fig, f"Lines: share of {n} replicates per arm whose partnership is active.")
    return fig


def _fig_breach(out: dict[str, pd.DataFrame], title: str):
    with plt.rc_context(PAPER):
        fig, ax = plt.subplots(figsize=(6.0, 3.2), layout="constrained")
        for k, (label, df) in enumerate(out.items()):
            g = df.groupby("step")["trust_in_probe"].mean()
            ax.plot(g.index, g.to_numpy(), label=label, ls=LINE_STYLES[k % len(LINE_STYLES)])
        ax.axvspan(BREACH[0] - 1, BREACH[1], color=_FAILED, alpha=0.15, lw=0, label="breach")
        ax.set_xlabel("month (step)")
        ax.set_ylabel(f"partners' mean trust in {BREACH_MEMBER} (share, 0-1)")
        ax.set_title(title)
        ax.legend(frameon=False)
        ax.grid(alpha=0.3, lw=0.5)
    n = min(df["seed"].nunique() for df in out.values())
    caption(fig, f"Lines: mean over {n} replicates per arm; shaded: the months of the breach.")
    return fig
