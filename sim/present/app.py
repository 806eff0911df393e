"""The live dashboard: partnership models A and B on a Solara page, for classrooms.

Start it with ``python run_simulation.py dashboard`` (or ``solara run sim/app.py --host
127.0.0.1``) and open the address it prints. On the left: the partnership type, the five
success factors (each with its value and what it means), community size, seed, a policy design
and a comparison configuration *B*; they take effect on **Reset**. Above the charts: Reset,
Step, Play/Pause, the speed and the month. The *Change now* panel changes goal clarity, power
balance, communication and the evaluation interval of the running models (A and B) from the
next month on, as a scheduled ``set`` intervention would, and each change is listed under
Events.

Robustness (issue 18): the page is this module's own, not Mesa's ``SolaraViz`` (whose
"Use Threads" option drew panels from three different months, whose panels dragged with the
sliders, and whose Play ran past the horizon). One lock guards every model: a step holds it,
and every picture is drawn from a :class:`Snapshot` taken under it (the network is drawn to
PNG under it), never from the live model. Play runs in one thread per session; it stops at the
run's horizon, on Pause, and as soon as the browser's page is no longer connected; when the
session closes, its models are dropped.

Smooth Play: stepping is decoupled from drawing. A step costs about a millisecond at 500
households; the page is refreshed at most every :data:`REFRESH_S` seconds (the key numbers
and the charts, whose lines keep their figure and only get new data), and the network every
:data:`NETWORK_EVERY` months and whenever Play stops.

Everything renders offline with matplotlib PNGs (see docs/dashboard.md).

Why this module is over 500 lines: it still holds three jobs (the A/B models and their
snapshot; the drawing of charts and downloads; the page's components). Splitting it into
``livemodel``, ``livecharts`` and the page is the next step; it was left for after issue 18's
behaviour was in place and tested.
"""

from __future__ import annotations

import io
import math
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import mesa
import PIL.Image
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.errors import UserError
from sim.model.model import PartnershipModel
from sim.paths import SCENARIOS
from sim.present.i18n import LANGUAGES, translator
from sim.present.lessons import lesson_language, lessons, load_lesson, worksheet
from sim.present.netdraw import draw_network
from sim.present.plots import LABELS
from sim.scenario import PARTNERSHIP_TYPES, Scenario, lever_table, load_scenario

__all__ = [
    "CHARTS",
    "COMPARISONS",
    "DESIGN_CONTROLS",
    "LIVE_LEVERS",
    "DashboardModel",
    "Page",
    "Snapshot",
    "policy_designs",
]

COMPARISONS = {
    "none": None,
    "no partnership": "baseline",
    "unclear goals": "msp_unclear_goals",
    "power imbalance": "msp_power_imbalance",
    "poor communication": "msp_poor_communication",
    "low trust": "msp_low_trust",
    "no evaluation": "msp_no_evaluation",
}
"""Choices for configuration B: A changed as the named scenario file changes ``msp.toml``."""

POLICIES = SCENARIOS / "policies"

DESIGN_CONTROLS = (
    "partnership_type",
    "goal_clarity",
    "power_balance",
    "communication",
    "trust",
    "evaluation_interval",
)
"""Controls whose value a chosen policy design replaces with the design file's own levers."""

REFRESH_S = 0.25
"""During Play, the page (numbers and charts) is redrawn at most this often (seconds)."""

NETWORK_EVERY = 24
"""During Play, the network is redrawn every this many months (and whenever Play stops)."""


def policy_designs() -> dict[str, Path]:
    """The policy designs offered: every ``scenarios/policies/*.toml``, keyed by file name.

    Found by glob, so a design file added to the folder appears in the dashboard's list.

    >>> designs = policy_designs()
    >>> "funding_exit" in designs, designs["funding_exit"].name
    (True, 'funding_exit.toml')
    """
    return {path.stem: path for path in sorted(POLICIES.glob("*.toml"))}


@cache
def design_scenario(choice: str) -> Scenario:
    """The scenario of a policy design chosen by file name (cached: files are read once).

    >>> design_scenario("funding_exit").interventions[0].name
    'donor exit'
    """
    designs = policy_designs()
    if choice not in designs:
        raise UserError(
            f"policy = {choice!r}: unknown policy design; choose 'none' or one of "
            f"{list(designs)} (the files in {POLICIES})"
        )
    return load_scenario(designs[choice])


