"""The dashboard's panels (Solara components), each drawn from a snapshot, never a live model.

:func:`ControlView` (a setting on the left: label, value, widget, help text), :func:`KeyNumbers`,
:func:`Chart` (one live chart), :func:`LiveLevers` (the *Change now* sliders),
:func:`EventsView` (interventions that fired) and :func:`LessonView` (a lesson from
``lessons/``, one step at a time). Each takes the page's translator ``_`` so that the language
switch redraws it. The page that lays them out is :mod:`sim.present.app`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import solara

from sim.present.controls import Control, control_help, option_label
from sim.present.lessons import lesson_language, lessons, load_lesson, worksheet
from sim.present.livecharts import ChartPainter, format_number
from sim.present.livemodel import (
    CHARTS,
    KEY_NUMBERS,
    LIVE_LEVERS,
    Snapshot,
    design_scenario,
    format_event,
    policy_designs,
)
from sim.present.plots import LABELS

__all__ = [
    "OUTCOME_NAMES",
    "Chart",
    "ControlView",
    "EventsView",
    "KeyNumbers",
    "LessonView",
    "LiveLevers",
    "design_note",
    "key_numbers_html",
    "lessons_for",
]


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
                _(control.label),  # its accessible name: tests find a slider by it
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
    """The key numbers of A (and B) at the current month, each tagged for tests.

    The table is one HTML element (:func:`key_numbers_html`), not a widget per cell: it is
    redrawn with every snapshot during Play, and some fifty widgets cost more than the charts.
    """
    with solara.Card(style={"width": "100%", "padding": "6px"}):
        solara.Text(_("Key numbers"), classes=["kn-title"], style=BOLD)
        solara.HTML(tag="div", unsafe_innerHTML=key_numbers_html(snap, _))


def key_numbers_html(snap: Snapshot, gettext: Any = str) -> str:
    """The key-numbers table as HTML: a row per outcome, a column per run, cells tagged.

    >>> from sim.present.livemodel import DashboardModel
    >>> html = key_numbers_html(DashboardModel(households=60).snapshot())
    >>> '<td class="kn-partnership_size-a"' in html, html.count("<tr")
    (True, 12)
    """
    _ = gettext
    cell = 'style="padding: 1px 4px; width: 22%"'
    head = "".join(
        f"<th {cell}>"
        + escape(_("{run} (month {month})").format(run=label.split(":")[0], month=snap.month))
        + "</th>"
        for label in snap.labels
    )
    rows = [f'<tr><th style="width: 56%"></th>{head}</tr>']
    for key in KEY_NUMBERS:
        name = escape(_(OUTCOME_NAMES.get(key, LABELS.get(key, key))))
        values = "".join(
            f'<td class="kn-{key}-{label[0].lower()}" {cell[:-1]}; font-family: monospace">'
            f"{format_number(key, snap.metrics[label].get(key))}</td>"
            for label in snap.labels
        )
        rows.append(f'<tr><td style="padding: 1px 0">{name}</td>{values}</tr>')
    style = "width: 100%; font-size: 15px; border-collapse: collapse; text-align: left"
    return f'<table class="key-numbers" style="{style}">' + "".join(rows) + "</table>"


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
def LiveLevers(snap: Snapshot, on_set: Any, _: Any):
    """Sliders that change A and B from the next month on (no Reset), logged as events.

    ``on_set(lever, value)`` passes a slider's move to the running models.
    """
    with solara.Card(_("Change now (from next month)"), style={"width": "100%"}):
        for lever, label, lo, hi, step in LIVE_LEVERS:
            value = snap.pending.get(lever, snap.factors[lever])

            def apply(new: Any, lever: str = lever) -> None:
                on_set(lever, new)

            widget = solara.SliderInt if isinstance(step, int) else solara.SliderFloat
            widget(_(label), value=value, min=lo, max=hi, step=step, on_value=apply)
        for lever, value in snap.pending.items():
            solara.Text(
                _("Next month: {lever} {old} → {new}").format(
                    lever=lever, old=f"{snap.factors[lever]:g}", new=f"{value:g}"
                ),
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


def design_note(policy: str, gettext: Any = str) -> str:
    """What the Events panel says about the policy design in use and the controls it replaces.

    The design's own description is the file's (not translated).

    >>> print(design_note("funding_exit"))  # doctest: +ELLIPSIS
    Policy design funding_exit (scenarios/policies/funding_exit.toml): Status quo, but donor ...
    """
    _ = gettext
    if policy == "none":
        return _(
            "Policy design: none. Choose one on the left and press Reset to watch its "
            "interventions fire here."
        )
    about = design_scenario(policy).description
    return (
        _("Policy design {policy} ({path}):").format(
            policy=policy, path=f"scenarios/policies/{policy}.toml"
        )
        + " "
        + (f"{about} " if about else "")
        + _(
            "The design sets the partnership type and the five success factors (their sliders "
            "are not used); community size, seed and B come from the left."
        )
    )


@solara.component
def EventsView(snap: Snapshot, policy: str, _: Any):
    """Interventions that fired, newest first."""
    with solara.Card(_("Events"), style={"width": "100%"}):
        solara.Text(design_note(policy, _), classes=["policy-note"], style=SMALL)
        if not snap.events:
            solara.Text(
                _("No interventions have fired yet."), classes=["events-empty"], style=SMALL
            )
        for run, event in snap.events:
            solara.Text(format_event(run, event, _), classes=["event"], style=SMALL)


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
