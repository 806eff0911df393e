"""Results folders: choosing the output folder, the manifest, writing every file, checking it.

A results folder (from ``run`` or ``compare``) holds its tables, figures and reports and, written
last, ``manifest.json``: versions, git commit, seeds, the resolved configuration of every
scenario, and every file with its size and SHA-256. A folder without a manifest is
incomplete (:func:`is_complete`); a sweep folder is judged by its store
(:func:`sim.experiments.store.is_complete`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import UserError
from sim.experiments.dictionary import DICTIONARY, data_dictionary
from sim.experiments.disk import checksum, json_default, write_atomic
from sim.experiments.store import is_complete as sweep_is_complete
from sim.experiments.tasks import replicate_seeds
from sim.paths import CHECKOUT, ROOT
from sim.scenario.inputs import output_path
from sim.scenario.outcomes import Outcome
from sim.scenario.schema import Scenario

__all__ = [
    "DPI",
    "FIGURE_FORMATS",
    "MANIFEST",
    "ResultsFolderError",
    "is_complete",
    "manifest",
    "prepare_output_folder",
    "save_figure",
    "steps_run",
    "write_results",
]


MANIFEST = "manifest.json"
"""The manifest's file name; written last, it marks a complete results folder."""


class ResultsFolderError(UserError):
    """An output folder that cannot be used (exists, or is not writable)."""


def prepare_output_folder(
    out: Path | None, root: Path = Path("results"), overwrite: bool = False
) -> Path:
    """Choose and check the output folder before any run starts.

    ``None`` means a new ``results/<timestamp>/``, claimed with an exclusive ``mkdir`` so that
    runs started in the same second never share one. An existing non-empty folder is refused
    unless ``overwrite``; a folder that cannot be created or written is refused.
    """
    if out is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        for k in range(10_000):
            out = root / (stamp if k == 0 else f"{stamp}-{k}")
            try:
                out.mkdir(parents=True)
                break
            except FileExistsError:
                continue
            except OSError:
                break  # reported below with the reason
    out = Path(out)
    if "\0" in str(out):  # Path.exists() says False, mkdir raises ValueError
        raise ResultsFolderError(f"--out {str(out)!r}: not a usable name (it has a NUL byte)")
    # What is there (a file, a device, a dangling symbolic link) is named as such.
    output_path(out, "--out", ResultsFolderError, "folder")
    try:
        existed = out.is_dir()
        if out.exists() and any(out.iterdir()) and not overwrite:
            raise ResultsFolderError(
                f"--out {out}: folder exists and is not empty; choose a new folder or pass "
                "--overwrite"
            )
        # A folder that did not exist is claimed exclusively: two runs never share it.
        out.mkdir(parents=True, exist_ok=existed)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", delete=True)
        probe.close()
    except FileExistsError:
        raise ResultsFolderError(
            f"--out {out}: another run created this folder a moment ago; choose a new folder"
        ) from None
    except OSError as exc:
        raise ResultsFolderError(
            f"--out {str(out)[:200]}: cannot create or write this folder ({exc.strerror}); "
            "allowed: a new or empty folder in a writable place"
        ) from None
    return out


def _git_commit() -> dict[str, Any]:
    if not CHECKOUT:  # installed: a git repository around site-packages is the user's, not ours
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            # A query: never refresh (write) the checkout's index, which a run killed or out
            # of disk space would leave locked (index.lock) for the user's own git.
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def steps_run(df: pd.DataFrame) -> int | dict[str, int]:
    """The number of steps actually run: one number, or one per scenario when they differ.

    Example:
        >>> steps_run(pd.DataFrame({"scenario": ["a", "a", "b", "b"], "step": [0, 6, 0, 6]}))
        6
        >>> steps_run(pd.DataFrame({"scenario": ["a", "a", "b"], "step": [0, 6, 0]}))
        {'a': 6, 'b': 0}
    """
    last = df.groupby("scenario", sort=False)["step"].max()
    values = {str(k): int(v) for k, v in last.items()}
    return next(iter(values.values())) if len(set(values.values())) == 1 else values


def manifest(
    scenarios: list[Scenario],
    *,
    replications: int,
    steps: int | dict[str, int] | None,
    root_seed: int,
    command: list[str] | None = None,
    files: list[str] | None = None,
) -> dict[str, Any]:
    """Everything needed to reproduce a results folder.

    ``steps`` is the number of steps actually run (:func:`steps_run`), one per scenario when
    they differ.
    """
    versions = {"python": platform.python_version()}
    for pkg in ("kemitraan", "mesa", "numpy", "networkx", "pandas", "scipy", "pydantic", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "complete": True,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv,
        "versions": versions,
        "platform": platform.platform(),
        "git": _git_commit(),
        "root_seed": root_seed,
        "replications": replications,
        "replicate_seeds": replicate_seeds(root_seed, replications),
        "steps": steps,
        "files": files or [],
        "scenarios": {s.name: s.to_dict() for s in scenarios},
    }