@cache
def comparison_overrides(choice: str) -> dict[str, Any]:
    """The levers a comparison choice changes: its scenario file's differences from msp.toml.

    >>> comparison_overrides("poor communication")
    {'factors.communication': 0.2}
    >>> comparison_overrides("no partnership")
    {'partnership.type': 'none'}
    """
    if choice not in COMPARISONS:
        raise UserError(
            f"compare = {choice!r}: unknown comparison; choose one of {list(COMPARISONS)}"
        )
    name = COMPARISONS[choice]
    if name is None:
        return {}
    base = load_scenario(SCENARIOS / "msp.toml").to_dict()
    variant = load_scenario(SCENARIOS / f"{name}.toml").to_dict()
    return {
        f"{section}.{key}": value
        for section, values in variant.items()
        if isinstance(values, dict)
        for key, value in values.items()
        if base[section][key] != value
    }


KEY_NUMBERS = (
    "welfare_mean",
    "welfare_q1",
    "mpi_m0",
    "welfare_gini",
    "trust_partners",
    "trust_community",
    "shared_understanding",
    "power_balance",
    "community_voice",
    "leakage",
    "partnership_size",
)
"""Outcomes shown in the key-numbers panel (columns named as in docs/ODD.md)."""

CHARTS = (
    ("Welfare dimensions", ("welfare_mean", "access_mean", "capacity_mean", "empowerment_mean")),
    ("Poverty and inequality", ("mpi_m0", "mpi_h", "welfare_gini", "income_gini")),
    ("Trust", ("trust_partners", "trust_community")),
    ("Partnership process", ("shared_understanding", "power_balance", "community_voice")),
)
"""Live charts, each its own panel: title and the outcomes drawn in it (all on a 0-1 scale)."""

HISTORY = tuple(dict.fromkeys(k for _, keys in CHARTS for k in keys))
"""Outcomes whose course the dashboard keeps for its charts and its CSV download."""


@dataclass(frozen=True)
class Snapshot:
    """What the page shows, copied from the models under their lock: drawing reads only this.

    Attributes:
        serial: increases with every snapshot (a redraw key).
        month: A's month; horizon: the month at which Play stops.
        labels: run labels, "A" and optionally "B: <change>".
        metrics: per label, the outcomes at ``month``.
        history: per label, per outcome in :data:`HISTORY` (and "step"), its course so far.
        events: the Events panel's lines; pending: live changes waiting for next month.
        factors: A's current success factors (the Change-now sliders' positions).
        networks: per label, the network as PNG bytes (redrawn every few months in Play).
    """

    serial: int
    month: int
    horizon: int
    labels: tuple[str, ...]
    metrics: dict[str, dict[str, float]]
    history: dict[str, dict[str, tuple[float, ...]]]
    events: tuple[str, ...]
    pending: dict[str, Any]
    factors: dict[str, float]
    networks: dict[str, bytes] = field(default_factory=dict)


