"""Drawing a dashboard snapshot: the live charts, and the charts and table to download.

Each live chart is a :class:`ChartPainter`, kept between frames: its axes, ticks and legend
are drawn once per configuration, horizon and language, and every frame pastes only the lines
over that background (blitting, ~25 ms a chart instead of ~160 ms for a full redraw). They
draw from a :class:`sim.present.livemodel.Snapshot`, never from a live model.
"""

from __future__ import annotations

import io
import math
from typing import Any

import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.present.livemodel import CHARTS, HISTORY, Snapshot
from sim.present.plots import LABELS

__all__ = ["CHART_FONT", "ChartPainter", "charts_image", "format_number", "history_csv"]

CHART_FONT = 13
"""Points for every text in the charts: 14.4 px at the charts' 80 dpi (readable projected)."""

CHART_DPI = 80

_DASH = {"A": "-", "B": "--"}


def format_number(key: str, value: float | None) -> str:
    """A key number as shown: three decimals, counts whole, "–" where undefined (NaN).

    >>> format_number("welfare_mean", 0.43449), format_number("partnership_size", 7.0)
    ('0.434', '7')
    >>> format_number("trust_partners", float("nan"))
    '–'
    """
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.0f}" if key == "partnership_size" else f"{value:.3f}"


class ChartPainter:
    """One chart, kept between frames: a redraw draws only the lines.

    The static background (axes, ticks, legend) is drawn once per configuration, horizon and
    language and pasted under the lines on every frame (blitting).

    >>> from sim.present.livemodel import DashboardModel
    >>> m = DashboardModel(households=60, compare="low trust"); m.step()
    >>> painter = ChartPainter(0)
    >>> painter.render(m.snapshot())[1:4]
    b'PNG'
    >>> len(painter.lines)  # four outcomes x (A, B)
    8
    >>> painter.render(m.snapshot(), fmt="svg")[:5]
    b'<?xml'
    """

    def __init__(self, index: int) -> None:
        self.title, self.outcomes = CHARTS[index]
        self.fig = Figure(figsize=(6.0, 3.9), dpi=CHART_DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.12, right=0.97, top=0.97, bottom=0.36)
        self.ax = self.fig.subplots()
        self.lines: dict[tuple[str, str], Any] = {}
        self._key: tuple = ()
        self._background = None

    def _layout(self, labels: tuple[str, ...], horizon: int, gettext: Any) -> None:
        ax = self.ax
        ax.clear()
        self.lines = {}
        for k, outcome in enumerate(self.outcomes):
            for label in labels:
                short = label[0]
                (self.lines[(short, outcome)],) = ax.plot(
                    [],
                    [],
                    _DASH[short],
                    color=f"C{k}",
                    lw=2.2,
                    label=gettext(LABELS.get(outcome, outcome)) if short == "A" else None,
                    animated=True,  # drawn by render(), not with the background
                )
        ax.set_xlabel(gettext("month"), fontsize=CHART_FONT)
        ax.set_ylabel(gettext("index, 0 to 1"), fontsize=CHART_FONT)
        ax.tick_params(labelsize=CHART_FONT)
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, horizon)  # fixed for the run: the background never changes
        ax.legend(
            fontsize=CHART_FONT,
            loc="upper left",
            bbox_to_anchor=(-0.1, -0.2),
            ncols=2,
            frameon=False,
            title=gettext("solid: A, dashed: B") if len(labels) > 1 else None,
            title_fontsize=CHART_FONT,
        )
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)

    def render(self, snap: Snapshot, gettext: Any = str, fmt: str = "png") -> bytes:
        """The chart at ``snap`` as PNG (or, for a download, SVG) bytes."""
        key = (snap.labels, snap.horizon, gettext)
        if key != self._key:
            self._layout(snap.labels, snap.horizon, gettext)
            self._key = key
        for label in snap.labels:
            rows = snap.history[label]
            for outcome in self.outcomes:
                self.lines[(label[0], outcome)].set_data(rows["step"], rows[outcome])
        buffer = io.BytesIO()
        if fmt != "png":  # a whole figure, lines included
            for line in self.lines.values():
                line.set_animated(False)
            self.fig.savefig(buffer, format=fmt)
            for line in self.lines.values():
                line.set_animated(True)
            self._key = ()  # the background is redrawn next time
            return buffer.getvalue()
        self.canvas.restore_region(self._background)
        for line in self.lines.values():
            self.ax.draw_artist(line)
        width, height = self.canvas.get_width_height()
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba())
        # The figure is opaque: RGB encodes a third faster (PNG encoding is most of a frame).
        image.convert("RGB").save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def charts_image(snap: Snapshot, gettext: Any = str, fmt: str = "png") -> bytes:
    """All four charts in one figure (2 x 2) as PNG or SVG bytes, for a download.

    >>> from sim.present.livemodel import DashboardModel
    >>> m = DashboardModel(households=60); m.step()
    >>> charts_image(m.snapshot(), fmt="svg")[:5]
    b'<?xml'
    """
    _ = gettext
    fig = Figure(figsize=(12, 8), layout="constrained")
    for ax, (title, outcomes) in zip(fig.subplots(2, 2).ravel(), CHARTS, strict=True):
        for k, outcome in enumerate(outcomes):
            for label in snap.labels:
                rows = snap.history[label]
                ax.plot(
                    rows["step"],
                    rows[outcome],
                    _DASH[label[0]],
                    color=f"C{k}",
                    lw=2,
                    label=_(LABELS.get(outcome, outcome)) if label == "A" else None,
                )
        ax.set_title(_(title), fontsize=CHART_FONT + 1)
        ax.set_xlabel(_("month"), fontsize=CHART_FONT)
        ax.set_ylabel(_("index, 0 to 1"), fontsize=CHART_FONT)
        ax.set_xlim(0, snap.horizon)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=CHART_FONT - 2, frameon=False)
    if len(snap.labels) > 1:
        fig.suptitle(_("solid: A, dashed: B"), fontsize=CHART_FONT)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()


def history_csv(snap: Snapshot) -> str:
    """The run so far as a tidy CSV: one row per configuration and month.

    >>> from sim.present.livemodel import DashboardModel
    >>> m = DashboardModel(households=60); m.step()
    >>> print(history_csv(m.snapshot()).splitlines()[0][:40])
    run,step,welfare_mean,access_mean,capaci
    """
    lines = [",".join(("run", "step", *HISTORY))]
    for label in snap.labels:
        rows = snap.history[label]
        for i, step in enumerate(rows["step"]):
            values = (repr(rows[k][i]) for k in HISTORY)
            lines.append(",".join((label.split(":")[0], str(step), *values)))
    return "\n".join(lines) + "\n"
