"""Files on disk: atomic, durable writes, checksums and JSON for every results folder and store.

Every file of a results folder or a sweep store is written to a temporary name in its folder,
flushed to the disk (``fsync``), renamed into place and the rename made durable by an ``fsync``
of the folder (:func:`write_atomic`), so a killed process or a power loss leaves whole files or
none, never an empty file under the final name; manifests record each file's size and SHA-256
(:func:`checksum`).

A write that the computer refuses (disk full, quota, file too large, read-only, I/O error)
becomes one :class:`WriteError` naming the file and the reason; the temporary file is removed,
and because a folder's manifest is written last it never claims completeness.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(path, lambda p: p.write_text("hello"))
    >>> checksum(path)["bytes"]
    5
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UserError, fault_reason
from sim.scenario.inputs import short

__all__ = ["WriteError", "checksum", "json_default", "write_atomic"]


class WriteError(UserError):
    """A file the computer would not let us write (disk full, quota, read-only, I/O error).

    A user error in the command line's sense: one ``error:`` line, exit code 2.
    """


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _fsync_path(path: str | Path, folder: bool = False) -> None:
    """Flush a file's (or a folder's entries') data to the disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if folder:  # some systems (Windows) cannot open a folder; the rename still happened
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (folder and exc.errno in (errno.EINVAL, errno.EBADF)):  # not supported there
            raise
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Any) -> None:
    """Write a file through a temporary name in the same folder, then rename it into place.

    ``write`` is called with the temporary path. The temporary file is flushed to the disk
    before the rename and the folder after it, so a crash or a power loss leaves either the
    old file or the new one, never half of one (nor an empty one). A write the computer
    refuses raises :class:`WriteError` naming ``path`` and the reason, and leaves nothing new.
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        # The rename would replace a device, pipe or socket node (as root, even /dev/null).
        raise WriteError(f"cannot write {path}: it exists and is not a regular file")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        if fault_reason(exc) is None:
            raise
        raise _write_error(path, exc) from exc
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        _fsync_path(tmp)
        os.replace(tmp, path)
        _fsync_path(path.parent, folder=True)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if fault_reason(exc) is not None:
            raise _write_error(path, exc) from exc
        raise


def _write_error(path: Path, exc: BaseException) -> WriteError:
    reason = fault_reason(exc)
    return WriteError(
        f"cannot write {short(path)}: {reason}. Nothing was left under that name and the folder "
        "is not marked complete; free some space (or fix the cause) and run the command again"
    )


def checksum(path: Path) -> dict[str, Any]:
    """Size in bytes and SHA-256 of a file, as manifests record them."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": Path(path).stat().st_size, "sha256": digest.hexdigest()}


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
