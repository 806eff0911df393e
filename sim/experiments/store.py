"""The sweep result store: one Parquet part per finished run, crash-safe and resumable.

Layout of a sweep folder::

    manifest.json        versions, git commit, seeds, the sweep and its resolved scenarios
    sweep.toml           the sweep file as it was run
    design.parquet       the design points (applied lever values and SALib's raw sample)
    runs/<run_id>.parquet    one file per finished run (keys, levers, outcomes by step)
    failed/<run_id>.json     one file per failed run (error and traceback)
    checksums.sha256     SHA-256 of the design and of every run file (``sha256sum -c`` reads it)
    damaged/             stored files that failed their check, moved aside (never deleted)
    table.parquet        all runs in one file, made by ``analyze`` (:func:`compact`)
    data_dictionary.csv  every column of the runs and the design: meaning, unit, range, dtype

Every file is written to a temporary name and renamed into place
(:func:`sim.experiments.disk.write_atomic`), so a killed process leaves whole files or none; a
stale temporary file is ignored by readers and removed on the next start. The store keeps no
table in memory: the set of finished runs is the folder listing, and the table is read lazily
through :mod:`pyarrow.dataset`.

Stored files are verified, not trusted (:func:`verify`): each part's SHA-256 is appended to
``checksums.sha256`` when it is stored, and a resume (:meth:`SweepStore.open`) and ``analyze``
compare every part with it (a part from before checksums, or whose line a crash cut off, is
read whole instead, and adopted if it reads). A part that fails is reported, moved into
``damaged/`` and computed again by the next resume; :func:`is_complete` is False while any
part fails its checksum.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from sim.errors import UserError, fault_reason
from sim.experiments.dictionary import DICTIONARY, data_dictionary
from sim.experiments.disk import WriteError, checksum, json_default, write_atomic
from sim.scenario.inputs import output_path

__all__ = [
    "CHECKSUMS",
    "DAMAGED",
    "KEYS",
    "StoreError",
    "SweepStore",
    "compact",
    "dataset",
    "encode_run",
    "failures",
    "is_complete",
    "read_manifest",
    "read_table",
    "verify",
    "write_dictionary",
]

KEYS = ("run_id", "scenario", "point", "replicate", "seed", "step")
"""Columns identifying a row; the lever columns and the outcomes follow them."""


CHECKSUMS = "checksums.sha256"
"""The SHA-256 of every stored file, one ``<hex>  <path>`` line each (as ``sha256sum``)."""

DAMAGED = "damaged"
"""Where stored files that fail their check are moved (kept for inspection, never deleted)."""


class StoreError(UserError):
    """A results folder that cannot hold (or does not hold) this sweep."""


def encode_run(frame: pd.DataFrame) -> bytes:
    """One run's rows as Parquet bytes (made in the worker; the parent only writes them)."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


