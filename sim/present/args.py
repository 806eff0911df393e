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

from sim.errors import UserError
from sim.scenario import lever_table

__all__ = [
    "Parser",
    "add_set_option",
    "int_at_least",
    "positive_int",
    "replications",
    "seed",
    "steps",
    "workers",
]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are user errors (usage on stderr, one line, exit 2)."""

    def error(self, message: str) -> None:
        """Argparse's own errors: the usage, then one user error (exit code 2)."""
        self.print_usage(sys.stderr)
        raise UserError(f"{self.prog}: {message}")


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

    return parse


positive_int = int_at_least(1)
_LIMITS = {(r["section"], r["key"]): r["bounds"].get("le") for r in lever_table()}
steps = int_at_least(1, maximum=_LIMITS["run", "steps"])
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
