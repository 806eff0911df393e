"""Checks of what a user names: input paths by kind, and names that become paths.

Every loader asks here before it opens anything, so that the message names the real reason:
a path that does not exist, a symbolic link whose target is missing, a folder where a file
goes (or the reverse), a device, pipe or socket (which could block or never end), a name the
system refuses (too long, a NUL byte) or a file that cannot be read. Names that become a
single path component (a sweep's ``name``) cannot leave their parent folder.

Example:
    >>> child_name("sobol_trust", "name", ValueError)
    'sobol_trust'
    >>> child_name("../../etc", "name", ValueError)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: name = '../../etc': must be a plain name (...), so that it stays inside its folder
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Literal

from sim.errors import UserError

__all__ = ["MAX_NAME", "child_name", "input_path", "kind_of", "output_path", "short"]

MAX_NAME = 100
"""Longest name that becomes one path component."""

_NAME = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{{0,{MAX_NAME - 1}}}")

Kind = Literal["file", "folder", "missing", "dangling link", "device", "pipe", "socket", "other"]


def kind_of(path: Path) -> Kind:
    """What is at ``path``: a file, a folder, nothing, a dangling symbolic link, a device, ...

    Raises:
        OSError: for a name the system refuses (too long) or a folder it may not enter.
        ValueError: for a name with a NUL byte.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "dangling link" if os.path.islink(path) else "missing"
    except NotADirectoryError:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


_SAYS = {
    "missing": "not found",
    "dangling link": "a symbolic link whose target does not exist",
    "device": "a device, not a file",
    "pipe": "a pipe, not a file",
    "socket": "a socket, not a file",
    "other": "not a regular file",
    "folder": "is a folder",
    "file": "is a file",
}


def input_path(
    path: str | Path,
    what: str,
    error: type[UserError],
    kinds: tuple[Literal["file", "folder"], ...] = ("file",),
    expected: str = "",
) -> Path:
    """``path`` if it is one of ``kinds``; otherwise ``error`` naming the real reason.

    Args:
        path: what the user gave.
        what: what it should be, e.g. ``"scenario file"``.
        error: the :class:`UserError` subclass to raise.
        kinds: what is acceptable: a regular file, a folder, or either.
        expected: what to say is allowed, e.g. ``"a folder of CSVs or a .graphml file"``.
    """
    path = Path(path)
    shown = short(path)
    kind = _probe(path, error, f"{shown!r}: not a usable {what} name")
    if kind in kinds:
        if kind == "file" and not os.access(path, os.R_OK):
            raise error(f"{shown}: {what} cannot be read (permission denied)")
        return path
    allowed = expected or f"a {what}"
    if kind == "missing":
        raise error(f"{shown}: {what} not found")
    raise error(f"{shown}: {_SAYS[kind]}; expected {allowed}")


def short(path: str | Path, limit: int = 200) -> str:
    """A path as messages quote it: whole, or its first ``limit`` characters and ``...``."""
    text = str(path)
    return text if len(text) <= limit else text[:limit] + "..."


def _probe(path: Path, error: type[UserError], message: str) -> str:
    """:func:`kind_of`, with an unusable name (too long, NUL, ...) raised as ``error``."""
    try:
        return kind_of(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(f"{message} ({reason})") from None


_IS = {
    "dangling link": "a symbolic link whose target does not exist",
    "device": "a device",
    "pipe": "a pipe",
    "socket": "a socket",
    "other": "not a regular file or folder",
    "folder": "a folder",
    "file": "a file",
}


def output_path(
    path: str | Path, what: str, error: type[UserError], kind: Literal["file", "folder"]
) -> Path:
    """``path`` if an output of ``kind`` may go there: nothing yet, or a ``kind`` already.

    A dangling symbolic link (writing would create its target somewhere else), a device, pipe
    or socket, or a file where a folder goes (or the reverse) raise ``error`` naming what is
    there. Whether the place is writable is the writer's check.

    Example:
        >>> output_path("/dev/null", "--out", ValueError, "folder")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: --out /dev/null: is a device, not a folder; choose a new or empty folder
    """
    path = Path(path)
    shown = short(path)
    found = _probe(path, error, f"{what} {shown!r}: not a usable name")
    if found in ("missing", kind):
        return path
    wanted = "a new or empty folder" if kind == "folder" else "a new file name"
    if found == "dangling link":
        target = short(os.readlink(path))
        raise error(
            f"{what} {shown}: is a symbolic link whose target {target} does not exist; "
            f"remove the link or choose {wanted}"
        )
    raise error(f"{what} {shown}: is {_IS[found]}, not a {kind}; choose {wanted}")


def child_name(name: str, what: str, error: type[Exception]) -> str:
    r"""``name`` if it can be one path component inside a folder; otherwise ``error``.

    Refused: empty names, ``.`` and ``..``, separators (``/``, ``\\``), absolute paths, NUL
    and control characters, a leading dot and names over :data:`MAX_NAME` characters.
    """
    if not _NAME.fullmatch(name):
        excerpt = name if len(name) <= 80 else name[:80] + "..."
        raise error(
            f"{what} = {excerpt!r}: must be a plain name (letters, digits, '_', '-', '.'; at "
            f"most {MAX_NAME} characters, not starting with '.'), so that it stays inside its "
            "folder"
        )
    return name
