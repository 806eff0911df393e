"""Experiments: replications with common random numbers, summaries, and results on disk.

Replicate seeds come from :class:`numpy.random.SeedSequence` spawned from one root seed; every
scenario in a comparison uses the same replicate seeds (common random numbers), so paired
differences between scenarios are not blurred by different populations or graphs.

Example:
    >>> from sim.scenario.schema import Scenario
    >>> s = Scenario.from_dict({"population": {"households": 100}})
    >>> df = run_comparison([s], replications=2, steps=3, root_seed=1, progress=False)
    >>> sorted(df["replicate"].unique().tolist()), int(df["step"].max())
    ([0, 1], 3)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import UserError
from sim.model.model import PartnershipModel
from sim.paths import ROOT
from sim.scenario.schema import Scenario

__all__ = [
    "ResultsFolderError",
    "is_complete",
    "manifest",
    "paired_differences",
    "prepare_output_folder",
    "replicate_seeds",
    "run_comparison",
    "run_one",
    "summarize",
    "write_atomic",
    "write_results",
]


MANIFEST = "manifest.json"
"""The manifest's file name; written last, it marks a complete results folder."""


class ResultsFolderError(UserError):
    """An output folder that cannot be used (exists, or is not writable)."""


def replicate_seeds(root_seed: int, replications: int) -> list[int]:
    """Independent replicate seeds spawned from ``root_seed`` (``SeedSequence.spawn``).

    Example:
        >>> replicate_seeds(1, 2) == replicate_seeds(1, 2)
        True
        >>> len(set(replicate_seeds(1, 50)))
        50
    """
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def run_one(
    scenario: Scenario,
    replicate: int,
    seed: int,
    steps: int | None = None,
    events: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One run of one scenario: the tidy model-level table.

    If ``events`` is a list, the run's event log (interventions that fired) is appended to it.
    """
    model = PartnershipModel(scenario, seed=seed, replicate=replicate)
    df = model.run(steps).results()
    if events is not None:
        events.append(model.events_frame())
    return df


def _run_task(
    task: tuple[dict[str, Any], int, int, int | None],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    config, replicate, seed, steps = task
    events: list[pd.DataFrame] = []
    return run_one(Scenario.model_validate(config), replicate, seed, steps, events), events[0]


def run_comparison(
    scenarios: Iterable[Scenario],
    *,
    replications: int,
    steps: int | None = None,
    root_seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    events: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Run every scenario ``replications`` times with common random numbers.

    Args:
        scenarios: the scenarios to compare (names must be unique).
        replications: runs per scenario.
        steps: steps per run (default: each scenario's own).
        root_seed: root of the replicate seeds.
        workers: processes to use (1 = in this process). Results do not depend on it.
        progress: show a progress bar on stderr.
        events: if a list, each run's non-empty event log (the interventions that fired) is
            appended to it, in run order.

    Returns:
        One tidy table: ``scenario, replicate, seed, step`` and every outcome.
    """
    scenarios = list(scenarios)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"scenario names must be unique; repeated: {dup}")
    seeds = replicate_seeds(root_seed, replications)
    tasks = [(s.to_dict(), r, seeds[r], steps) for s in scenarios for r in range(replications)]
    bar = _progress(len(tasks), progress)
    frames: list[pd.DataFrame] = []
    logs: list[pd.DataFrame] = []
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            for frame, log in pool.map(_run_task, tasks, chunksize=1):
                frames.append(frame)
                logs.append(log)
                bar.update(1)
    else:
        for task in tasks:
            frame, log = _run_task(task)
            frames.append(frame)
            logs.append(log)
            bar.update(1)
    bar.close()
    if events is not None:
        events.extend(log for log in logs if len(log))
    return pd.concat(frames, ignore_index=True)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run", disable=not enabled, file=sys.stderr)


def _ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return (mean - half, mean + half)


