"""Files on disk: atomic writes, checksums and JSON for every results folder and sweep store.

Every file of a results folder or a sweep store is written to a temporary name in its folder
and renamed into place (:func:`write_atomic`), so a killed process leaves whole files or none;
manifests record each file's size and SHA-256 (:func:`checksum`).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(path, lambda p: p.write_text("hello"))
    >>> checksum(path)["bytes"]
    5
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["checksum", "json_default", "write_atomic"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: Path, write: Any) -> None:
    """Write a file through a temporary name in the same folder, then rename it into place.

    ``write`` is called with the temporary path. A crash leaves either the old file or the new
    one, never half of one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