class SweepStore:
    """A sweep folder being written. Open it with :meth:`open`."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.runs = self.out / "runs"
        self.failed = self.out / "failed"
        self.damaged: list[str] = []  # what verify() found and moved aside when opening

    @classmethod
    def open(cls, out: Path, fingerprint: str, sweep_text: str | None) -> SweepStore:
        """Open ``out`` for this sweep: a new or empty folder, or one holding the same sweep.

        A folder holding a different sweep (other file contents, scenarios or code version) or
        anything else is refused, so runs of different sweeps are never mixed.
        """
        out = Path(out)
        output_path(out, "--out", StoreError, "folder")
        manifest = out / "manifest.json"
        if manifest.exists():
            info = read_manifest(out)
            if info.get("sweep_fingerprint") != fingerprint:
                raise StoreError(
                    f"--out {out}: holds a different sweep (fingerprint "
                    f"{info.get('sweep_fingerprint')}, code {info.get('code_version')}); this "
                    f"sweep is {fingerprint}. Its file, base scenarios or the code changed: "
                    "choose a new --out to run it"
                )
        elif out.exists() and any(out.iterdir()):
            raise StoreError(
                f"--out {out}: folder is not empty and holds no sweep (no manifest.json); "
                "choose a new or empty folder"
            )
        store = cls(out)
        try:
            store.runs.mkdir(parents=True, exist_ok=True)
            store.failed.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"--out {out}: cannot write there ({exc.strerror})") from None
        store.remove_stale_temporaries()
        store.damaged = verify(out) if manifest.exists() else []
        if sweep_text is not None and not (out / "sweep.toml").exists():
            write_atomic(out / "sweep.toml", lambda p: p.write_text(sweep_text))
        return store

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files a killed process left behind; return how many."""
        stale = [p for d in (self.out, self.runs, self.failed) for p in d.glob(".*.tmp")]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def finished(self) -> set[str]:
        """Ids of the runs with a part file."""
        return {p.stem for p in self.runs.glob("*.parquet") if not p.name.startswith(".")}

    def failed_ids(self) -> set[str]:
        """Ids of the runs recorded as failed."""
        return {p.stem for p in self.failed.glob("*.json") if not p.name.startswith(".")}

    def write_run(self, run_id: str, payload: bytes) -> None:
        """Store a finished run atomically, then its checksum; a failure record is removed."""
        write_atomic(self.runs / f"{run_id}.parquet", lambda p: p.write_bytes(payload))
        _record(self.out, {f"runs/{run_id}.parquet": hashlib.sha256(payload).hexdigest()})
        (self.failed / f"{run_id}.json").unlink(missing_ok=True)

    def write_failure(self, record: dict[str, Any]) -> None:
        """Store a failed run's keys, levers, error and traceback atomically."""
        text = json.dumps(record, indent=2, default=json_default)
        write_atomic(self.failed / f"{record['run_id']}.json", lambda p: p.write_text(text))

    def write_design(self, design: pd.DataFrame) -> None:
        """Store the design points (once; they are the same on every resume)."""
        path = self.out / "design.parquet"
        if not path.exists():
            write_atomic(path, lambda p: design.to_parquet(p, index=False))
            _record(self.out, {"design.parquet": checksum(path)["sha256"]})

    def write_manifest(self, info: dict[str, Any]) -> None:
        """Write (or replace) the sweep's manifest atomically."""
        text = json.dumps(info, indent=2, default=json_default)
        write_atomic(self.out / "manifest.json", lambda p: p.write_text(text))


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a sweep folder, or a StoreError naming what is wrong."""
    path = Path(out) / "manifest.json"
    if not path.is_file():
        raise StoreError(f"{out}: not a sweep folder (no manifest.json)")
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(info, dict) or not isinstance(info.get("sweep"), dict):
        raise StoreError(
            f"{out}: not a sweep folder (its manifest.json describes no sweep; folders from "
            "'run' or 'compare' are read as they are, 'analyze' takes folders from 'sweep')"
        )
    return info


def read_checksums(out: Path) -> dict[str, str]:
    """The recorded SHA-256 of each stored file (path relative to ``out``); later lines win.

    A line a crash cut off (or any line not of the form ``<64 hex digits>  <path>``) is
    ignored: its file then counts as unrecorded.
    """
    path = Path(out) / CHECKSUMS
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    sums = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) and name:
            sums[name] = digest
    return sums


def _record(out: Path, sums: dict[str, str]) -> None:
    """Append checksum lines and flush them to the disk (only the parent process writes)."""
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    path = Path(out) / CHECKSUMS
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if fault_reason(exc) is None:
            raise
        raise WriteError(
            f"cannot write {path}: {fault_reason(exc)}. The sweep is not marked complete; free "
            "some space (or fix the cause) and run the command again to resume"
        ) from exc


def _problem(path: Path, expected: str | None) -> str | None:
    """Why a stored Parquet file cannot be trusted, or None if it is sound."""
    try:
        if expected is not None:
            actual = checksum(path)["sha256"]
            return None if actual == expected else "its SHA-256 differs from the one recorded"
        pq.read_table(path)  # no checksum recorded: read it whole
    except (OSError, pa.ArrowException, ValueError) as exc:
        if fault_reason(exc) is not None:
            raise
        return f"unreadable ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
    return None


def verify(out: Path, repair: bool = True) -> list[str]:
    """Check the design and every run part of a sweep folder; return one line per bad file.

    A file whose checksum was recorded is hashed and compared; one without (an older sweep, or
    a line a crash cut off) is read whole and, if it reads, its checksum is recorded. With
    ``repair`` a bad file is moved into ``damaged/`` (not deleted), so the next resume
    computes it again (the design is rewritten from the sweep file).
    """
    out = Path(out)
    sums = read_checksums(out)
    files = [out / "design.parquet"] if (out / "design.parquet").is_file() else []
    files += _part_files(out) if (out / "runs").is_dir() else []
    bad, adopted = [], {}
    for path in files:
        name = path.relative_to(out).as_posix()
        problem = _problem(path, sums.get(name))
        if problem is None:
            if name not in sums and repair:
                adopted[name] = checksum(path)["sha256"]
            continue
        line = f"{name}: {problem}"
        if repair:
            target = out / DAMAGED / f"{path.name}.{_dt.datetime.now():%Y%m%d-%H%M%S-%f}"
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
            line += f"; moved to {target.relative_to(out).as_posix()}, to be computed again"
        bad.append(line)
    if adopted:
        _record(out, adopted)
    return bad


def is_complete(out: Path) -> bool:
    """Whether a sweep folder holds every run of its sweep.

    The manifest is rewritten with ``"complete": false`` when a sweep starts (or resumes) and
    with ``true`` only after the last run is stored, so a sweep killed at any moment reads as
    incomplete. True needs, besides ``"complete": true``, that ``runs/`` holds exactly
    ``runs_total`` part files and that ``design.parquet`` is there (a deleted part, or a part
    from elsewhere, makes the folder incomplete), each with the SHA-256 recorded in
    ``checksums.sha256`` (a damaged part, or one never checked, makes it incomplete). Parts
    are whole or absent: each was written to a temporary name and renamed.
    """
    out = Path(out)
    try:
        info = read_manifest(out)
        parts = _part_files(out)
    except StoreError:
        return False
    total = info.get("runs_total")
    if not (
        info.get("complete") is True
        and isinstance(total, int)
        and len(parts) == total
        and (out / "design.parquet").is_file()
    ):
        return False
    sums = read_checksums(out)
    for path in [out / "design.parquet", *parts]:
        expected = sums.get(path.relative_to(out).as_posix())
        if expected is None or checksum(path)["sha256"] != expected:
            return False
    return True


def stored_runs(out: Path) -> int:
    """How many runs of the sweep in ``out`` are stored (finished and written)."""
    return len(_part_files(out))


def _part_files(out: Path) -> list[Path]:
    runs = Path(out) / "runs"
    if not runs.is_dir():
        raise StoreError(f"{out}: not a sweep folder (no runs/)")
    return sorted(p for p in runs.glob("*.parquet") if not p.name.startswith("."))


def _digest(files: list[Path]) -> bytes:
    return hashlib.sha256("\n".join(p.stem for p in files).encode()).hexdigest().encode()


COMPACT = "table.parquet"
"""One-file copy of every run part, made by :func:`compact` (per-file costs dominate otherwise)."""


def _compacted_runs(target: Path) -> bytes | None:
    """Which runs ``table.parquet`` holds (a digest), or None if it is missing or unreadable.

    The table is a copy made from the parts, so an unreadable one is simply made again.
    """
    try:
        meta = pq.read_schema(target).metadata or {}
    except (OSError, pa.ArrowException, ValueError):
        return None
    return meta.get(b"kemitraan_runs")


def compact(out: Path, batch: int = 256) -> Path:
    """Gather the run parts into one Parquet file ``out/table.parquet``, batch by batch.

    Reading thousands of small files costs far more (time and memory in pyarrow) than reading
    one file with the same rows, so analysis compacts first. The file records which runs it
    holds and is rebuilt only when the set of finished runs changed; it is written atomically,
    and the parts stay the record (resuming never reads it).
    """
    files = _part_files(out)
    target = Path(out) / COMPACT
    digest = _digest(files)
    if _compacted_runs(target) == digest:
        return target
    if not files:
        raise StoreError(f"{out}: no finished runs yet")
    schema = pq.read_schema(files[0])
    schema = schema.with_metadata({**(schema.metadata or {}), b"kemitraan_runs": digest})

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for start in range(0, len(files), batch):
                part = pads.dataset(files[start : start + batch], format="parquet").to_table()
                writer.write_table(part.cast(schema))

    write_atomic(target, write)
    return target


def dataset(out: Path) -> pads.Dataset:
    """The finished runs of a sweep folder as a lazy :class:`pyarrow.dataset.Dataset`.

    Reads ``table.parquet`` when :func:`compact` made it for exactly the runs now finished,
    else the run parts themselves (files starting with ``.``, temporaries, are ignored).
    """
    files = _part_files(out)
    target = Path(out) / COMPACT
    if _compacted_runs(target) == _digest(files):
        return pads.dataset(target, format="parquet")
    return pads.dataset(Path(out) / "runs", format="parquet", ignore_prefixes=[".", "_"])


def read_table(
    out: Path, columns: list[str] | None = None, filter: pads.Expression | None = None
) -> pd.DataFrame:
    """Read (some columns of) the finished runs, sorted by scenario, point, replicate and step.

    The order does not depend on the engine or on the order runs finished in.
    """
    ds = dataset(out)
    if columns is not None:
        columns = list(dict.fromkeys([k for k in KEYS if k != "run_id"] + columns))
    table = ds.to_table(columns=columns, filter=filter)
    frame = table.to_pandas()
    order = [k for k in ("scenario", "point", "replicate", "step") if k in frame.columns]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def write_dictionary(out: Path) -> Path:
    """Write ``data_dictionary.csv``: every column of the run parts and of ``design.parquet``.

    The dtypes are those the files store (read from the Parquet schemas, no rows read); the
    run parts stand for ``table.parquet`` too, which holds the same columns.
    """
    out = Path(out)
    tables: dict[str, pd.DataFrame] = {}
    files = _part_files(out)
    if files:
        tables["runs/*.parquet"] = pq.read_schema(files[0]).empty_table().to_pandas()
    if (out / "design.parquet").is_file():
        tables["design.parquet"] = pq.read_schema(out / "design.parquet").empty_table().to_pandas()
    table = data_dictionary(tables)
    write_atomic(out / DICTIONARY, lambda p: table.to_csv(p, index=False))
    return out / DICTIONARY


def failures(out: Path) -> pd.DataFrame:
    """Failed runs of a sweep folder: keys, levers, error and traceback."""
    rows = []
    for path in sorted((Path(out) / "failed").glob("*.json")):
        if not path.name.startswith("."):
            rows.append(json.loads(path.read_text()))
    columns = ["run_id", "scenario", "point", "replicate", "seed", "levers", "error", "traceback"]
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