def write_results(
    out: Path,
    df: pd.DataFrame,
    info: dict[str, Any],
    fmt: str = "csv",
    extra: dict[str, Any] | None = None,
    measures: Mapping[str, Outcome] | None = None,
    figure_format: str = "png",
) -> list[Path]:
    """Write the tidy table, any extra tables or figures, the data dictionary, the manifest.

    The manifest is written last and lists every file with its size and SHA-256: a folder
    without ``manifest.json`` is incomplete (see :func:`is_complete`). A manifest already in
    ``out`` (``--overwrite``) is removed before any file is replaced, so a crash midway never
    leaves an old manifest describing new files. ``extra`` maps file names to DataFrames
    (written as CSV), strings (UTF-8 text) or matplotlib figures (written in the format
    their name ends with: PNG at 300 dpi, SVG or PDF). ``data_dictionary.csv`` describes every
    column of every table (:mod:`sim.experiments.dictionary`; ``measures`` declares columns
    beyond the model's outcomes).
    """
    (out / MANIFEST).unlink(missing_ok=True)
    written = []
    table = out / f"timeseries.{fmt}"
    if fmt == "csv":
        write_atomic(table, lambda p: df.to_csv(p, index=False))
    elif fmt == "parquet":
        write_atomic(table, lambda p: df.to_parquet(p, index=False))
    else:
        raise ValueError(f"unknown format {fmt!r}; choose csv or parquet")
    written.append(table)
    tables = {table.name: df}
    for name, obj in (extra or {}).items():
        path = out / name
        if isinstance(obj, pd.DataFrame):
            write_atomic(path, lambda p, o=obj: o.to_csv(p, index=False))
            tables[name] = obj
        elif isinstance(obj, str):
            write_atomic(path, lambda p, o=obj: p.write_text(o, encoding="utf-8"))
        else:
            save_figure(obj, path)
        written.append(path)
    dictionary = data_dictionary(tables, measures)
    write_atomic(out / DICTIONARY, lambda p: dictionary.to_csv(p, index=False))
    written.append(out / DICTIONARY)
    info = dict(
        info,
        complete=True,
        files=[p.name for p in written],
        checksums={p.name: checksum(p) for p in written},
    )
    write_atomic(
        out / MANIFEST,
        lambda p: p.write_text(json.dumps(info, indent=2, default=json_default)),
    )
    written.append(out / MANIFEST)
    return written


FIGURE_FORMATS = ("png", "svg", "pdf")
"""Formats every drawing command offers (``--figure-format``)."""

DPI = 300
"""Resolution of PNG figures (print quality)."""


def save_figure(fig: Any, path: Path) -> Path:
    """Save a matplotlib figure atomically in the format its name ends with (PNG at 300 dpi).

    Embedded fonts stay text in SVG and PDF (``svg.fonttype = none``; TrueType in PDF), so a
    journal's editor can change them. Refuses a format other than :data:`FIGURE_FORMATS`.
    """
    import matplotlib

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"{path.name}: figure format must be one of {', '.join(FIGURE_FORMATS)}")
    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        write_atomic(
            path,
            lambda p: fig.savefig(p, dpi=DPI, bbox_inches="tight", format=fmt, metadata=_META[fmt]),
        )
    return path


_META = {"png": {"Software": "kemitraan"}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
"""Figure metadata: no timestamps, so the same figure gives the same bytes."""


def is_complete(folder: str | Path) -> bool:
    """Whether ``folder`` holds a complete, intact results set.

    Complete means: ``manifest.json`` exists, parses, says ``"complete": true``, and every
    file it lists exists with the size and SHA-256 recorded in its ``checksums``. A run killed
    at any moment leaves a folder for which this is False (no manifest yet) or True (the
    manifest, written last by an atomic rename, and everything it lists).

    Example:
        >>> import tempfile
        >>> is_complete(tempfile.mkdtemp())
        False
    """
    folder = Path(folder)
    try:
        info = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get("complete") is not True:
        return False
    if "sweep" in info:  # a sweep folder: judged by its run parts
        return sweep_is_complete(folder)
    files, checksums = info.get("files"), info.get("checksums")
    if not isinstance(files, list) or not isinstance(checksums, dict):
        return False
    for name in files:
        path = folder / str(name)
        if not path.is_file() or checksums.get(name) != checksum(path):
            return False
    return True
