"""The live dashboard: partnership models A and B on a Solara page, for classrooms.

Start it with ``python run_simulation.py dashboard`` (or ``solara run sim/app.py --host
127.0.0.1``) and open the address it prints. On the left: the partnership type, the five
success factors (each with its value and what it means), community size, seed, a policy design
and a comparison configuration *B*; they take effect on **Reset**. Above the charts: Reset,
Step, Play/Pause, the speed, the month and the language. The *Change now* panel changes goal
clarity, power balance, communication and the evaluation interval of the running models (A
and B) from the next month on, as a scheduled ``set`` intervention would, and each change is
listed under Events.

The page is this project's own, not Mesa's ``SolaraViz`` (whose "Use Threads" option drew
panels from three different months, whose panels dragged with the sliders, and whose Play ran
past the horizon). This module only lays the page out; the pieces live beside it:

- :mod:`sim.present.livemodel`: A and B under one lock, and the snapshots drawn from;
- :mod:`sim.present.session`: one browser session's models and its Play loop;
- :mod:`sim.present.livecharts`: the live charts (blitted) and the downloads;
- :mod:`sim.present.controls`: the settings on the left, declared as data;
- :mod:`sim.present.panels`: the components (controls, key numbers, charts, Change now,
  events, lesson).

Everything renders offline with matplotlib PNGs (see docs/dashboard.md).
"""

from __future__ import annotations

from typing import Any

import solara

from sim.present.controls import CONTROLS, PARTNERSHIP_NAMES, Control
from sim.present.i18n import LANGUAGES, translator
from sim.present.livecharts import ChartPainter, charts_image, history_csv
from sim.present.livemodel import (
    CHARTS,
    COMPARISONS,
    DESIGN_CONTROLS,
    KEY_NUMBERS,
    LIVE_LEVERS,
    DashboardModel,
    Snapshot,
    event_lines,
    policy_designs,
)
from sim.present.panels import (
    OUTCOME_NAMES,
    SMALL,
    Chart,
    ControlView,
    EventsView,
    KeyNumbers,
    LessonView,
    LiveLevers,
)
from sim.present.session import SPEEDS, Session, current_context, page_connected

__all__ = [
    "CHARTS",
    "COMPARISONS",
    "CONTROLS",
    "DESIGN_CONTROLS",
    "KEY_NUMBERS",
    "LIVE_LEVERS",
    "OUTCOME_NAMES",
    "PARTNERSHIP_NAMES",
    "TITLE",
    "ChartPainter",
    "Control",
    "DashboardModel",
    "Page",
    "Session",
    "Snapshot",
    "event_lines",
    "policy_designs",
]

TITLE = "Kemitraan: partnerships and community welfare"


@solara.component
def PlayButtons(view: solara.Reactive, playing: bool, actions: dict[str, Any], _: Any):
    """Step and Play/Pause, disabled at the run's horizon (redrawn with every snapshot)."""
    snap = view.value
    if snap is None:
        solara.Text("This session has ended: reload the page.")
        return
    with solara.Row(style={"align-items": "center"}, gap="10px"):
        solara.Button(
            _("Step"), on_click=actions["step"], disabled=playing or snap.month >= snap.horizon
        )
        solara.Button(
            _("Pause") if playing else _("Play"),
            on_click=lambda: actions["play"](not playing),
            color="primary",
            disabled=not playing and snap.month >= snap.horizon,
            classes=["play-button"],
        )


@solara.component
def MonthCounter(view: solara.Reactive, _: Any):
    """The month shown, of the run's horizon."""
    snap = view.value
    if snap is not None:
        solara.Text(
            _("Month {month} of {horizon}").format(month=snap.month, horizon=snap.horizon),
            classes=["month-counter"],
            style={"font-size": "18px", "font-weight": "bold"},
        )


@solara.component
def LiveCharts(view: solara.Reactive, painters: list[ChartPainter], set_live: Any, _: Any):
    """Key numbers, the four charts and the Change-now panel (redrawn with every snapshot)."""
    snap = view.value
    if snap is None:
        return
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
            LiveLevers(snap, set_live, _)


