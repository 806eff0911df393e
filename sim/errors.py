"""The one exception family for user mistakes.

Everything a user can get wrong (a scenario, sweep or map file, an override, a command-line
argument, an output folder) raises a subclass of :class:`UserError`. The command line turns any
of them into one message on stderr and exit code 2, never a traceback. So do faults of the
computer at write time (disk full, quota, file too large, read-only, I/O error:
:func:`fault_reason`), which are not the user's mistake but need the same one clear line.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from collections.abc import Iterable

__all__ = ["FAULTS", "UserError", "did_you_mean", "fault_reason"]

_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")


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


FAULTS = frozenset(
    code
    for code in (
        errno.ENOSPC,  # no space left on device
        getattr(errno, "EDQUOT", None),  # disk quota exceeded
        errno.EFBIG,  # file too large (file system or RLIMIT_FSIZE)
        errno.EROFS,  # read-only file system
        errno.EIO,  # input/output error
        errno.EACCES,
        errno.EPERM,
    )
    if code is not None
)
"""Error numbers of writes the computer refuses: reported in one line, never a traceback."""


def fault_reason(exc: BaseException) -> str | None:
    """The reason of a write fault (e.g. "No space left on device"), or None for other errors.

    Reads ``errno`` where Python sets it and the ``[Errno N]`` that pyarrow puts in its text.

    Example:
        >>> fault_reason(OSError(errno.ENOSPC, "No space left on device"))
        'No space left on device'
        >>> fault_reason(ValueError("x")) is None
        True
    """
    if not isinstance(exc, OSError):
        return None
    code = exc.errno
    if code is None:
        found = _ERRNO_IN_TEXT.search(str(exc))
        code = int(found.group(1)) if found else None
    if code not in FAULTS:
        return None
    return os.strerror(code)
