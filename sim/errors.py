"""The one exception family for user mistakes.

Everything a user can get wrong (a scenario, sweep or map file, an override, a command-line
argument, an output folder) raises a subclass of :class:`UserError`. The command line turns any
of them into one message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """A mistake in the user's input: reported in one line (file, key, value, what is allowed)."""
