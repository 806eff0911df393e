"""Lessons: scripted experiments for the dashboard, and the printable worksheet made from them.

A lesson is a TOML file in ``lessons/`` (a lecturer can write their own): a ``title``, an
optional ``about`` and a list of ``[[step]]`` tables, each with a ``title``, a ``question``,
the dashboard ``settings`` it applies with one click (names as the dashboard's settings:
:data:`SETTINGS`), what to ``watch`` and the ``mechanism`` in the ODD's terms. The dashboard
shows one step at a time; ``python -m sim.present.lessons FILE`` prints the worksheet
(Markdown) made from the same file.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.paths import ROOT

__all__ = [
    "LESSONS",
    "SETTINGS",
    "Lesson",
    "LessonStep",
    "lesson_language",
    "lessons",
    "load_lesson",
    "worksheet",
]

LESSONS = ROOT / "lessons"

SETTINGS = (
    "partnership_type",
    "goal_clarity",
    "power_balance",
    "communication",
    "trust",
    "evaluation_interval",
    "households",
    "horizon",
    "seed",
    "policy",
    "compare",
)
"""The dashboard settings a lesson step may apply (the keyword arguments of its models)."""

_STEP_KEYS = ("title", "question", "settings", "watch", "mechanism")


@dataclass(frozen=True)
class LessonStep:
    """One scripted experiment."""

    title: str
    question: str
    settings: dict[str, Any]
    watch: str
    mechanism: str


@dataclass(frozen=True)
class Lesson:
    """A lesson: its title, what it is about and its steps."""

    title: str
    about: str
    steps: tuple[LessonStep, ...]
    path: Path


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def load_lesson(path: str | Path) -> Lesson:
    """Read and check a lesson file; a mistake is one :class:`UserError` line.

    >>> lesson = load_lesson(LESSONS / "success_factors.toml")
    >>> len(lesson.steps), lesson.steps[2].settings
    (7, {'compare': 'poor communication', 'horizon': 120})
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the lesson ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"title", "about", "language", "step"}
    if unknown:
        raise UserError(
            f"{path}: unknown keys {sorted(unknown)}; allowed: title, about, language, step"
        )
    steps = []
    for i, raw in enumerate(data.get("step", []), start=1):
        missing = [k for k in _STEP_KEYS if k not in raw]
        extra = sorted(set(raw) - set(_STEP_KEYS))
        if missing or extra:
            raise UserError(
                f"{path}: step {i}: "
                + (f"missing {missing}" if missing else f"unknown keys {extra}")
                + f"; a step has {list(_STEP_KEYS)}"
            )
        bad = sorted(set(raw["settings"]) - set(SETTINGS))
        if bad:
            raise UserError(
                f"{path}: step {i}: settings {bad} are not dashboard settings; "
                f"allowed: {list(SETTINGS)}"
            )
        steps.append(
            LessonStep(
                title=_text(raw["title"]),
                question=_text(raw["question"]),
                settings=dict(raw["settings"]),
                watch=_text(raw["watch"]),
                mechanism=_text(raw["mechanism"]),
            )
        )
    if not steps:
        raise UserError(f"{path}: a lesson needs at least one [[step]]")
    return Lesson(
        _text(data.get("title", path.stem)), _text(data.get("about", "")), tuple(steps), path
    )


def lesson_language(path: Path) -> str:
    """A lesson file's ``language`` (``"en"`` when it does not say)."""
    try:
        return str(tomllib.loads(path.read_text(encoding="utf-8")).get("language", "en"))
    except (OSError, tomllib.TOMLDecodeError):
        return "en"


def lessons() -> dict[str, Path]:
    """The lesson files offered by the dashboard, keyed by file name (found by glob)."""
    return {p.stem: p for p in sorted(LESSONS.glob("*.toml"))}


def worksheet(lesson: Lesson, gettext: Any = str) -> str:
    """The printable worksheet (Markdown) of a lesson.

    Per step: the question, the settings, what to watch, room for the answer, the mechanism.

    >>> text = worksheet(load_lesson(LESSONS / "success_factors.toml"))
    >>> text.splitlines()[0]
    '# Why do some partnerships raise community welfare and others not?'
    >>> "## 3. Effective communication" in text, "`compare = poor communication`" in text
    (True, True)
    """
    _ = gettext
    lines = [f"# {lesson.title}", ""]
    if lesson.about:
        lines += [lesson.about, ""]
    lines += [
        _("In the dashboard, open the Lesson panel and press Apply for each step, then Play."),
        "",
    ]
    for i, step in enumerate(lesson.steps, start=1):
        settings = ", ".join(f"`{k} = {v}`" for k, v in step.settings.items())
        lines += [
            f"## {i}. {step.title}",
            "",
            f"**{_('Question')}:** {step.question}",
            "",
            f"**{_('Settings')}:** {settings}",
            "",
            f"**{_('Watch')}:** {step.watch}",
            "",
            f"**{_('Your answer')}:**",
            "",
            "&nbsp;",
            "",
            "&nbsp;",
            "",
            f"**{_('Why it happens')}:** {step.mechanism}",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.present.lessons FILE``: print the worksheet of a lesson file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sim.present.lessons LESSON.toml > worksheet.md", file=sys.stderr)
        return 2
    try:
        print(worksheet(load_lesson(args[0])))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
