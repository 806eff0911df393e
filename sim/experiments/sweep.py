"""A sweep's runs: their ids, the plan, and running the missing ones into a resumable store.

A sweep file (:mod:`sim.experiments.sweep_spec`, whose names this module re-exports) names base
scenarios, a design over levers and the replications. Every run is (base scenario, design
point, replicate); replicate ``r`` uses the same seed at every design point and in every base
scenario (common random numbers). A run's id hashes its resolved scenario, design point,
replicate, seed, steps, recording and the code version (:func:`code_version`), so a results
folder can be resumed run by run (:func:`run_sweep`); runs execute on an engine of
:mod:`sim.experiments.engines` and go to disk one by one (:mod:`sim.experiments.store`).

Example:
    >>> spec = SweepSpec.model_validate({
    ...     "scenarios": ["baseline"], "replications": 2, "steps": 3,
    ...     "design": {"method": "grid", "levers": {"factors.trust": {"values": [0.2, 0.8]}}}})
    >>> count_runs(from_dict(spec.model_dump()), design_matrix(spec))
    4
"""

from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments import engines
from sim.experiments.results import manifest
from sim.experiments.store import SweepStore, write_dictionary
from sim.experiments.sweep_spec import (
    METHODS,
    DesignSpec,
    LeverSpec,
    Sweep,
    SweepError,
    SweepSpec,
    design_matrix,
    from_dict,
    load_sweep,
    salib_problem,
)
from sim.experiments.tasks import RunTask, replicate_seeds
from sim.model import memory
from sim.paths import ROOT

__all__ = [
    "METHODS",
    "DesignSpec",
    "LeverSpec",
    "Sweep",
    "SweepError",
    "SweepOutcome",
    "SweepSpec",
    "code_version",
    "count_runs",
    "design_matrix",
    "fingerprint",
    "from_dict",
    "load_sweep",
    "plan",
    "run_sweep",
    "salib_problem",
]


# ----------------------------------------------------------------------------- runs
def model_sources() -> list[Path]:
    """The model's module and every ``sim`` module it imports, directly or not (read statically).

    Package faces (``__init__.py``) count as modules, so a face that re-exports from another
    floor pulls that floor's modules in too.
    """

    def source(module: str) -> Path | None:
        base = ROOT.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    seen: dict[str, Path] = {}
    todo = ["sim.model.model"]
    while todo:
        name = todo.pop()
        path = source(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sim":
                todo.append(node.module)
                todo.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names if a.name.split(".")[0] == "sim")
    return sorted(set(seen.values()))


@cache
def code_version() -> str:
    """The package version plus a hash of the model's sources and its key libraries.

    A change to the model or any module it imports, or to Mesa, numpy or networkx, changes
    every run id, so a results folder never mixes runs made by different model code. Changes
    to the sweep tooling, the analysis or the command line leave run ids alone.
    """
    digest = hashlib.sha256()
    for path in model_sources():
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    for pkg in ("mesa", "numpy", "networkx"):
        digest.update(f"{pkg}={metadata.version(pkg)}".encode())
    try:
        version = metadata.version("kemitraan")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+src.{digest.hexdigest()[:12]}"