def summarize(
    df: pd.DataFrame, outcome: str = "welfare_mean", step: int | None = None
) -> pd.DataFrame:
    """Mean, sd and 95% t-interval of ``outcome`` per scenario at ``step`` (default: the last).

    Example:
        >>> df = pd.DataFrame({"scenario": ["a"] * 3, "replicate": [0, 1, 2], "step": [5] * 3,
        ...                    "welfare_mean": [1.0, 2.0, 3.0]})
        >>> summarize(df).round(3).to_dict("records")[0]["ci_low"]
        -0.484
    """
    step = int(df["step"].max()) if step is None else step
    at = df[df["step"] == step]
    rows = []
    for name, group in at.groupby("scenario", sort=False):
        values = group[outcome].to_numpy(dtype=float)
        low, high = _ci(values)
        rows.append(
            {
                "scenario": name,
                "outcome": outcome,
                "step": step,
                "n": values.size,
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def paired_differences(
    df: pd.DataFrame, reference: str, outcome: str = "welfare_mean", step: int | None = None
) -> pd.DataFrame:
    """Paired differences (scenario − reference) of ``outcome`` by replicate, with 95% CIs.

    Pairs are matched on the replicate seed, which common random numbers make meaningful.
    """
    step = int(df["step"].max()) if step is None else step
    at = df[df["step"] == step].pivot_table(index="seed", columns="scenario", values=outcome)
    if reference not in at.columns:
        raise ValueError(f"reference scenario {reference!r} not in results: {list(at.columns)}")
    rows = []
    for name in at.columns:
        if name == reference:
            continue
        diff = (at[name] - at[reference]).dropna().to_numpy()
        low, high = _ci(diff)
        rows.append(
            {
                "scenario": name,
                "reference": reference,
                "outcome": outcome,
                "step": step,
                "n": diff.size,
                "mean_difference": float(diff.mean()) if diff.size else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- results on disk
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
    try:
        existed = out.is_dir()
        if out.exists() and not out.is_dir():
            raise ResultsFolderError(f"--out {out}: exists and is a file; choose a folder")
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


def _git_commit() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def manifest(
    scenarios: list[Scenario],
    *,
    replications: int,
    steps: int | None,
    root_seed: int,
    command: list[str] | None = None,
    files: list[str] | None = None,
) -> dict[str, Any]:
    """Everything needed to reproduce a results folder."""
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
) -> list[Path]:
    """Write the tidy table, any extra tables or figures, and last the manifest.

    The manifest is written last and lists every file with its size and SHA-256: a folder
    without ``manifest.json`` is incomplete (see :func:`is_complete`). A manifest already in
    ``out`` (``--overwrite``) is removed before any file is replaced, so a crash midway never
    leaves an old manifest describing new files. ``extra`` maps file names to DataFrames
    (written as CSV), strings (UTF-8 text) or matplotlib figures (PNG).
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
    for name, obj in (extra or {}).items():
        path = out / name
        if isinstance(obj, pd.DataFrame):
            write_atomic(path, lambda p, o=obj: o.to_csv(p, index=False))
        elif isinstance(obj, str):
            write_atomic(path, lambda p, o=obj: p.write_text(o, encoding="utf-8"))
        else:
            write_atomic(
                path, lambda p, o=obj: o.savefig(p, dpi=120, bbox_inches="tight", format="png")
            )
        written.append(path)
    info = dict(
        info,
        complete=True,
        files=[p.name for p in written],
        checksums={p.name: _checksum(p) for p in written},
    )
    write_atomic(
        out / MANIFEST,
        lambda p: p.write_text(json.dumps(info, indent=2, default=_json_default)),
    )
    written.append(out / MANIFEST)
    return written


def _checksum(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


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
    if "sweep" in info:  # a sweep folder: judged by its run parts (sim.store.is_complete)
        from sim.experiments.store import is_complete as sweep_is_complete

        return sweep_is_complete(folder)
    files, checksums = info.get("files"), info.get("checksums")
    if not isinstance(files, list) or not isinstance(checksums, dict):
        return False
    for name in files:
        path = folder / str(name)
        if not path.is_file() or checksums.get(name) != _checksum(path):
            return False
    return True


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
