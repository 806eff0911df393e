"""The dashboard's models: configuration A and, optionally, B, stepped together under one lock.

:class:`DashboardModel` builds A from the dashboard's controls (or from a policy design file)
and B as A with one change (:data:`COMPARISONS`), on the same seed, so both share villages,
households and ties. It keeps the course of the charted outcomes (:data:`HISTORY`) and takes
the changes of the *Change now* panel (:meth:`DashboardModel.set_live`), which apply from the
next month as a scheduled ``set`` intervention would.

Robustness (issue 18): one lock guards both models. A step holds it, and every picture is
drawn from a :class:`Snapshot` taken under it (the networks are drawn to PNG under it), never
from the live models. The page (:mod:`sim.present.app`) and its panels read only snapshots.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import mesa
from matplotlib.figure import Figure

from sim.errors import UserError
from sim.model.model import PartnershipModel
from sim.paths import SCENARIOS
from sim.present.netdraw import draw_network
from sim.scenario import Scenario, load_scenario

__all__ = [
    "CHARTS",
    "COMPARISONS",
    "DESIGN_CONTROLS",
    "HISTORY",
    "KEY_NUMBERS",
    "LIVE_EVENT",
    "LIVE_LEVERS",
    "DashboardModel",
    "Snapshot",
    "comparison_overrides",
    "design_scenario",
    "event_lines",
    "format_event",
    "network_png",
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
        events: the newest interventions that fired, as (run letter, event) copies, newest
            first (:func:`format_event` words them); pending: live changes waiting for next month.
        factors: A's current success factors (the Change-now sliders' positions).
        networks: per label, the network as PNG bytes (redrawn every few months in Play).
    """

    serial: int
    month: int
    horizon: int
    labels: tuple[str, ...]
    metrics: dict[str, dict[str, float]]
    history: dict[str, dict[str, tuple[float, ...]]]
    events: tuple[tuple[str, dict[str, Any]], ...]
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
    ['quarterly audits', 'quarterly audits (certain)']
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

    def snapshot(
        self, networks: dict[str, bytes] | None = None, draw: bool = False, gettext: Any = str
    ) -> Snapshot:
        """Copy what the page shows, under the lock; ``draw=True`` also draws the networks.

        ``networks`` (the previous snapshot's pictures) are kept when not redrawn; new ones
        are labelled in the language of ``gettext``.

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
                events=newest_events(self.runs),
                pending=dict(self.pending),
                factors={lever: getattr(factors, lever.split(".")[1]) for lever, *_ in LIVE_LEVERS},
                networks=(
                    {label: network_png(run, label, gettext) for label, run in self.runs}
                    if draw
                    else dict(networks or {})
                ),
            )


def _png(fig: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    # Light compression: the same pixels, encoded in a third of the time (Play draws these).
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def network_png(model: PartnershipModel, label: str, gettext: Any = str) -> bytes:
    """One configuration's stakeholder network as a PNG (call it under the models' lock).

    Title and legend in the language of ``gettext``, the legend at 10 points beside the
    drawing (inside the picture), for a projector.
    """
    _ = gettext
    fig = Figure(figsize=(7.0, 5.6))
    fig.subplots_adjust(left=0.01, right=0.60, top=0.94, bottom=0.01)
    title = _("{run}, month {month}").format(run=label.split(":")[0], month=model.steps)
    draw_network(fig.subplots(), model, title=title, gettext=_, fontsize=10)
    return _png(fig, dpi=80)


def newest_events(runs: list[tuple[str, Any]], limit: int = 12) -> tuple[tuple[str, dict], ...]:
    """The newest ``limit`` interventions that fired in the runs, as (run letter, event) copies.

    >>> from types import SimpleNamespace
    >>> a = SimpleNamespace(events=[{"step": 2, "intervention": "x"}, {"step": 5}])
    >>> newest_events([("A", a), ("B: low trust", object())])
    (('A', {'step': 5}), ('A', {'step': 2, 'intervention': 'x'}))
    """
    rows = [
        (label[0], dict(event))
        for label, run in runs
        for event in getattr(run, "events", None) or []
    ]
    rows.sort(key=lambda r: -int(r[1].get("step", 0)))
    return tuple(rows[:limit])


def format_event(run: str, event: dict[str, Any], gettext: Any = str) -> str:
    """One line of the Events panel, in the language of ``gettext``.

    The words are translated (the month, the action, the intervention's name, the note's
    reason); lever names and values are shown as the scenario files write them.

    >>> event = {"step": 3, "intervention": "dashboard (live)", "action": "set",
    ...          "target": "factors.communication", "old": "0.8", "new": "0.1", "note": ""}
    >>> format_event("A", event)
    'A · month 3: dashboard (live) — set factors.communication: 0.8 → 0.1'
    >>> from sim.present.i18n import translator
    >>> format_event("A", event, translator("id"))
    'A · bulan 3: dasbor (langsung) — ubah factors.communication: 0.8 → 0.1'
    >>> skipped = {"step": 9, "intervention": "mediation", "action": "form",
    ...            "target": "partnership", "old": "", "new": "",
    ...            "note": "skipped: a partnership is already active"}
    >>> format_event("B", skipped, translator("id"))
    'B · bulan 9: mediasi — bentuk kemitraan (dilewati: sudah ada kemitraan yang aktif)'
    """
    _ = gettext
    action, target = event.get("action", ""), str(event.get("target", ""))
    change = f"{_(action) if action else ''} {_(target) if target else ''}".strip()
    old, new = event.get("old", ""), event.get("new", "")
    if old != "" or new != "":
        change += f": {old} → {new}"
    if event.get("note"):
        change += f" ({translate_note(str(event['note']), _)})"
    name = event.get("intervention", "")
    return _("{run} · month {month}: {intervention} — {change}").format(
        run=run, month=event.get("step", "?"), intervention=_(name) if name else "", change=change
    )


def translate_note(note: str, gettext: Any = str) -> str:
    """An event's note in the language of ``gettext``: its fixed phrases, numbers kept.

    The model writes ``skipped: <reason>`` when an action could not apply and ``window ended
    at <month>`` when a temporary change is undone; other notes are translated whole.
    """
    _ = gettext
    if note.startswith("skipped: "):
        return _("skipped: {reason}").format(reason=_(note.removeprefix("skipped: ")))
    if note.startswith("window ended at "):
        return _("window ended at {month}").format(month=note.removeprefix("window ended at "))
    return _(note)


def event_lines(runs: list[tuple[str, Any]], limit: int = 12, gettext: Any = str) -> list[str]:
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
    return [format_event(run, event, gettext) for run, event in newest_events(runs, limit)]


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
