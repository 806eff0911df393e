"""What every command's parser shares: one-line errors, checked numbers, the ``--set`` option.

A :class:`Parser` ends argparse's own errors (an unknown option, a missing argument, a bad
number) with its usage and one :class:`~sim.errors.UserError`, which the command line prints as
one line with exit code 2.

Example:
    >>> positive_int("3"), seed("0")
    (3, 0)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.errors import UserError
from sim.scenario import lever_table

__all__ = [
    "FIGURE_FORMATS",
    "MAX_STEPS",
    "MAX_TEXT",
    "Parser",
    "add_figure_format_option",
    "add_set_option",
    "bounded",
    "int_at_least",
    "positive_int",
    "replications",
    "seed",
    "steps",
    "text",
    "workers",
]


MAX_TEXT = 10_000
"""Longest text any option takes (a name, an address, a list of numbers); each is checked
further by its owner."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are user errors (usage on stderr, one line, exit 2).

    Every option that takes a value must declare what it accepts, so no absurd value reaches
    numpy, matplotlib or the operating system: a number through a type with ``bounds`` (e.g.
    :func:`int_at_least` with a ``maximum``), a fixed set through ``choices``, a path through
    ``Path``; plain text is limited to :data:`MAX_TEXT` characters. An option without a range
    is a programming error, raised when the parser is built (every command's ``--help``
    builds it; ``tests/test_bad_inputs.py`` tries every command). ``options`` lists the
    options added, for tests and documentation.
    """

    options: list[argparse.Action]

    def add_argument(self, *names, **kwargs) -> argparse.Action:
        """Add an option as argparse does, after checking that its values are bounded."""
        kind = kwargs.get("action", "store")
        kind = kind if isinstance(kind, str) else "custom"
        kind_takes_values = kind in ("store", "append", "extend", "custom")
        value_type = kwargs.get("type")
        if not kind_takes_values or "choices" in kwargs or value_type is Path:
            pass  # a flag, a fixed set, or a path (checked for its kind where it is used)
        elif value_type in (None, str):
            kwargs["type"] = text
        elif getattr(value_type, "bounds", None) is None:
            raise TypeError(
                f"{self.prog} {' '.join(names)}: declare the values it accepts (a type with "
                "bounds, e.g. int_at_least(1, maximum=...), or choices)"
            )
        action = super().add_argument(*names, **kwargs)
        self.__dict__.setdefault("options", []).append(action)  # help is added in __init__
        return action

    def error(self, message: str) -> None:
        """Argparse's own errors: the usage, then one user error (exit code 2)."""
        self.print_usage(sys.stderr)
        raise UserError(f"{self.prog}: {message}")


def bounded(minimum: int, maximum: int):
    """Declare that an argparse type function accepts only ``minimum`` to ``maximum``.

    For a type written by hand (e.g. a port number); :func:`int_at_least` declares its own.
    """

    def mark(parse):
        parse.bounds = (minimum, maximum)
        return parse

    return mark


def text(value: str) -> str:
    """An argparse type: text of at most :data:`MAX_TEXT` characters.

    Example:
        >>> text("tcp://10.0.0.1:8786")
        'tcp://10.0.0.1:8786'
    """
    if len(value) > MAX_TEXT:
        raise argparse.ArgumentTypeError(
            f"{len(value)} characters; allowed: at most {MAX_TEXT} ({value[:40]!r}...)"
        )
    return value


text.bounds = (0, MAX_TEXT)


def int_at_least(minimum: int, what: str | None = None, maximum: int | None = None):
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``).

    ``what`` words the rule in the error message (default: "at least ``minimum``").
    """
    what = what or f"at least {minimum}"

    def parse(text: str) -> int:
        if len(text) > 30 and text.strip().lstrip("+-").isdigit():  # int() of 4,300+ refuses
            top = f" and at most {maximum}" if maximum is not None else ""
            digits = len(text.strip())
            raise argparse.ArgumentTypeError(
                f"a whole number of {digits} digits is out of range; allowed: {what}{top}"
            )
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    if maximum is not None:
        parse.bounds = (minimum, maximum)
    return parse


positive_int = int_at_least(1)
_LIMITS = {(r["section"], r["key"]): r["bounds"].get("le") for r in lever_table()}
MAX_STEPS = _LIMITS["run", "steps"]
steps = int_at_least(1, maximum=MAX_STEPS)
replications = int_at_least(1, maximum=_LIMITS["run", "replications"])
workers = int_at_least(1, maximum=4 * (os.cpu_count() or 1))  # more only slows a run
seed = int_at_least(0, "0 or more", maximum=_LIMITS["run", "seed"])


def add_set_option(p: argparse.ArgumentParser, where: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` lever override (into ``args.overrides``).

    ``where`` says which scenarios it applies to, e.g. "in every scenario".
    """
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a lever {where}, e.g. factors.communication=0.2 (repeatable)",
    )


FIGURE_FORMATS = ("png", "svg", "pdf")
"""Figure formats every drawing command offers (``results.FIGURE_FORMATS``, kept light here)."""


def add_figure_format_option(p: argparse.ArgumentParser) -> None:
    """Add ``--figure-format png|svg|pdf`` (into ``args.figure_format``; PNG is 300 dpi)."""
    p.add_argument(
        "--figure-format",
        choices=FIGURE_FORMATS,
        default="png",
        help="format of the figure files: png (300 dpi, default), svg or pdf (vector)",
    )


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Add ``--engine local|dask|serial``, ``--workers`` and ``--scheduler`` (sweep, discover)."""
    p.add_argument(
        "--engine",
        choices=("local", "dask", "serial"),
        default="local",
        help="local process pool (default), Dask distributed, or serial in this process",
    )
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.1:8786 (implies --engine dask)",
    )