class DashboardModel(mesa.Model):
    """Configuration A and, optionally, B: two partnership models stepped together.

    Both are built on the same seed, so they share the population and the graph; B differs
    from A only by :func:`comparison_overrides`. Keyword arguments are the dashboard's
    controls (passed by name on Reset).

    With ``policy`` set to a design's file name (:func:`policy_designs`), A is that design
    file (its levers and its ``[[interventions]]``) with the sidebar's community size; the
    controls named in :data:`DESIGN_CONTROLS` are not used. B is A with the comparison's change
    applied to the design's starting levers; the design's interventions run in B too.

    Every method that reads or changes the models holds :attr:`lock`; the page draws from
    :meth:`snapshot`, never from the models.

    >>> m = DashboardModel(households=60, compare="low trust")
    >>> m.step(); m.a.steps, m.b.steps, m.b.config.factors.trust
    (1, 1, 0.2)
    >>> m = DashboardModel(households=60, policy="quarterly_audits", power_balance=0.0)
    >>> m.a.config.partnership.type, m.a.config.factors.power_balance
    ('ppp', 0.4)
    >>> m.step(); [e["intervention"] for e in m.a.events]
    ['quarterly audits']
    """

    def __init__(
        self,
        partnership_type: str = "msp",
        goal_clarity: float = 0.8,
        power_balance: float = 0.7,
        communication: float = 0.8,
        trust: float = 0.7,
        evaluation_interval: int = 12,
        households: int = 300,
        seed: int = 1,
        compare: str = "none",
        policy: str = "none",
        horizon: int = 120,
    ) -> None:
        super().__init__(seed=seed)
        levers = {
            "partnership.type": partnership_type,
            "factors.goal_clarity": goal_clarity,
            "factors.power_balance": power_balance,
            "factors.communication": communication,
            "factors.trust": trust,
            "factors.evaluation_interval": int(evaluation_interval),
            "population.households": int(households),
            "run.steps": int(horizon),
        }
        self.policy = policy
        if policy == "none":
            scenario_a = Scenario().with_overrides({**levers, "name": "A"}, source="dashboard")
        else:
            scenario_a = design_scenario(policy).with_overrides(
                {"population.households": int(households), "name": "A"}, source="dashboard"
            )
        self.a = PartnershipModel(scenario_a, seed=seed)
        self.compare = compare
        self.b: PartnershipModel | None = None
        changes = comparison_overrides(compare)
        if changes:
            scenario_b = scenario_a.with_overrides({**changes, "name": "B"}, source="dashboard")
            self.b = PartnershipModel(scenario_b, seed=seed)
        self._defines_b = set(changes)
        self.horizon = int(scenario_a.run.steps)
        self.pending: dict[str, Any] = {}
        # Play steps in a worker thread while slider handlers and drawing run in others:
        # all of them hold this lock.
        self.lock = threading.RLock()
        self._serial = 0
        self._history = {label: {k: [] for k in ("step", *HISTORY)} for label, _ in self.runs}
        self._append_history()

    @property
    def runs(self) -> list[tuple[str, PartnershipModel]]:
        """``[("A", model_a)]`` plus ``("B: <change>", model_b)`` when a comparison is chosen."""
        return [("A", self.a)] + ([(f"B: {self.compare}", self.b)] if self.b else [])

    @property
    def at_horizon(self) -> bool:
        """Whether A has reached the run's last month (Play stops there)."""
        return self.a.steps >= self.horizon

    def _append_history(self) -> None:
        for label, run in self.runs:
            rows = self._history[label]
            rows["step"].append(int(run.steps))
            for key in HISTORY:
                rows[key].append(float(run.metrics.get(key, math.nan)))

    def step(self) -> None:
        """One month in A and in B, after the live changes made since the last month."""
        with self.lock:
            pending, self.pending = self.pending, {}
            for lever, value in pending.items():
                for label, model in self.runs:
                    if label == "A" or lever not in self._defines_b:
                        model.interventions.set_now(lever, value, by=LIVE_EVENT)
            for _, model in self.runs:
                model.step()
            self._append_history()

    def set_live(self, lever: str, value: Any) -> None:
        """Change ``lever`` in A and in B from the next month on, without a Reset.

        The change waits in ``pending`` until the next month starts, then applies as a
        scheduled ``set`` intervention at that month would (see
        :meth:`sim.model.interventions.Interventions.set_now`) and is listed in the Events
        panel. Moves made within one month (a slider being dragged) count once, at their last
        value. B keeps its own value of the lever that defines it.

        Raises:
            ValueError: for a lever that cannot change mid-run or a value out of bounds.

        >>> m = DashboardModel(households=60, compare="poor communication"); m.step()
        >>> m.set_live("factors.power_balance", 0.3); m.set_live("factors.power_balance", 0.1)
        >>> m.set_live("factors.communication", 0.5)
        >>> m.pending, m.a.events
        ({'factors.power_balance': 0.1, 'factors.communication': 0.5}, [])
        >>> m.step()
        >>> [(f.power_balance, f.communication) for f in (r.config.factors for _, r in m.runs)]
        [(0.1, 0.5), (0.1, 0.2)]
        >>> [(e["step"], e["target"], e["new"]) for e in m.a.events]
        [(2, 'factors.power_balance', '0.1'), (2, 'factors.communication', '0.5')]
        """
        with self.lock:
            name, value = self.a.interventions.check_setting(lever, value)
            self.pending[name] = value

    def snapshot(self, networks: dict[str, bytes] | None = None, draw: bool = False) -> Snapshot:
        """Copy what the page shows, under the lock; ``draw=True`` also draws the networks.

        ``networks`` (the previous snapshot's pictures) are kept when not redrawn.

        >>> m = DashboardModel(households=60, compare="low trust"); m.step()
        >>> s = m.snapshot()
        >>> s.month, s.labels, s.history["A"]["step"], s.networks
        (1, ('A', 'B: low trust'), (0, 1), {})
        >>> m.step(); s.month, len(s.history["A"]["welfare_mean"])  # a copy: it stays put
        (1, 2)
        """
        with self.lock:
            self._serial += 1
            factors = self.a.config.factors
            return Snapshot(
                serial=self._serial,
                month=int(self.a.steps),
                horizon=self.horizon,
                labels=tuple(label for label, _ in self.runs),
                metrics={label: dict(run.metrics) for label, run in self.runs},
                history={
                    label: {k: tuple(v) for k, v in rows.items()}
                    for label, rows in self._history.items()
                },
                events=tuple(event_lines(self.runs)),
                pending=dict(self.pending),
                factors={lever: getattr(factors, lever.split(".")[1]) for lever, *_ in LIVE_LEVERS},
                networks=(
                    {label: network_png(run, label) for label, run in self.runs}
                    if draw
                    else dict(networks or {})
                ),
            )


# ---------------------------------------------------------------------------------- drawing
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


