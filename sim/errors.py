"""The one exception family for user mistakes.

Everything a user can get wrong (a scenario, sweep or map file, an override, a command-line
argument, an output folder) raises a subclass of :class:`UserError`. The command line turns any
of them into one message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["UserError", "did_you_mean"]


class UserError(ValueError):
    """A mistake in the user's input: reported in one line (file, key, value, what is allowed)."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A " Did you mean 'x'?" hint naming the closest of ``options``, or "" when none is close.

    Example:
        >>> did_you_mean("trsut", ["trust", "communication"])
        " Did you mean 'trust'?"
        >>> did_you_mean("zzz", ["trust"])
        ''
    """
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