def _run_id(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def plan(sweep: Sweep, design: pd.DataFrame | None = None) -> Iterator[RunTask]:
    """Every run of the sweep, lazily: scenario by scenario, point by point, replicate last.

    Generated on demand so that even 10^5 runs never sit in memory as a list of configs.
    """
    spec = sweep.spec
    design = design_matrix(spec) if design is None else design
    seeds = replicate_seeds(spec.seed, spec.replications)
    steps = sweep.steps
    recorded = tuple(int(s) for s in spec.recorded_steps(steps))
    version = code_version()
    names = list(sweep.levers)
    for scenario in sweep.scenarios:
        points = design["point"].to_numpy()
        columns = [design[name].to_numpy() for name in names]
        for i, point in enumerate(points):
            values = {name: _plain(col[i]) for name, col in zip(names, columns, strict=True)}
            config = scenario.with_overrides(values, source=sweep.source).to_dict()
            # The validated values (0 in a list of floats becomes 0.0), so every run's part
            # file has the same column types.
            values = {name: config[name.split(".")[0]][name.split(".")[1]] for name in names}
            for replicate, seed in enumerate(seeds):
                run_id = _run_id(
                    {
                        "config": config,
                        "point": int(point),
                        "replicate": replicate,
                        "seed": seed,
                        "steps": steps,
                        "recorded": recorded,
                        "outcomes": spec.outcomes,
                        "code": version,
                    }
                )
                yield RunTask(
                    run_id,
                    config,
                    scenario.name,
                    int(point),
                    replicate,
                    seed,
                    steps,
                    values,
                    tuple(spec.outcomes),
                    recorded,
                )


def count_runs(sweep: Sweep, design: pd.DataFrame) -> int:
    """Number of runs the sweep makes."""
    return len(sweep.scenarios) * len(design) * sweep.spec.replications


def fingerprint(sweep: Sweep, design: pd.DataFrame | None = None) -> str:
    """Identifies a sweep's runs: its resolved scenarios, design, seeds, steps and code.

    ``design`` is a design table given instead of the spec's (see :func:`run_sweep`); its
    values are part of the fingerprint.
    """
    spec = sweep.spec.model_dump(mode="json")
    spec.pop("description", None)
    spec.pop("reference", None)
    payload = {
        "spec": spec,
        "scenarios": [s.to_dict() for s in sweep.scenarios],
        "code": code_version(),
    }
    if design is not None:
        payload["design"] = design.to_dict("list")
    return _run_id(payload)


# ----------------------------------------------------------------------------- running
@dataclass
class SweepOutcome:
    """What one invocation did."""

    out: Path
    total: int
    skipped: int
    done: int
    failed: int
    seconds: float


def run_sweep(
    sweep: Sweep,
    out: Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    sweep_text: str | None = None,
    command: list[str] | None = None,
    window: int | None = None,
    design: pd.DataFrame | None = None,
) -> SweepOutcome:
    """Run the sweep's missing runs into ``out``, resuming whatever an earlier call finished.

    Runs already stored are skipped; runs recorded as failed are skipped too unless
    ``retry_failed``. Each result is written to disk as it arrives, then dropped; at most
    ``window`` runs are in flight (default: 4 per worker). ``design`` replaces the spec's
    design by a table made elsewhere (a ``point`` column and one column per lever of
    ``sweep.levers``, e.g. posterior draws for scenario discovery); it is part of the
    fingerprint, so a folder is resumed only with the same table.
    """
    start = time.perf_counter()
    given = design is not None
    if not given:
        design = design_matrix(sweep.spec, raw=True)
    # Refusals come before the folder is made: an unknown engine, a scheduler nobody answers
    # at, runs that cannot fit in memory.
    if scheduler is not None:
        engine = "dask"
        engines.check_scheduler(scheduler)
    if engine not in engines.ENGINES:
        raise engines.EngineError(
            f"--engine {engine!r}: unknown; choose one of {', '.join(engines.ENGINES)}"
        )
    check_fits(sweep, design, workers or engines.default_workers())
    fp = fingerprint(sweep, design if given else None)
    store = SweepStore.open(out, fp, sweep_text)
    for line in store.damaged:
        print(f"note: {out}: {line}", file=sys.stderr)
    store.write_design(design)
    info = manifest(
        list(sweep.scenarios),
        replications=sweep.spec.replications,
        steps=sweep.steps,
        root_seed=sweep.spec.seed,
        command=command,
    )
    total = count_runs(sweep, design)
    info.update(
        complete=False,
        sweep=sweep.spec.model_dump(mode="json"),
        sweep_file=sweep.source,
        sweep_fingerprint=fp,
        code_version=code_version(),
        levers=list(sweep.levers),
        runs_total=total,
        files=["sweep.toml", "design.parquet", "runs/", "failed/", "data_dictionary.csv"],
    )
    store.write_manifest(info)

    finished = store.finished()
    skip = finished if retry_failed else finished | store.failed_ids()
    skipped = sum(1 for _ in _ids(sweep, design) if _ in skip)
    del finished
    todo = (t for t in plan(sweep, design) if t.run_id not in skip)
    bar = _bar(total - skipped, progress)
    done = failed = 0
    try:
        for result in engines.run_tasks(todo, engine, workers, scheduler, window):
            if result.ok:
                store.write_run(result.task.run_id, result.payload)
                done += 1
            else:
                store.write_failure(_failure_record(result))
                failed += 1
                bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
    finally:
        bar.close()
    n_done, n_failed = len(store.finished()), len(store.failed_ids())
    write_dictionary(out)
    info.update(
        complete=n_done == total,
        runs_done=n_done,
        runs_failed=n_failed,
        finished=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    store.write_manifest(info)
    print(
        f"{sweep.spec.name}: {n_done}/{total} runs stored, {n_failed} failed "
        f"({done} done and {failed} failed now, {skipped} already there) in "
        f"{time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return SweepOutcome(Path(out), total, skipped, done, failed, time.perf_counter() - start)


SIZE_SECTIONS = ("population", "organizations", "run")
"""Sections whose levers change how much memory one run needs."""


def check_fits(sweep: Sweep, design: pd.DataFrame, workers: int) -> int:
    """Refuse a sweep whose largest run, ``workers`` at once, would not fit in memory.

    Results go to disk run by run, so what must fit is ``workers`` of the largest model (and
    each one's own results), not the whole table. Design levers that change a run's size
    (``population.*``, ``organizations.*``, ``run.*``) are applied at each distinct value
    combination to find the largest run. Returns the estimated bytes; raises
    :class:`sim.model.memory.MemoryLimitError` naming the sweep file otherwise.
    """
    sized = [n for n in sweep.levers if n.split(".")[0] in SIZE_SECTIONS]
    combos = design[sized].drop_duplicates().to_dict("records") if sized else [{}]
    variants = [
        s.with_overrides({k: _plain(v) for k, v in combo.items()}, source=sweep.source)
        for s in sweep.scenarios
        for combo in combos
    ]
    biggest = max(variants, key=lambda s: memory.model_bytes(s, sweep.steps))
    parallel = max(1, min(workers, count_runs(sweep, design)))
    return memory.check_fits(
        [biggest], replications=parallel, steps=sweep.steps, workers=parallel, files=[sweep.source]
    )


def _ids(sweep: Sweep, design: pd.DataFrame) -> Iterator[str]:
    return (t.run_id for t in plan(sweep, design))


def _failure_record(result: Any) -> dict[str, Any]:
    task = result.task
    return {
        "run_id": task.run_id,
        "scenario": task.scenario,
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "levers": task.levers,
        "error": result.error,
        "traceback": result.traceback,
        "seconds": result.seconds,
    }


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc="runs",
        unit="run",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        postfix={"failed": 0},
    )