def _png(fig: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def network_png(model: PartnershipModel, label: str) -> bytes:
    """One configuration's stakeholder network as a PNG (call it under the models' lock)."""
    fig = Figure(figsize=(7.0, 5.6))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.01)
    draw_network(fig.subplots(), model, title=f"{label.split(':')[0]}, month {model.steps}")
    return _png(fig, dpi=80)


class ChartPainter:
    """One chart, kept between frames: a redraw draws only the lines.

    The static background (axes, ticks, legend) is drawn once per configuration, horizon and
    language and pasted under the lines on every frame (blitting).

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
        image.save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def charts_image(snap: Snapshot, gettext: Any = str, fmt: str = "png") -> bytes:
    """All four charts in one figure (2 x 2) as PNG or SVG bytes, for a download.

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


def event_lines(runs: list[tuple[str, Any]], limit: int = 12) -> list[str]:
    """The newest ``limit`` interventions that fired in the runs (A, B), one line each.

    >>> from types import SimpleNamespace
    >>> a = SimpleNamespace(events=[
    ...     {"step": 2, "intervention": "audit", "action": "set",
    ...      "target": "accountability.audit_probability", "old": "0.04", "new": "1", "note": ""},
    ...     {"step": 5, "intervention": "forum", "action": "form", "target": "msp",
    ...      "old": "", "new": "", "note": ""}])
    >>> for line in event_lines([("A", a), ("B: low trust", object())]):
    ...     print(line)
    A · month 5: forum — form msp
    A · month 2: audit — set accountability.audit_probability: 0.04 → 1
    """
    rows = [
        (label[0], event) for label, run in runs for event in getattr(run, "events", None) or []
    ]
    rows.sort(key=lambda r: -int(r[1].get("step", 0)))
    lines = []
    for label, event in rows[:limit]:
        change = f"{event.get('action', '')} {event.get('target', '')}".strip()
        old, new = event.get("old", ""), event.get("new", "")
        if old != "" or new != "":
            change += f": {old} → {new}"
        if event.get("note"):
            change += f" ({event['note']})"
        lines.append(
            f"{label} · month {event.get('step', '?')}: {event.get('intervention', '')} — {change}"
        )
    return lines


def design_note(policy: str) -> str:
    """What the Events panel says about the policy design in use and the controls it replaces.

    >>> print(design_note("funding_exit"))  # doctest: +ELLIPSIS
    Policy design funding_exit (scenarios/policies/funding_exit.toml): Status quo, but donor ...
    """
    if policy == "none":
        return (
            "Policy design: none. Choose one on the left and press Reset to watch its "
            "interventions fire here."
        )
    about = design_scenario(policy).description
    return (
        f"Policy design {policy} (scenarios/policies/{policy}.toml): "
        + (f"{about} " if about else "")
        + "The design sets the partnership type and the five success factors (their sliders "
        "are not used); community size, seed and B come from the left."
    )


LIVE_EVENT = "dashboard (live)"
"""The name under which a live change is listed in the Events panel."""

LIVE_LEVERS = (
    ("factors.goal_clarity", "Now: goal clarity", 0.0, 1.0, 0.05),
    ("factors.power_balance", "Now: power balance", 0.0, 1.0, 0.05),
    ("factors.communication", "Now: communication", 0.0, 1.0, 0.05),
    ("factors.evaluation_interval", "Now: evaluation every N months", 0, 36, 1),
)
"""Success factors the Change-now panel sets while the model runs: lever, label, bounds, step.

Trust is missing on purpose: its slider sets the partners' history before the first month
(``factors.trust`` is read when the model is built), which cannot be changed afterwards.
"""


@cache
def lever_meanings() -> dict[str, str]:
    """Each lever's one-line meaning from the lever schema (``run_simulation.py levers``).

    >>> lever_meanings()["factors.communication"]
    'quality of communication channels between partners'
    """
    return {f"{row['section']}.{row['key']}": row["meaning"] for row in lever_table()}


# ---------------------------------------------------------------------------------- controls
@dataclass(frozen=True)
class Control:
    """A setting on the left: built into a new model on Reset.

    ``factor`` names the essay's success factor the control stands for (None for the others)
    and ``lever`` the scenario lever behind it; both are shown in the help text.
    """

    name: str
    label: str
    default: Any
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.05
    values: tuple[str, ...] = ()
    lever: str = ""
    factor: str = ""


PARTNERSHIP_NAMES = {
    "none": "No partnership",
    "ppp": "Government–private (PPP)",
    "psp": "Community–private (PSP)",
    "pmg": "Community–government (PMG)",
    "msp": "Multi-stakeholder (MSP)",
}
"""The essay's names of the partnership types, by their codes."""
assert set(PARTNERSHIP_NAMES) == set(PARTNERSHIP_TYPES)

