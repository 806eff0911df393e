"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every engine takes the same lazy iterator of :class:`~sim.experiments.tasks.RunTask` and yields
one :class:`RunResult` per task as runs finish (in completion order). A run is a pure function of
its task (resolved scenario, seed, steps), so every engine gives the identical table; only the
order of completion differs, and the store sorts it away.

Memory stays bounded: at most ``window`` tasks are in flight (a small multiple of the number of
workers); the next task is drawn from the iterator only when one finishes, and a result is
Parquet bytes (a sweep's run) or the run's table, which the caller writes to disk or keeps. A run
that raises becomes a failed result carrying its error and traceback and never stops the others
(``fail_fast=False``, sweeps), or its exception propagates as it was raised (``fail_fast=True``,
comparisons and validation).

Engines:
    ``serial``: one run after another in this process (debugging, profiling).
    ``local``: a :class:`~concurrent.futures.ProcessPoolExecutor` on all cores (the default),
    with the ``spawn`` start method so it behaves the same on Linux, macOS and Windows.
    ``dask``: :mod:`distributed`, to a running scheduler (``--scheduler tcp://host:8786``, e.g.
    started by dask-jobqueue on SLURM/PBS or dask-kubernetes) or a ``LocalCluster``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.store import encode_run
from sim.experiments.tasks import RunTask
from sim.model.model import PartnershipModel
from sim.scenario.schema import Scenario

__all__ = [
    "ENGINES",
    "EngineError",
    "RunResult",
    "check_scheduler",
    "default_workers",
    "execute",
    "local_pool",
    "run_tasks",
]

ENGINES = ("local", "dask", "serial")


class EngineError(UserError):
    """An engine that cannot start (e.g. a Dask scheduler that cannot be reached)."""


@dataclass(frozen=True)
class RunResult:
    """The outcome of one task: its rows (Parquet bytes or a table), or its error and traceback.

    ``events`` is the run's event log (the interventions that fired) when the rows are a table.
    """

    task: RunTask
    payload: bytes | pd.DataFrame | None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    events: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """Whether the run finished."""
        return self.payload is not None


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Refuse a Dask scheduler address that is malformed or where nothing listens, at once.

    A TCP connection is tried before anything is written or any cluster client made, so a
    typo or a stopped scheduler gives one message in seconds (``Client`` would retry for its
    whole timeout). Only ``tcp://`` (or a bare ``HOST:PORT``) is accepted: other transports
    (``tls://`` needs certificates this command does not take; ``inproc://``, ``ucx://``,
    ``ws://``) would fail only after the sweep folder was written.
    """
    if len(address) > 300:
        raise EngineError(
            f"--scheduler {address[:60]!r}...: {len(address)} characters; expected tcp://HOST:PORT"
        )
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        raise EngineError(
            f"--scheduler {address!r}: the {scheme[:20]!r} transport is not supported; "
            "expected tcp://HOST:PORT, e.g. tcp://10.0.0.1:8786"
        )
    host, colon, port = rest.rstrip("/").rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise EngineError(
            f"--scheduler {address!r}: not a scheduler address; expected tcp://HOST:PORT, "
            "e.g. tcp://10.0.0.1:8786"
        )
    import socket

    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EngineError(
            f"--scheduler {address}: cannot connect ({reason}); is the scheduler running "
            "and reachable from here? Start one with 'dask scheduler', or use --engine local"
        ) from None


_COLLECT_EVERY = 50
_executed = 0


def _collect_now() -> bool:
    """Every 50th run of this process: time for a full garbage collection.

    A finished model is a web of reference cycles (agents <-> model, graph attributes) that
    outlives its run in the oldest generation; Python's own full collections grow rarer as the
    heap grows, so without this a long sweep in one process keeps dozens of dead models
    around. A full collection costs milliseconds.
    """
    global _executed
    _executed += 1
    return _executed % _COLLECT_EVERY == 0


def _in_worker(task: RunTask, fail_fast: bool = False) -> RunResult:
    """:func:`execute` in a pool or Dask worker, collecting garbage every 50 runs."""
    if _collect_now():
        gc.collect()
    return execute(task, fail_fast)


def execute(task: RunTask, fail_fast: bool = False) -> RunResult:
    """Run one task; any exception becomes a failed result (or is raised, if ``fail_fast``).

    With ``task.outcomes`` set (sweeps) the rows are the keys, the lever values and those
    outcomes as float64, encoded as Parquet bytes; otherwise the model's whole table with its
    event log.
    """
    start = time.perf_counter()
    try:
        payload, events = _run(task)
    except Exception as exc:  # a failing run is recorded, never fatal to the sweep
        if fail_fast:
            raise
        return RunResult(
            task,
            None,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            time.perf_counter() - start,
        )
    return RunResult(task, payload, seconds=time.perf_counter() - start, events=events)


def _run(task: RunTask) -> tuple[bytes | pd.DataFrame, pd.DataFrame | None]:
    scenario = Scenario.model_validate(task.config)
    kwargs: dict[str, Any] = {"seed": task.seed, "replicate": task.replicate}
    if task.recorded_steps is not None:
        kwargs["record_steps"] = task.recorded_steps  # outcomes computed only on the steps kept
    model = (task.model or PartnershipModel)(scenario, **kwargs)
    frame = model.run(task.steps).results()
    if task.outcomes is None:
        return frame, model.events_frame()
    frame = frame[["scenario", "replicate", "seed", "step", *task.outcomes]]
    frame = frame.astype({name: np.float64 for name in task.outcomes})
    frame.insert(0, "run_id", task.run_id)
    frame.insert(2, "point", task.point)
    for k, (name, value) in enumerate(task.levers.items()):
        frame.insert(6 + k, name, value)
    return encode_run(frame), None


def run_tasks(
    tasks: Iterable[RunTask],
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    window: int | None = None,
    *,
    fail_fast: bool = False,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[RunResult]:
    """Execute ``tasks`` on ``engine``, yielding results as they finish.

    Args:
        tasks: the runs (consumed lazily).
        engine: ``local``, ``dask`` or ``serial``.
        workers: processes (local) or LocalCluster workers (dask); default all cores.
        scheduler: a Dask scheduler address; implies ``engine="dask"``.
        window: most tasks in flight at once (default: 4 per worker).
        fail_fast: raise a run's exception (as it was raised) instead of yielding a failed
            result.
        pool: a :func:`local_pool` to reuse (``local`` only; it is left open).
    """
    if scheduler is not None:
        engine = "dask"
    if engine not in ENGINES:
        raise EngineError(f"--engine {engine!r}: unknown; choose one of {', '.join(ENGINES)}")
    workers = workers or default_workers()
    window = window or 4 * workers
    tasks = iter(tasks)
    if engine == "serial":
        return _serial(tasks, fail_fast)
    run = partial(_in_worker, fail_fast=fail_fast)
    if engine == "local":
        return _local(tasks, workers, window, run, pool)
    return _dask(tasks, workers, scheduler, window, run)


def _serial(tasks: Iterator[RunTask], fail_fast: bool) -> Iterator[RunResult]:
    for k, task in enumerate(tasks, start=1):
        if k % _COLLECT_EVERY == 0:  # see _collect_now
            gc.collect()
        yield execute(task, fail_fast)


def _exit_with_parent(parent: int) -> None:
    """Pool-worker initializer: exit when the sweep process is gone.

    A parent killed with SIGKILL cannot shut its pool down, and idle workers would wait on
    their queue forever; a daemon thread notices the parent's death (the worker is re-parented,
    so ``os.getppid()`` changes) and ends the worker.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def local_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool as the ``local`` engine makes it (``spawn``; workers end with us).

    Pass it to :func:`run_tasks` to run several batches on the same workers.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _local(
    tasks: Iterator[RunTask],
    workers: int,
    window: int,
    run: partial,
    shared: ProcessPoolExecutor | None = None,
) -> Iterator[RunResult]:
    pool = shared or local_pool(workers)
    pending: dict[Future, RunTask] = {}
    try:
        while True:
            for task in islice(tasks, window - len(pending)):
                pending[pool.submit(run, task)] = task
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    if run.keywords.get("fail_fast"):
                        raise
                    # A worker died (killed, out of memory): its runs are failures, the pool is
                    # replaced and the sweep goes on.
                    yield RunResult(task, None, f"worker process died: {exc}", _format(exc))
                    pool.shutdown(wait=False, cancel_futures=True)
                    for other in list(pending):
                        lost = pending.pop(other)
                        if other.done() and not other.cancelled() and other.exception() is None:
                            yield other.result()
                        else:
                            yield RunResult(lost, None, "worker process died", _format(exc))
                    pool = local_pool(workers)
                    break
    finally:
        if pool is shared:
            for future in pending:  # fail_fast: the batch stops, the shared workers stay
                future.cancel()
        else:
            pool.shutdown(wait=True, cancel_futures=True)


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _dask(
    tasks: Iterator[RunTask], workers: int, scheduler: str | None, window: int, run: partial
) -> Iterator[RunResult]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise EngineError(
            "--engine dask needs dask.distributed: pip install -e '.[sweep]'"
        ) from None
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise EngineError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        running = as_completed()
        owner: dict[str, RunTask] = {}

        def submit(task: RunTask) -> None:
            future = client.submit(run, task, key=f"run-{task.run_id}", pure=False)
            owner[future.key] = task
            running.add(future)

        def limit() -> int:
            # A cluster may have (or grow to) more workers than --workers says: keep each busy.
            threads = sum(client.nthreads().values()) if scheduler is not None else 0
            return max(window, 4 * threads)

        size, checked = limit(), time.monotonic()
        for task in islice(tasks, size):
            submit(task)
        for future in running:
            task = owner.pop(future.key)
            try:
                result = future.result()
            except Exception as exc:  # e.g. KilledWorker: the run took its worker down
                if run.keywords.get("fail_fast"):
                    raise
                result = RunResult(task, None, f"{type(exc).__name__}: {exc}", _format(exc))
            future.release()
            del future
            if time.monotonic() - checked > 5:
                size, checked = limit(), time.monotonic()
            for nxt in islice(tasks, max(1, size - len(owner))):
                submit(nxt)
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