@solara.component
def LiveNetworks(view: solara.Reactive, session: Session, _: Any):
    """The networks of A (and B) side by side, then the Events."""
    snap = view.value
    if snap is None:
        return
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


@solara.component
def Page():
    """The app: one :class:`Session` (models A and B) per browser session.

    What the models show lives in one reactive value, ``view`` (the latest snapshot): only the
    components that read it (Step and Play, the month, the live charts and numbers, the
    networks and events) are redrawn during Play; the title bar, the settings on the left, the
    downloads and the lesson are not (a Page redraw cost ~0.25 s under load, most of Play's
    time).
    """
    session = solara.use_memo(Session, [])
    view = solara.use_memo(lambda: solara.reactive(session.snap), [])
    settings, set_settings = solara.use_state({c.name: c.default for c in CONTROLS})
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state("max")
    lang, set_lang = solara.use_state("en")
    _ = translator(lang)
    context = solara.use_memo(current_context, [])
    painters = solara.use_memo(lambda: [ChartPainter(i) for i in range(len(CHARTS))], [])
    solara.use_effect(lambda: session.close, [])  # on unmount: stop Play, drop the models

    def play() -> None:
        if playing:
            session.play(
                SPEEDS[speed],
                publish=view.set,
                connected=lambda: page_connected(context),
                on_end=lambda: set_playing(False),
            )

    solara.lab.use_task(play, dependencies=[playing, speed], prefer_threaded=True)

    def set_play(on: bool) -> None:
        session.token += 1  # a running Play loop sees the new token and stops
        set_playing(on)

    def change_speed(value: str) -> None:
        session.token += 1
        set_speed(value)

    def do_reset(new_settings: dict[str, Any] | None = None) -> None:
        set_play(False)
        view.set(session.reset(new_settings or settings))

    def apply_lesson(changes: dict[str, Any]) -> None:
        new = {**{c.name: c.default for c in CONTROLS}, **changes}
        set_settings(new)
        do_reset(new)

    def do_step() -> None:
        if session.model is not None and not session.model.at_horizon:
            session.model.step()
            view.set(session.refresh(draw=True))

    def change_language(code: str) -> None:
        set_lang(code)
        session.gettext = translator(code)
        if session.model is not None:  # the networks' titles and legends, in the new language
            view.set(session.refresh(draw=True))

    def set_live(lever: str, value: Any) -> None:
        if session.model is not None:
            session.model.set_live(lever, value)
            view.set(session.refresh(draw=False))

    actions = {"step": do_step, "play": set_play}
    solara.Title(_(TITLE))
    solara.Style(".v-slider__thumb-label { font-size: 13px; }")
    with solara.Column(style={"padding": "6px 10px"}, gap="6px"):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="10px"):
            solara.Text(
                _(TITLE), classes=["app-title"], style={"font-size": "20px", "font-weight": "bold"}
            )
            solara.Button(_("Reset"), on_click=do_reset, color="primary", outlined=True)
            PlayButtons(view, playing, actions, _)
            with solara.Column(gap="0px", style={"width": "190px"}):
                solara.Select(
                    label=_("Speed (months per second)"),
                    value=speed,
                    values=list(SPEEDS),
                    on_value=change_speed,
                )
            MonthCounter(view, _)
            solara.ToggleButtonsSingle(
                value=lang,
                on_value=change_language,
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
                LiveCharts(view, painters, set_live, _)
                with solara.Row(gap="6px", style={"align-items": "center"}, classes=["downloads"]):
                    # Static: each reads the newest snapshot when clicked, not at every redraw.
                    solara.FileDownload(
                        lambda: history_csv(view.value),
                        filename="kemitraan_run.csv",
                        label=_("Table (CSV)"),
                    )
                    solara.FileDownload(
                        lambda: charts_image(view.value, _, "png"),
                        filename="kemitraan_charts.png",
                        label=_("Charts (PNG)"),
                    )
                    solara.FileDownload(
                        lambda: charts_image(view.value, _, "svg"),
                        filename="kemitraan_charts.svg",
                        label=_("Charts (SVG)"),
                    )
                LessonView(lang, apply_lesson, _)
                LiveNetworks(view, session, _)
