"""The live dashboard: Mesa's SolaraViz over a partnership model, for classrooms.

Start it with ``python run_simulation.py dashboard`` (or ``solara run sim/app.py --host
127.0.0.1``) and open the address it prints. In the sidebar: the partnership type, the five
success factors, community size, seed and a comparison configuration *B*; Mesa's own controls
give Reset, Play/Pause, Step and the speed (play interval). A sidebar parameter takes effect
on **Reset**, as in every SolaraViz app: a new model is built from the sliders. The *Change
now* panel's sliders change goal clarity, power balance, communication and the evaluation
interval of the running models (A and B) from the next month on, as a scheduled ``set``
intervention would, and each change is listed under Events.

A *policy design* (one of ``scenarios/policies/*.toml``, chosen in the sidebar) replaces the
partnership type and the five success factors with the design file's own levers and adds its
timeline of interventions; community size and seed still come from the sidebar. The Events
panel then lists every intervention as it fires.

Configuration *B* is configuration *A* with the one change that a shipped scenario variant
makes (for example ``scenarios/msp_poor_communication.toml`` sets ``factors.communication =
0.2``), built on the same seed: the same households, villages and ties (common random numbers),
so every difference on screen comes from that change.

Everything renders offline with Mesa's matplotlib backend (see docs/dashboard.md).
"""

from __future__ import annotations

import math
import threading
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import mesa
import solara
from matplotlib.figure import Figure

with warnings.catch_warnings():
    # Solara's rules-of-hooks check flags Mesa 3.3.1's ComponentsView when Mesa's module is
    # imported (a use_state after an early return taken only when there are no components; we
    # always pass components). The warning is about Mesa's code and is silenced for it only.
    warnings.filterwarnings("ignore", ".*ComponentsView: `use_state` found", UserWarning)
    warnings.filterwarnings("ignore", ".*validate hooks for component ComponentsView", UserWarning)
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import force_update, update_counter

from sim.errors import UserError
from sim.model.model import PartnershipModel
from sim.paths import SCENARIOS
from sim.present.netdraw import draw_network
from sim.present.plots import LABELS
from sim.scenario import PARTNERSHIP_TYPES, Scenario, load_scenario