CONTROLS = (
    Control(
        "partnership_type",
        "Partnership type",
        "msp",
        values=PARTNERSHIP_TYPES,
        lever="partnership.type",
    ),
    Control(
        "goal_clarity",
        "Clarity of goals",
        0.8,
        lever="factors.goal_clarity",
        factor="Clarity of goals and targets",
    ),
    Control(
        "power_balance",
        "Balance of power",
        0.7,
        lever="factors.power_balance",
        factor="Balance of power",
    ),
    Control(
        "communication",
        "Communication",
        0.8,
        lever="factors.communication",
        factor="Effective communication",
    ),
    Control(
        "trust",
        "Trust (before month 1)",
        0.7,
        lever="factors.trust",
        factor="Trust and mutual respect",
    ),
    Control(
        "evaluation_interval",
        "Evaluation every N months (0 = never)",
        12,
        0,
        36,
        1,
        lever="factors.evaluation_interval",
        factor="Evaluation and learning",
    ),
    Control(
        "households",
        "Community size (households)",
        300,
        50,
        3000,
        50,
        lever="population.households",
    ),
    Control("horizon", "Run length (months)", 120, 12, 360, 12, lever="run.steps"),
    Control("seed", "Seed", 1, 0, 99, 1),
    Control("policy", "Policy design (sets type and factors)", "none", values=("none",)),
    Control("compare", "Compare with B = A but …", "none", values=tuple(COMPARISONS)),
)
"""The settings on the left, passed by name to :class:`DashboardModel` on Reset."""


def control_help(control: Control, gettext: Any = str) -> str:
    """The help text under a control: the essay's factor and the lever behind it.

    >>> print(control_help(CONTROLS[3]))  # doctest: +NORMALIZE_WHITESPACE
    Success factor: Effective communication.
    Lever factors.communication: quality of communication channels between partners.
    """
    _ = gettext
    parts = []
    if control.factor:
        parts.append(_("Success factor: {factor}.").format(factor=_(control.factor)))
    if control.lever:
        meaning = _(lever_meanings()[control.lever])
        parts.append(_("Lever {lever}: {meaning}.").format(lever=control.lever, meaning=meaning))
    if control.name == "seed":
        parts.append(_("The random draw of villages, households and ties; A and B share it."))
    if control.name == "policy":
        parts.append(_("A file in scenarios/policies/: its own levers and interventions."))
    if control.name == "compare":
        parts.append(_("B is A with one success factor degraded, on the same households."))
    return " ".join(parts)


def option_label(control: Control, value: str, gettext: Any = str) -> str:
    """How a choice is shown: partnership types by name and code, comparisons translated."""
    if control.name == "partnership_type":
        return gettext(PARTNERSHIP_NAMES[value])
    return gettext(value) if control.name == "compare" else value


# ---------------------------------------------------------------------------------- the page
SPEEDS = {"1": 1.0, "2": 0.5, "5": 0.2, "10": 0.1, "20": 0.05, "max": 0.005}
"""Play speeds (months per second) and the pause between months they mean (seconds); *max*
keeps 5 ms, so the server still answers the page while Play runs."""


CLOSED_MESSAGE = "Kemitraan dashboard: a session closed; Play stopped and its models were freed"
"""Written to the server's output when a page's session closes."""


class Session:
    """One browser session's models and the snapshot its page shows."""

    def __init__(self) -> None:
        self.model: DashboardModel | None = DashboardModel()
        self.snap: Snapshot | None = self.model.snapshot(draw=True)
        self.closed = threading.Event()
        self.steps_played = 0
        self.token = 0  # which Play loop may run: a newer token stops older loops
        self.play_rate = 0.0  # months per second of the last Play

    def reset(self, settings: dict[str, Any]) -> Snapshot:
        """Build new models from ``settings`` (a Reset)."""
        self.model = DashboardModel(**settings)
        self.snap = self.model.snapshot(draw=True)
        return self.snap

    def refresh(self, draw: bool) -> Snapshot:
        """A new snapshot of the models (drawing the networks if ``draw``)."""
        assert self.model is not None
        previous = self.snap.networks if self.snap is not None else None
        self.snap = self.model.snapshot(previous, draw=draw)
        return self.snap

    def close(self) -> None:
        """The page went away: stop Play and drop the models."""
        self.closed.set()
        self.token += 1
        self.model = None
        self.snap = None
        print(CLOSED_MESSAGE, flush=True)


def _page_connected(context: Any) -> bool:
    """Whether a browser page is still connected to this session's kernel."""
    if context is None:
        return True
    if context.closed_event.is_set():
        return False
    from solara.server.kernel_context import PageStatus

    return PageStatus.CONNECTED in list(context.page_status.values())


def _current_context() -> Any:
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context()
    except Exception:  # outside a server (a test rendering the page): nothing to watch
        return None


