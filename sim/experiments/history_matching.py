"""History matching with Gaussian-process emulators, in resumable waves, then a posterior.

The calibration of an expensive stochastic simulator against a few measured targets
(Craig, Goldstein, Seheult & Smith 1997; Vernon, Goldstein & Bower 2010, Bayesian Analysis
5:619; Andrianakis et al. 2015, PLoS Comput. Biol. 11:e1003968 for an agent-based model):

1. **Waves.** Wave 1 runs the simulator at a Latin hypercube of the priors (in the unit
   cube, through each prior's quantile function). After each wave a Gaussian-process emulator
   per target (scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`,
   anisotropic RBF plus a white-noise term for the simulator's own randomness) is fitted to
   every run so far, and a point ``x`` is *implausible* when, for some target ``j``,

   ``I_j(x) = |z_j - mu_j(x)| / sqrt(s2_j(x) + v_obs_j + v_disc_j) > cutoff`` (3 by
   Pukelsheim's three-sigma rule),

   with ``mu_j, s2_j`` the emulator's mean and variance, ``v_obs_j`` the observation variance
   (the target's band read as a 95% interval) and ``v_disc_j`` the model discrepancy. The next
   wave runs points drawn from the region no wave has ruled out (NROY).
2. **Posterior.** Prior draws inside NROY are weighted by the Gaussian likelihood of the
   targets under the last emulators (``z_j ~ N(mu_j(x), s2_j + v_obs_j + v_disc_j)``) and
   resampled (systematic resampling) into equally weighted draws: importance sampling on the
   emulator, the prior as proposal.
3. **Confirmation.** The simulator runs again at the first draws; their target values are
   the posterior-predictive check (held-out targets included, which no emulator saw).

The emulators, implausibility, the NROY region and the resampling are in
:mod:`sim.experiments.emulator` (:class:`Observation` and :class:`Emulator` are re-exported
here); this module runs the waves and keeps the folder.

Everything lands in a folder as it finishes (designs, one Parquet part per finished chunk of
runs, the posterior, the confirmation), so a rerun continues where a killed one stopped and
gives the same result: GP fits are deterministic given their runs.

Example:
    The tiny problem with a known answer (:func:`toy_simulator`; the truth is a = 0.3,
    b = 0.7) in :mod:`tests.test_calibration`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from sim.errors import UserError
from sim.experiments.disk import json_default, write_atomic
from sim.experiments.emulator import (
    Emulator,
    Observation,
    nroy,
    plausible_points,
    systematic_resample,
)
from sim.experiments.engines import ENGINES, default_workers, local_pool
from sim.scenario.priors import Priors

__all__ = [
    "Emulator",
    "HistoryMatch",
    "HistoryMatchError",
    "Observation",
    "Settings",
    "history_match",
    "toy_simulator",
]

Simulator = Callable[[dict[str, float]], dict[str, float]]
"""A simulator: lever overrides to a value per target id (picklable for the local engine)."""


class HistoryMatchError(UserError):
    """A calibration that cannot run as asked (a folder of another calibration, an engine)."""


@dataclass(frozen=True)
class Settings:
    """How much work a calibration does."""

    waves: int = 3
    points: int = 40  # simulator runs per wave
    candidates: int = 20_000  # prior points screened for the NROY region per wave
    cutoff: float = 3.0
    draws: int = 200  # posterior draws kept
    confirm: int = 20  # draws run again by the simulator
    seed: int = 2026
    chunk: int = 4  # runs per stored part (what a kill can lose)


@dataclass
class HistoryMatch:
    """What a calibration found: the runs, the waves, the posterior and its confirmation."""

    levers: list[str]
    runs: pd.DataFrame  # wave, point, lever values, u_<lever>, target values
    waves: list[dict[str, Any]]  # per wave: runs, NROY share, seconds
    posterior: pd.DataFrame  # draw, lever values
    confirmation: pd.DataFrame  # draw, lever values, target values
    ess: float
    nroy_share: float  # share of the prior not ruled out by any wave
    length_scales: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the model runs, summed over sessions
    emulator: Emulator | None = None  # the last wave's emulators
    label: str = ""  # the simulator that made the runs (its model version)


def toy_simulator(values: dict[str, float], noise: float = 0.01) -> dict[str, float]:
    """A cheap stochastic simulator with a known answer, for tests and examples.

    With ``a`` and ``b`` the first two values (in the dict's order; any lever names),
    ``y1 = a + b`` and ``y2 = a - b`` plus noise drawn from a seed made of the inputs: with
    targets y1 = 1.0 and y2 = -0.4, a = 0.3 and b = 0.7; a third value moves no output.

    Example:
        >>> out = toy_simulator({"a": 0.3, "b": 0.7, "c": 0.5}, noise=0.0)
        >>> round(out["y1"], 6), round(out["y2"], 6)
        (1.0, -0.4)
    """
    a, b = list(values.values())[:2]
    key = int(abs(hash((round(a, 12), round(b, 12)))) % (2**32))
    rng = np.random.default_rng(key)
    return {"y1": a + b + noise * rng.normal(), "y2": a - b + noise * rng.normal()}


# ------------------------------------------------------------------------- running points
def _evaluate(
    simulate: Simulator, points: list[tuple[int, dict[str, float]]], engine: str, workers: int
) -> Iterator[tuple[int, dict[str, float]]]:
    """Run the simulator at every point, yielding (index, outputs) as runs finish."""
    if engine not in ENGINES:
        raise HistoryMatchError(f"--engine {engine!r}: unknown; choose one of {', '.join(ENGINES)}")
    if engine == "serial" or (workers == 1 and engine == "local"):
        for k, overrides in points:
            yield k, simulate(overrides)
        return
    if engine == "local":
        pool = local_pool(workers)
        try:
            pending = {pool.submit(simulate, o): k for k, o in points}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise HistoryMatchError(
            "--engine dask needs dask.distributed: pip install -e '.[sweep]'"
        ) from None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    client = Client(cluster)
    try:
        futures = {client.submit(simulate, o, pure=False): k for k, o in points}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        cluster.close()


# ------------------------------------------------------------------------- the folder
class _Folder:
    """A calibration folder: the settings, each wave's design and parts, the posterior."""

    def __init__(self, path: Path, fingerprint: dict[str, Any], run: bool = True) -> None:
        self.path = Path(path)
        self.run = run
        self.path.mkdir(parents=True, exist_ok=True)
        state = self.path / "calibration.json"
        given = json.loads(json.dumps(fingerprint, default=json_default))
        self.label = given["simulator"]
        if state.exists():
            old = json.loads(state.read_text(encoding="utf-8"))
            # Rendering only: the simulator (model version) may have changed since.
            ignore = () if run else ("simulator",)
            if any(old.get(k) != given.get(k) for k in {*old, *given} - set(ignore)):
                raise HistoryMatchError(
                    f"{self.path} holds a different calibration (other priors, targets, "
                    "settings or model); choose a new --out, or delete the folder to start again"
                )
            self.label = old["simulator"]
        elif not run:
            raise HistoryMatchError(f"{self.path} holds no calibration to render")
        else:
            text = json.dumps(fingerprint, indent=2, default=json_default)
            write_atomic(state, lambda p: p.write_text(text, encoding="utf-8"))

    def wave(self, k: int) -> Path:
        folder = self.path / "waves" / f"wave_{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write(self, path: Path, frame: pd.DataFrame) -> None:
        write_atomic(path, lambda p: frame.to_parquet(p, index=False))

    def read_parts(self, folder: Path) -> pd.DataFrame:
        parts = sorted(folder.glob("part_*.parquet"))
        return pd.concat([pd.read_parquet(p) for p in parts]) if parts else pd.DataFrame()


def _run_points(
    store: _Folder,
    folder: Path,
    design: pd.DataFrame,
    levers: list[str],
    simulate: Simulator,
    settings: Settings,
    engine: str,
    workers: int,
) -> pd.DataFrame:
    """Run the design's points not yet stored in ``folder``, storing parts as they finish."""
    done = store.read_parts(folder)
    finished = set(done["point"]) if len(done) else set()
    todo = [
        (int(r.point), {name: float(getattr(r, f"x{j}")) for j, name in enumerate(levers)})
        for r in design.rename(columns={n: f"x{j}" for j, n in enumerate(levers)}).itertuples()
        if int(r.point) not in finished
    ]
    if todo and not store.run:
        raise HistoryMatchError(
            f"{folder}: {len(todo)} runs are missing; only a finished calibration can be "
            "rendered without running the model"
        )
    buffer: list[dict[str, Any]] = []
    start = len(list(folder.glob("part_*.parquet")))
    began = time.perf_counter()

    def flush() -> None:
        nonlocal start
        if buffer:
            store.write(folder / f"part_{start:05d}.parquet", pd.DataFrame(buffer))
            start += 1
            buffer.clear()

    for k, outputs in _evaluate(simulate, todo, engine, workers):
        buffer.append({"point": k, **{f"y:{n}": float(v) for n, v in outputs.items()}})
        if len(buffer) >= settings.chunk:
            flush()
    flush()
    if todo:  # the wall time of the runs, summed over the sessions that made them
        spent = _seconds(folder) + time.perf_counter() - began
        text = json.dumps({"seconds": round(spent, 1)})
        write_atomic(folder / "timing.json", lambda p: p.write_text(text, encoding="utf-8"))
    runs = store.read_parts(folder).drop_duplicates("point").sort_values("point")
    return design.merge(runs, on="point", how="inner")


def _seconds(folder: Path) -> float:
    """Wall seconds spent running the points stored in ``folder`` (0 if none recorded)."""
    path = folder / "timing.json"
    return float(json.loads(path.read_text(encoding="utf-8"))["seconds"]) if path.exists() else 0.0


def history_match(
    priors: Priors,
    fit: Sequence[Observation],
    simulate: Simulator,
    folder: str | Path,
    settings: Settings = Settings(),
    *,
    engine: str = "serial",
    workers: int | None = None,
    label: str = "",
    progress: Callable[[str], None] | None = None,
    run: bool = True,
) -> HistoryMatch:
    """Calibrate ``priors`` against the ``fit`` observations; resumable in ``folder``.

    Args:
        priors: the calibrated levers' priors (one column of the design each).
        fit: the observations the emulators are fitted to (other targets the simulator
            returns are kept in the runs and the confirmation: held-out checks).
        simulate: the simulator (picklable for ``local`` and ``dask``).
        folder: where waves, the posterior and the confirmation are stored.
        settings: waves, runs per wave, screening, cutoff, draws, confirmation runs, seed.
        engine: ``serial``, ``local`` (process pool) or ``dask`` (a local cluster).
        workers: processes (default: every core).
        label: names the simulator in the folder's fingerprint (another one is refused).
        progress: called with one line per wave.
        run: False to only read a finished calibration (no model run; the simulator's label
            may differ from the one that made the runs, e.g. after a change that leaves
            outputs identical).
    """
    # Small dense algebra (a GP on a few hundred runs) is slower on many BLAS threads than on
    # one, and the cores belong to the simulator's workers.
    with threadpool_limits(limits=1):
        return _history_match(
            priors, fit, simulate, Path(folder), settings, engine, workers, label, progress, run
        )


def _history_match(
    priors: Priors,
    fit: Sequence[Observation],
    simulate: Simulator,
    folder: Path,
    settings: Settings,
    engine: str,
    workers: int | None,
    label: str,
    progress: Callable[[str], None] | None,
    run: bool,
) -> HistoryMatch:
    say = progress or (lambda _: None)
    workers = workers or default_workers()
    levers = priors.levers
    ulevers = [f"u:{n}" for n in levers]
    fingerprint = {
        "simulator": label,
        "priors": {p.lever: p.describe() for p in priors.prior},
        "fit": [asdict(o) for o in fit],
        "settings": asdict(settings),
    }
    store = _Folder(Path(folder), fingerprint, run)
    d = len(levers)
    screen = np.random.default_rng([settings.seed, 1]).uniform(size=(settings.candidates, d))
    emulators: list[Emulator] = []
    runs = pd.DataFrame()
    waves: list[dict[str, Any]] = []
    share = 1.0
    for k in range(1, settings.waves + 1):
        wave_dir = store.wave(k)
        design_file = wave_dir / "design.parquet"
        if design_file.exists():
            design = pd.read_parquet(design_file)
        elif not store.run:
            raise HistoryMatchError(f"{wave_dir}: wave {k} was never run; nothing to render")
        else:
            inside = plausible_points(
                emulators,
                screen,
                fit,
                settings.cutoff,
                settings.candidates,
                5 * settings.points,
                np.random.default_rng([settings.seed, 6, k]),
            )
            if len(inside) == 0:
                say(f"wave {k}: no point of the prior is left plausible; stopping")
                break
            if k == 1:
                u = qmc.LatinHypercube(d=d, seed=settings.seed).random(settings.points)
            else:
                pick = np.random.default_rng([settings.seed, 2, k])
                u = inside[pick.choice(len(inside), min(settings.points, len(inside)), False)]
            values = priors.from_unit(u)
            design = pd.DataFrame(values, columns=levers)
            design.insert(0, "point", np.arange(len(design)))
            design.insert(0, "wave", k)
            for j, name in enumerate(ulevers):
                design[name] = u[:, j]
            store.write(design_file, design)
        done = _run_points(store, wave_dir, design, levers, simulate, settings, engine, workers)
        runs = pd.concat([runs, done], ignore_index=True)
        ycols = [f"y:{o.id}" for o in fit]
        y = runs[ycols].rename(columns=lambda c: c[2:])
        emulators.append(Emulator(runs[ulevers].to_numpy(), y, seed=settings.seed + k))
        share = float(nroy(emulators, screen, fit, settings.cutoff).mean())
        waves.append({"wave": k, "runs": len(done), "nroy": share, "seconds": _seconds(wave_dir)})
        say(f"wave {k}: {len(done)} runs, {share:.1%} of the prior not ruled out")
        if share == 0.0:
            say("no point of the prior is left plausible: the targets cannot all be met")
            break
    # ---- posterior: importance sampling on the last emulators, prior as proposal
    post_file = store.path / "draws.parquet"
    candidates = np.random.default_rng([settings.seed, 3]).uniform(size=(settings.candidates, d))
    pool = plausible_points(
        emulators,
        candidates,
        fit,
        settings.cutoff,
        settings.candidates,
        20 * settings.draws,
        np.random.default_rng([settings.seed, 7]),
    )
    if len(pool) == 0:  # nothing plausible: the least implausible part of the prior
        pool = candidates
    logw = emulators[-1].loglik(pool, fit)
    w = np.exp(logw - logw.max())
    ess = float(w.sum() ** 2 / np.sum(w**2))
    if post_file.exists():
        posterior = pd.read_parquet(post_file)
    else:
        idx = systematic_resample(w, settings.draws, np.random.default_rng([settings.seed, 4]))
        idx = np.random.default_rng([settings.seed, 5]).permutation(idx)
        posterior = pd.DataFrame(priors.from_unit(pool[idx]), columns=levers)
        posterior.insert(0, "draw", np.arange(len(posterior), dtype=np.int64))
        store.write(post_file, posterior)
    # ---- confirmation by the simulator at the first draws
    confirm_dir = store.path / "confirmation"
    confirm_dir.mkdir(exist_ok=True)
    chosen = posterior.head(settings.confirm).rename(columns={"draw": "point"})
    confirmed = _run_points(store, confirm_dir, chosen, levers, simulate, settings, engine, workers)
    confirmed = confirmed.rename(columns={"point": "draw"})
    scales = emulators[-1].length_scales() if emulators else {}
    return HistoryMatch(
        levers=levers,
        runs=runs,
        waves=waves,
        posterior=posterior,
        confirmation=confirmed,
        ess=ess,
        nroy_share=share,
        length_scales={t: s.tolist() for t, s in scales.items()},
        seconds=sum(w["seconds"] for w in waves) + _seconds(confirm_dir),
        emulator=emulators[-1] if emulators else None,
        label=store.label,
    )
