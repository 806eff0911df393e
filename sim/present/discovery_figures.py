"""Figures of scenario discovery: a PRIM box's peeling trajectory and its limits.

Drawn from :class:`~sim.experiments.discovery.PrimBox` values (never from live models), in the
house style of :mod:`sim.present.plots` (the Okabe-Ito palette, paper sizes, a caption).

Example:
    >>> import numpy as np, pandas as pd
    >>> from sim.experiments.discovery import prim_box
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame(rng.uniform(size=(400, 3)), columns=["a", "b", "c"])
    >>> box = prim_box(x, ((x.a > 0.5) & (x.b < 0.5)).to_numpy())
    >>> fig = plot_box(box, {c: (0.0, 1.0) for c in x}, "Failure")
    >>> [ax.get_xlabel() for ax in fig.axes[:2]]
    ['coverage (share of all failures inside the box)', 'position within the sampled range']
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sim.experiments.discovery import PrimBox
from sim.present.plots import OKABE_ITO, PAPER, caption

__all__ = ["plot_box"]


def plot_box(
    box: PrimBox, ranges: dict[str, tuple[float, float]], label: str, threshold: float = 0.8
) -> plt.Figure:
    """Two panels: PRIM's peeling trajectory (density against coverage) and the box's limits.

    Args:
        box: the box and its trajectory.
        ranges: the sampled (low, high) of every input, to place the limits in.
        label: the failure kind, for the titles.
        threshold: the density the box was asked to reach (a dotted line).
    """
    traj = box.trajectory
    with plt.rc_context(PAPER):
        rows = max(1, len(box.restricted))
        fig, (left, right) = plt.subplots(
            1, 2, figsize=(7.0, max(2.6, 0.35 * rows + 1.4)), layout="constrained"
        )
        dims = traj["res_dim"].to_numpy()
        points = left.scatter(
            traj["coverage"], traj["density"], c=dims, cmap="viridis", s=10, zorder=2
        )
        left.plot(traj["coverage"], traj["density"], color=OKABE_ITO[0], lw=0.5, zorder=1)
        left.scatter(
            [box.coverage], [box.density], s=80, facecolors="none", edgecolors=OKABE_ITO[5],
            lw=1.2, zorder=3, label=f"chosen box (step {box.step})",
        )  # fmt: skip
        left.axhline(threshold, color=OKABE_ITO[0], ls=":", lw=0.8, label="density asked for")
        left.axhline(box.base_rate, color=OKABE_ITO[2], ls="--", lw=0.8, label="base rate")
        left.set_xlim(-0.02, 1.02)
        left.set_ylim(0, 1.02)
        left.set_xlabel("coverage (share of all failures inside the box)")
        left.set_ylabel("density (share of runs in the box that fail)")
        left.set_title(f"{label}: peeling trajectory")
        left.legend(loc="lower left", frameon=False)
        bar = fig.colorbar(points, ax=left, pad=0.01)
        bar.set_label("restricted inputs")
        bar.set_ticks(np.unique(np.linspace(0, dims.max(), 5).round()))
        y = np.arange(rows)
        names = list(box.restricted) or ["(no input restricted)"]
        for i, name in enumerate(box.restricted):
            lo, hi = ranges[name]
            span = (hi - lo) or 1.0
            a, b = box.limits[name]
            a, b = (max(a, lo) - lo) / span, (min(b, hi) - lo) / span
            right.barh(i, 1.0, color="0.9", height=0.6)
            right.barh(i, b - a, left=a, color=OKABE_ITO[4], height=0.6)
            right.text(a, i + 0.38, f"{box.limits[name][0]:.3g}", ha="left", fontsize=6)
            right.text(b, i + 0.38, f"{box.limits[name][1]:.3g}", ha="right", fontsize=6)
        right.set_yticks(y, names)
        right.invert_yaxis()
        right.set_xlim(0, 1)
        right.set_xlabel("position within the sampled range")
        right.set_title(
            f"box: coverage {box.coverage:.2f}, density {box.density:.2f}, {box.runs} runs"
        )
    caption(
        fig,
        f"Left: PRIM's peeling trajectory (each point a box; colour: inputs it restricts); "
        f"the ring is the box reported (highest coverage at density >= {threshold:g}, else "
        f"the densest). Right: the box's limits (blue) within each restricted input's sampled "
        f"range (grey); base rate {box.base_rate:.2f}.",
    )
    return fig