TEXT = {"font-size": "15px"}
SMALL = {"font-size": "14px", "color": "#444", "display": "block", "line-height": "1.3"}
BOLD = {"font-size": "18px", "font-weight": "bold"}


@solara.component
def ControlView(control: Control, value: Any, on_value: Any, _: Any):
    """One setting: its label and current value, the widget, and its help text."""
    with solara.Column(gap="0px", style={"margin-bottom": "10px"}):
        if control.values:
            values = (
                ["none", *policy_designs()] if control.name == "policy" else list(control.values)
            )
            shown = {option_label(control, v, _): v for v in values}
            solara.Select(
                label=_(control.label),
                value=option_label(control, value, _),
                values=list(shown),
                on_value=lambda text: on_value(shown[text]),
            )
        else:
            with solara.Row(justify="space-between", style=TEXT):
                solara.Text(_(control.label), style=TEXT)
                number = f"{value:g}" if isinstance(control.step, int) else f"{value:.2f}"
                solara.Text(
                    number, classes=[f"value-{control.name}"], style={"font-weight": "bold"}
                )
            widget = solara.SliderInt if isinstance(control.step, int) else solara.SliderFloat
            widget(
                control.label,  # the accessible name stays English: tests and scripts find it
                value=value,
                min=control.lo,
                max=control.hi,
                step=control.step,
                on_value=on_value,
                thumb_label=True,
            )
        text = control_help(control, _)
        if text:
            solara.Text(text, classes=[f"help-{control.name}"], style=SMALL)


@solara.component
def KeyNumbers(snap: Snapshot, _: Any):
    """The key numbers of A (and B) at the current month, each tagged for tests."""
    with solara.Card(style={"width": "100%", "padding": "6px"}):
        solara.Text(_("Key numbers"), classes=["kn-title"], style=BOLD)
        with solara.Row(style=TEXT):
            solara.Text("", style={"width": "56%"})
            for label in snap.labels:
                solara.Text(
                    _("{run} (month {month})").format(run=label.split(":")[0], month=snap.month),
                    style={"width": "22%"},
                )
        for key in KEY_NUMBERS:
            with solara.Row(style={**TEXT, "margin": "1px 0"}):
                name = OUTCOME_NAMES.get(key, LABELS.get(key, key))
                solara.Text(_(name), style={"width": "56%"})
                for label in snap.labels:
                    solara.Text(
                        format_number(key, snap.metrics[label].get(key)),
                        classes=[f"kn-{key}-{label[0].lower()}"],
                        style={"width": "22%", "font-family": "monospace"},
                    )


OUTCOME_NAMES = {
    "power_balance": "Power balance in decisions (result)",
    "trust_partners": "Trust among partners (result)",
    "community_voice": "Community voice (result)",
}
"""Key-number names that differ from the plots' labels: results, told apart from levers."""


@solara.component
def Chart(index: int, snap: Snapshot, painter: ChartPainter, _: Any):
    """One live chart with its title, drawn from the snapshot."""
    png = solara.use_memo(lambda: painter.render(snap, _), [snap.serial, snap.labels, _])
    with solara.Card(style={"width": "100%", "padding": "4px"}, classes=["chart"]):
        solara.Text(_(CHARTS[index][0]), classes=[f"chart-title-{index}"], style=BOLD)
        solara.Image(png, width="100%", classes=[f"chart-{index}"])


@solara.component
def LiveLevers(session: Session, snap: Snapshot, on_change: Any, _: Any):
    """Sliders that change A and B from the next month on (no Reset), logged as events."""
    with solara.Card(_("Change now (from next month)"), style={"width": "100%"}):
        for lever, label, lo, hi, step in LIVE_LEVERS:
            value = snap.pending.get(lever, snap.factors[lever])

            def apply(new: Any, lever: str = lever) -> None:
                if session.model is not None:
                    session.model.set_live(lever, new)
                    on_change()

            widget = solara.SliderInt if isinstance(step, int) else solara.SliderFloat
            widget(label, value=value, min=lo, max=hi, step=step, on_value=apply)
        for lever, value in snap.pending.items():
            solara.Text(
                f"Next month: {lever} {snap.factors[lever]:g} → {value:g}",
                classes=["pending"],
                style=SMALL,
            )
        solara.Text(
            _(
                "The settings on the left build new models on Reset; these change the running "
                "ones from the next month, and each change is then listed under Events."
            ),
            style=SMALL,
        )


@solara.component
def EventsView(snap: Snapshot, policy: str, _: Any):
    """Interventions that fired, newest first."""
    with solara.Card(_("Events"), style={"width": "100%"}):
        solara.Text(design_note(policy), classes=["policy-note"], style=SMALL)
        if not snap.events:
            solara.Text(
                _("No interventions have fired yet."), classes=["events-empty"], style=SMALL
            )
        for line in snap.events:
            solara.Text(line, classes=["event"], style=SMALL)