__all__ = [
    "COMPARISONS",
    "DESIGN_CONTROLS",
    "LIVE_LEVERS",
    "DashboardModel",
    "Page",
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


class DashboardModel(mesa.Model):
    """Configuration A and, optionally, B: two partnership models stepped together.

    Both are built on the same seed, so they share the population and the graph; B differs
    from A only by :func:`comparison_overrides`. Keyword arguments are the dashboard's
    controls (SolaraViz passes them by name on Reset).

    With ``policy`` set to a design's file name (:func:`policy_designs`), A is that design
    file (its levers and its ``[[interventions]]``) with the sidebar's community size; the
    controls named in :data:`DESIGN_CONTROLS` are not used. B is A with the comparison's change
    applied to the design's starting levers; the design's interventions run in B too.

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
        # Live changes wait here for the next month. Mesa's Play steps in a worker thread
        # while slider handlers run in another, so both hold the lock.
        self.pending: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def runs(self) -> list[tuple[str, PartnershipModel]]:
        """``[("A", model_a)]`` plus ``("B", model_b)`` when a comparison is chosen."""
        return [("A", self.a)] + ([(f"B: {self.compare}", self.b)] if self.b else [])

    def step(self) -> None:
        """One month in A and in B, after the live changes made since the last month."""
        with self._lock:
            pending, self.pending = self.pending, {}
            for lever, value in pending.items():
                for label, model in self.runs:
                    if label == "A" or lever not in self._defines_b:
                        model.interventions.set_now(lever, value, by=LIVE_EVENT)
            for _, model in self.runs:
                model.step()

    def set_live(self, lever: str, value: Any) -> None:
        """Change ``lever`` in A and in B from the next month on, without a Reset.

        The change waits in ``pending`` until the next month starts, then applies as a
        scheduled ``set`` intervention at that month would (see
        :meth:`sim.interventions.Interventions.set_now`) and is listed in the Events panel.
        Moves made within one month (a slider being dragged) count once, at their last value;
        one that returns to the current value changes nothing. B keeps its own value of the
        lever that defines it ("B = A but poor communication" keeps its poor communication
        when A's changes).

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
        name, value = self.a.interventions.check_setting(lever, value)
        with self._lock:
            self.pending[name] = value


# ---------------------------------------------------------------------------------- components
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
"""Live chart panels: title and the outcomes drawn in it."""

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


def network_figure(model: PartnershipModel, label: str) -> Figure:
    """One configuration's stakeholder network, drawn by :func:`sim.netdraw.draw_network`."""
    fig = Figure(figsize=(5.9, 4.2), layout="constrained")
    draw_network(fig.subplots(), model, title=f"{label}, month {model.steps}")
    return fig


def charts_figure(model: DashboardModel) -> Figure:
    """The live charts: one panel per :data:`CHARTS` entry, A solid and B dashed."""
    fig = Figure(figsize=(7.2, 5.0), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    frames = [(label[0], run.results()) for label, run in model.runs]
    for ax, (title, outcomes) in zip(axes, CHARTS, strict=True):
        for k, outcome in enumerate(outcomes):
            colour = f"C{k}"
            for label, df in frames:
                ax.plot(
                    df["step"],
                    df[outcome],
                    _DASH[label],
                    color=colour,
                    lw=1.3,
                    label=LABELS.get(outcome, outcome) if label == "A" else None,
                )
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best", frameon=False)
    axes[-1].set_xlabel("month", fontsize=8)
    axes[-2].set_xlabel("month", fontsize=8)
    if len(frames) > 1:
        fig.suptitle("solid: A, dashed: B", fontsize=8)
    return fig


@solara.component
def NetworkA(model: DashboardModel):
    """The network of configuration A."""
    update_counter.get()  # re-render when SolaraViz steps or resets the model
    solara.FigureMatplotlib(network_figure(model.a, "A"), format="png", dpi=90)


@solara.component
def NetworkB(model: DashboardModel):
    """The network of configuration B beside A's, or how to get one."""
    update_counter.get()
    if model.b is None:
        with solara.Card("Compare A with B", style={"width": "100%"}):
            # Plain text: solara.Markdown loads KaTeX from a CDN, which fails offline.
            solara.Text(
                "Choose “Compare with B = A but …” in the sidebar and press Reset: B is A "
                "with one success factor degraded (or no partnership), on the same seed, so "
                "both share the same villages and households. Its network appears here, "
                "dashed lines in the charts, and a B column in the key numbers."
            )
        return
    label = model.runs[1][0]
    solara.FigureMatplotlib(network_figure(model.b, label), format="png", dpi=90)


@solara.component
def ChartsView(model: DashboardModel):
    """The live charts panel."""
    update_counter.get()  # re-render when SolaraViz steps or resets the model
    solara.FigureMatplotlib(charts_figure(model), format="png", dpi=90)


@solara.component
def KeyNumbers(model: DashboardModel):
    """The key numbers of A (and B) at the current step, each tagged for tests and scrapers."""
    update_counter.get()  # re-render when SolaraViz steps or resets the model
    runs = model.runs
    with solara.Card("Key numbers", style={"width": "100%"}):
        with solara.Row():
            solara.Text("", style={"width": "52%"})
            for label, run in runs:
                solara.Text(f"{label.split(':')[0]} (month {run.steps})", style={"width": "22%"})
        for key in KEY_NUMBERS:
            with solara.Row(style={"font-size": "0.85em"}):
                solara.Text(LABELS.get(key, key.replace("_", " ")), style={"width": "52%"})
                for label, run in runs:
                    solara.Text(
                        format_number(key, run.metrics.get(key)),
                        classes=[f"kn-{key}-{label[0].lower()}"],
                        style={"width": "22%", "font-family": "monospace"},
                    )


def event_lines(runs: list[tuple[str, Any]], limit: int = 12) -> list[str]:
    """The newest ``limit`` interventions that fired in the runs (A, B), one line each.

    Reads each run's ``events`` (the model's event log: dicts with ``step``, ``intervention``,
    ``action``, ``target``, ``old``, ``new`` and ``note``, see :mod:`sim.interventions`); a run
    without events gives no lines.

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
            "Policy design: none. Choose one in the sidebar and press Reset to watch its "
            "interventions fire here."
        )
    about = design_scenario(policy).description
    return (
        f"Policy design {policy} (scenarios/policies/{policy}.toml): "
        + (f"{about} " if about else "")
        + "The design sets the partnership type and the five success factors (their sliders "
        "are not used); community size, seed and B come from the sidebar."
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


@solara.component
def LiveLevers(model: DashboardModel):
    """Sliders that change A and B from the next month on (no Reset), logged as events."""
    update_counter.get()  # re-render when SolaraViz steps or resets the model: show its values
    factors = model.a.config.factors
    with solara.Card("Change now (from next month)", style={"width": "100%"}):
        for lever, label, lo, hi, step in LIVE_LEVERS:
            value = model.pending.get(lever, getattr(factors, lever.split(".")[1]))

            def apply(new: Any, lever: str = lever) -> None:
                model.set_live(lever, new)
                force_update()  # redraw: the panel lists what waits for next month

            if isinstance(step, int):
                solara.SliderInt(label, value=int(value), min=lo, max=hi, step=step, on_value=apply)
            else:
                solara.SliderFloat(
                    label, value=float(value), min=lo, max=hi, step=step, on_value=apply
                )
        for lever, value in model.pending.items():
            old = getattr(factors, lever.split(".")[1])
            solara.Text(
                f"Next month: {lever} {old:g} → {value:g}",
                classes=["pending"],
                style={"display": "block", "font-size": "0.85em"},
            )
        solara.Text(
            "The sidebar's sliders build a new model on Reset; these change the running one "
            "from the next month, and each change is then listed under Events.",
            style={"display": "block", "font-size": "0.85em"},
        )


@solara.component
def EventsView(model: DashboardModel):
    """Interventions that fired (``model.events``, when the model records them), newest first."""
    update_counter.get()  # re-render when SolaraViz steps or resets the model
    with solara.Card("Events", style={"width": "100%"}):
        solara.Text(design_note(model.policy), classes=["policy-note"], style={"display": "block"})
        lines = event_lines(model.runs)
        if not lines:
            solara.Text("No interventions have fired yet.", classes=["events-empty"])
        for line in lines:
            solara.Text(line, classes=["event"], style={"display": "block", "font-size": "0.85em"})


def _slider(label: str, value: float, lo: float = 0.0, hi: float = 1.0, step: float = 0.05):
    return {
        "type": "SliderFloat",
        "label": label,
        "value": value,
        "min": lo,
        "max": hi,
        "step": step,
    }


model_params = {
    "partnership_type": {
        "type": "Select",
        "label": "Partnership type",
        "value": "msp",
        "values": list(PARTNERSHIP_TYPES),
    },
    "goal_clarity": _slider("Goal clarity", 0.8),
    "power_balance": _slider("Power balance", 0.7),
    "communication": _slider("Communication", 0.8),
    "trust": _slider("Trust (prehistory)", 0.7),
    "evaluation_interval": {
        "type": "SliderInt",
        "label": "Evaluation every N months (0 = never)",
        "value": 12,
        "min": 0,
        "max": 36,
        "step": 1,
    },
    "households": {
        "type": "SliderInt",
        "label": "Community size (households)",
        "value": 300,
        "min": 50,
        "max": 3000,
        "step": 50,
    },
    "seed": {"type": "SliderInt", "label": "Seed", "value": 1, "min": 0, "max": 99, "step": 1},
    "policy": {
        "type": "Select",
        "label": "Policy design (sets type and factors)",
        "value": "none",
        "values": ["none", *policy_designs()],
    },
    "compare": {
        "type": "Select",
        "label": "Compare with B = A but …",
        "value": "none",
        "values": list(COMPARISONS),
    },
}
"""The dashboard's controls, passed by name to :class:`DashboardModel` on Reset."""


@solara.component
def Page():
    """The app: one :class:`DashboardModel` per browser session, inside Mesa's SolaraViz.

    A model built at import time would be shared by every tab (Solara imports the app once per
    server) until each tab pressed Reset; ``use_memo`` builds one per session instead.
    """
    model = solara.use_memo(DashboardModel, [])
    return SolaraViz(
        model,
        components=[
            (NetworkA, 0),
            (NetworkB, 0),
            (KeyNumbers, 0),
            (LiveLevers, 0),
            (ChartsView, 0),
            (EventsView, 0),
        ],
        model_params=model_params,
        name="Kemitraan: partnerships and community welfare",
        play_interval=200,
    )
