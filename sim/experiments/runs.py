"""The one runner: batches of runs with common random numbers, in order, on any engine.

Replicate seeds come from :class:`numpy.random.SeedSequence` spawned from one root seed
(:func:`~sim.experiments.tasks.replicate_seeds`); every scenario in a comparison uses the same
replicate seeds (common random numbers), so paired differences between scenarios are not
blurred by different populations or graphs.

:class:`Runner` executes a batch of :class:`~sim.experiments.tasks.RunTask` on an engine of
:mod:`sim.experiments.engines` (in this process, or a local process pool that it keeps for
later batches) and returns the results in task order, whatever order they finished in; a run
that raises stops the batch with its own exception. :func:`run_comparison` (the ``run`` and
``compare`` commands) and the validation suite's arms both run through it; sweeps use the
engines directly, streaming results to their store.

Example:
    >>> from sim.scenario.schema import Scenario
    >>> s = Scenario.from_dict({"population": {"households": 100}})
    >>> df = run_comparison([s], replications=2, steps=3, root_seed=1, progress=False)
    >>> sorted(df["replicate"].unique().tolist()), int(df["step"].max())
    ([0, 1], 3)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from sim.experiments.engines import RunResult, local_pool, run_tasks
from sim.experiments.stats import paired_differences, summarize
from sim.experiments.tasks import RunTask, replicate_seeds
from sim.model.model import PartnershipModel
from sim.scenario.schema import Scenario

__all__ = [
    "Runner",
    "paired_differences",
    "replicate_seeds",
    "run_comparison",
    "run_one",
    "summarize",
]


def run_one(
    scenario: Scenario,
    replicate: int,
    seed: int,
    steps: int | None = None,
    events: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One run of one scenario, in this process: the tidy model-level table.

    If ``events`` is a list, the run's event log (interventions that fired) is appended to it.
    """
    model = PartnershipModel(scenario, seed=seed, replicate=replicate)
    df = model.run(steps).results()
    if events is not None:
        events.append(model.events_frame())
    return df


class Runner:
    """Runs batches of tasks on ``workers`` processes (1: in this process), results in order.

    The worker processes start with the first parallel batch and are kept for the next ones
    until :meth:`close` (or the end of a ``with`` block). Results do not depend on ``workers``.
    """

    def __init__(self, workers: int = 1, progress: bool = False) -> None:
        self.workers = workers
        self.progress = progress
        self._pool: ProcessPoolExecutor | None = None

    def run(self, tasks: Sequence[RunTask]) -> list[RunResult]:
        """Execute ``tasks`` and return one result per task, in the tasks' order.

        A run that raises stops the batch: its exception propagates as it was raised.
        """
        tasks = list(tasks)
        parallel = self.workers > 1 and len(tasks) > 1
        if parallel and self._pool is None:
            self._pool = local_pool(self.workers)
        results = run_tasks(
            tasks,
            "local" if parallel else "serial",
            workers=self.workers,
            fail_fast=True,
            pool=self._pool if parallel else None,
        )
        done: list[RunResult | None] = [None] * len(tasks)
        order = {task.run_id: i for i, task in enumerate(tasks)}
        bar = _progress(len(tasks), self.progress)
        try:
            for result in results:
                done[order[result.task.run_id]] = result
                bar.update(1)
        finally:
            bar.close()
        return done  # type: ignore[return-value]

    def close(self) -> None:
        """Shut down the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def batch(
    scenarios: Iterable[Scenario],
    seeds: Sequence[int],
    steps: int | None = None,
    model=None,
) -> list[RunTask]:
    """Tasks for every scenario and replicate (replicate last), ids by position in the batch."""
    tasks = []
    for scenario in scenarios:
        config = scenario.to_dict()
        for r, seed in enumerate(seeds):
            run_id = str(len(tasks))
            tasks.append(RunTask(run_id, config, scenario.name, 0, r, seed, steps, model=model))
    return tasks


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
    tasks = batch(scenarios, replicate_seeds(root_seed, replications), steps)
    with Runner(workers, progress) as runner:
        results = runner.run(tasks)
    if events is not None:
        events.extend(r.events for r in results if len(r.events))
    return pd.concat([r.payload for r in results], ignore_index=True)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run", disable=not enabled, file=sys.stderr)