@solara.component
def LessonView(lang: str, on_apply: Any, _: Any):
    """A lesson from ``lessons/``, one step at a time: question, Apply, what to watch, why."""
    files = lessons_for(lang)
    choice, set_choice = solara.use_state(next(iter(files), ""))
    index, set_index = solara.use_state(0)
    if choice not in files:
        choice = next(iter(files), "")
    with solara.Card(_("Lesson"), style={"width": "100%"}, classes=["lesson"]):
        if not choice:
            solara.Text(_("No lesson files in lessons/."), style=SMALL)
            return
        lesson = load_lesson(files[choice])
        index = min(index, len(lesson.steps) - 1)
        step = lesson.steps[index]
        with solara.Row(style={"align-items": "center"}, gap="8px"):
            solara.Select(
                label=_("Lesson file"),
                value=choice,
                values=list(files),
                on_value=lambda v: (set_choice(v), set_index(0)),
            )
            solara.Button("◀", on_click=lambda: set_index(max(0, index - 1)), disabled=index == 0)
            solara.Text(f"{index + 1} / {len(lesson.steps)}", style=TEXT)
            solara.Button(
                "▶",
                on_click=lambda: set_index(min(len(lesson.steps) - 1, index + 1)),
                disabled=index == len(lesson.steps) - 1,
            )
            solara.FileDownload(
                lambda: worksheet(lesson, _),
                filename=f"{choice}_worksheet.md",
                label=_("Worksheet (Markdown)"),
            )
        solara.Text(f"{index + 1}. {step.title}", classes=["lesson-title"], style=BOLD)
        solara.Text(f"{_('Question')}: {step.question}", classes=["lesson-question"], style=TEXT)
        settings = ", ".join(f"{k} = {v}" for k, v in step.settings.items())
        with solara.Row(style={"align-items": "center"}, gap="8px"):
            solara.Button(
                _("Apply these settings and reset"),
                on_click=lambda: on_apply(step.settings),
                color="primary",
                classes=["lesson-apply"],
            )
            solara.Text(settings, classes=["lesson-settings"], style=SMALL)
        solara.Text(f"{_('Watch')}: {step.watch}", style=SMALL)
        solara.Text(f"{_('Why it happens')}: {step.mechanism}", style=SMALL)


def lessons_for(lang: str) -> dict[str, Path]:
    """The lesson files in a language (``language`` in the file; English when not given)."""
    found = {name: path for name, path in lessons().items() if lesson_language(path) == lang}
    return found or lessons()


TITLE = "Kemitraan: partnerships and community welfare"


@solara.component
def Page():
    """The app: one :class:`Session` (models A and B) per browser session."""
    session = solara.use_memo(Session, [])
    settings, set_settings = solara.use_state({c.name: c.default for c in CONTROLS})
    snap, set_snap = solara.use_state(session.snap)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state("max")
    lang, set_lang = solara.use_state("en")
    _ = translator(lang)
    context = solara.use_memo(_current_context, [])
    painters = solara.use_memo(lambda: [ChartPainter(i) for i in range(len(CHARTS))], [])
    solara.use_effect(lambda: session.close, [])  # on unmount: stop Play, drop the models

    def play() -> None:
        model, token = session.model, session.token
        if not playing or model is None:
            return
        last_draw, last_network = 0.0, model.a.steps
        started_play, months = time.monotonic(), 0
        due = started_play
        try:
            while session.token == token and not model.at_horizon:
                if session.model is not model or not _page_connected(context):
                    return
                started = time.monotonic()
                model.step()
                months += 1
                if started - last_draw >= REFRESH_S:
                    network = model.a.steps - last_network >= NETWORK_EVERY
                    if network:
                        last_network = model.a.steps
                    set_snap(session.refresh(draw=network))
                    last_draw = time.monotonic()
                # Months are due on a fixed clock, so the time spent drawing is made up by
                # the next months' pauses (up to a second's worth, then the clock restarts).
                due += SPEEDS[speed]
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -1.0:
                    due = time.monotonic()
        finally:
            elapsed = time.monotonic() - started_play
            session.play_rate = months / elapsed if elapsed > 0 else 0.0
            if session.model is model and not session.closed.is_set():
                set_snap(session.refresh(draw=True))
                if session.token == token:
                    set_playing(False)

    solara.lab.use_task(play, dependencies=[playing, speed], prefer_threaded=True)

    def set_play(on: bool) -> None:
        session.token += 1  # a running Play loop sees the new token and stops
        set_playing(on)

    def change_speed(value: str) -> None:
        session.token += 1
        set_speed(value)

    def do_reset(new_settings: dict[str, Any] | None = None) -> None:
        set_play(False)
        set_snap(session.reset(new_settings or settings))

    def apply_lesson(changes: dict[str, Any]) -> None:
        new = {**{c.name: c.default for c in CONTROLS}, **changes}
        set_settings(new)
        do_reset(new)

    def do_step() -> None:
        if session.model is not None and not session.model.at_horizon:
            session.model.step()
            set_snap(session.refresh(draw=True))

    def changed() -> None:
        if session.model is not None:
            set_snap(session.refresh(draw=False))

    if snap is None:
        solara.Text("This session has ended: reload the page.")
        return
    solara.Title(_(TITLE))
    solara.Style(".v-slider__thumb-label { font-size: 13px; }")
    with solara.Column(style={"padding": "6px 10px"}, gap="6px"):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="10px"):
            solara.Text(
                _(TITLE), classes=["app-title"], style={"font-size": "20px", "font-weight": "bold"}
            )
            solara.Button(_("Reset"), on_click=do_reset, color="primary", outlined=True)
            solara.Button(
                _("Step"), on_click=do_step, disabled=playing or snap.month >= snap.horizon
            )
            solara.Button(
                _("Pause") if playing else _("Play"),
                on_click=lambda: set_play(not playing),
                color="primary",
                disabled=not playing and snap.month >= snap.horizon,
                classes=["play-button"],
            )
            with solara.Column(gap="0px", style={"width": "190px"}):
                solara.Select(
                    label=_("Speed (months per second)"),
                    value=speed,
                    values=list(SPEEDS),
                    on_value=change_speed,
                )
            solara.Text(
                _("Month {month} of {horizon}").format(month=snap.month, horizon=snap.horizon),
                classes=["month-counter"],
                style={"font-size": "18px", "font-weight": "bold"},
            )
            solara.ToggleButtonsSingle(
                value=lang,
                on_value=set_lang,
                dense=True,
                children=[solara.Button(name, value=code) for code, name in LANGUAGES.items()],
                classes=["language"],
            )
        with solara.Columns([3, 9], gutters_dense=True):
            with solara.Column(
                style={"max-height": "calc(100vh - 70px)", "overflow-y": "auto"}, gap="0px"
            ):
                for control in CONTROLS:
                    ControlView(
                        control,
                        settings[control.name],
                        lambda v, name=control.name: set_settings({**settings, name: v}),
                        _,
                    )
                solara.Text(
                    _("These settings take effect on Reset."),
                    style={**SMALL, "font-weight": "bold"},
                )
            with solara.Column(gap="6px"):
                with solara.Row(gap="6px", style={"align-items": "flex-start"}):
                    with solara.Column(style={"width": "40%"}):
                        KeyNumbers(snap, _)
                    with solara.Column(style={"width": "60%"}):
                        Chart(0, snap, painters[0], _)
                with solara.Row(gap="6px", style={"align-items": "flex-start"}):
                    for i in (1, 2):
                        with solara.Column(style={"width": "50%"}):
                            Chart(i, snap, painters[i], _)
                with solara.Row(gap="6px", style={"align-items": "flex-start"}):
                    with solara.Column(style={"width": "50%"}):
                        Chart(3, snap, painters[3], _)
                    with solara.Column(style={"width": "50%"}):
                        LiveLevers(session, snap, changed, _)
                with solara.Row(gap="6px", style={"align-items": "center"}, classes=["downloads"]):
                    solara.FileDownload(
                        lambda: history_csv(snap),
                        filename="kemitraan_run.csv",
                        label=_("Table (CSV)"),
                    )
                    solara.FileDownload(
                        lambda: charts_image(snap, _, "png"),
                        filename="kemitraan_charts.png",
                        label=_("Charts (PNG)"),
                    )
                    solara.FileDownload(
                        lambda: charts_image(snap, _, "svg"),
                        filename="kemitraan_charts.svg",
                        label=_("Charts (SVG)"),
                    )
                LessonView(lang, apply_lesson, _)
                with solara.Row(gap="6px", style={"align-items": "flex-start"}):
                    for label in snap.labels:
                        with solara.Column(style={"width": "50%"}):
                            solara.Image(snap.networks[label], width="100%", classes=["network"])
                    if len(snap.labels) == 1:
                        with solara.Card(_("Compare A with B"), style={"width": "50%"}):
                            solara.Text(
                                _(
                                    "Choose “Compare with B = A but …” on the left and press "
                                    "Reset: B is A with one success factor degraded (or no "
                                    "partnership), on the same seed, so both share the same "
                                    "villages and households. Its network appears here, dashed "
                                    "lines in the charts, and a B column in the key numbers."
                                ),
                                style=SMALL,
                            )
                policy = session.model.policy if session.model else "none"
                EventsView(snap, policy, _)
