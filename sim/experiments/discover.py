"""Scenario discovery as an experiment: sample the inputs, run the pairs, classify, find boxes.

``python run_simulation.py discover`` (:mod:`sim.present.discovery_report`) asks under which
conditions partnerships fail in the ways :mod:`sim.experiments.failures` defines. Each design
point is one draw of the inputs:

- **policy levers** (:data:`POLICY_LEVERS`: the success factors, commitment, when external
  funding ends and what is left after it, audits, the agencies' O&M budget), a Latin hypercube
  over their plausible ranges (:mod:`sim.scenario.plausible`);
- **uncertain parameters**, from the first of these that exists: the calibrated posterior
  (``sim/data/calibration/posterior.parquet``, :func:`sim.scenario.posterior.load_posterior`),
  weighted resampling of its draws; else the priors of the calibration
  (``sim/data/calibration/priors.toml``), a Latin hypercube through their quantile functions;
  else the plausible ranges of :data:`UNCERTAIN_LEVERS`, a Latin hypercube. The report says
  which (:attr:`Inputs.source`).

Every point runs twice per replicate with the same seed, with the partnership and without
(``baseline``), through the sweep machinery (:func:`sim.experiments.sweep.run_sweep`: local
processes or Dask, resumable run by run, a manifest, Parquet parts). The pairs are classified
(:func:`sim.experiments.failures.classify`) and PRIM (:func:`sim.experiments.discovery.prim_box`)
finds, for each failure kind, the box of inputs where it concentrates.

Example:
    >>> size = SIZES["ci"]
    >>> inputs = sample_inputs(size, source="plausible")
    >>> inputs.source.split(" (")[0], len(inputs.design), inputs.design["point"].tolist()[:3]
    ('plausible ranges of 8 behavioural constants', 16, [0, 1, 2])
    >>> bool(inputs.design["partnership.funding_horizon"].between(36, 84).all())
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import UserError
from sim.experiments.discovery import DiscoveryError, PrimBox, prim_box
from sim.experiments.failures import FAILURES, NEEDED, classify
from sim.experiments.store import failures, read_table
from sim.experiments.sweep import Sweep, SweepOutcome, from_dict, run_sweep
from sim.paths import ROOT
from sim.scenario.plausible import plausible_range
from sim.scenario.posterior import POSTERIOR_FILE, load_posterior
from sim.scenario.schema import lever_table

try:  # the calibration's priors land with the calibrate command (issue 15 item 3)
    from sim.scenario import priors as _priors
except ImportError:  # pragma: no cover - until then, plausible ranges stand in
    _priors = None

__all__ = [
    "MIN_FAILURES",
    "POLICY_LEVERS",
    "REFERENCE",
    "SIZES",
    "SOURCES",
    "UNCERTAIN_LEVERS",
    "Discovery",
    "DiscoverySize",
    "Inputs",
    "discovery_sweep",
    "find_boxes",
    "run_discovery",
    "sample_inputs",
    "unrestricted_is_no_box",
]

REFERENCE = "baseline"
"""The scenario without a partnership every run is paired with."""

POLICY_LEVERS = (
    "factors.goal_clarity",
    "factors.power_balance",
    "factors.communication",
    "factors.trust",
    "factors.evaluation_interval",
    "partnership.commitment",
    "partnership.funding_horizon",
    "partnership.funding_after",
    "organizations.external_ngo",
    "accountability.audit_probability",
    "welfare.om_agency",
)
"""What a programme's designers choose (or find): sampled over their plausible ranges."""

UNCERTAIN_LEVERS = (
    "population.initial_trust",
    "partnership.exit_threshold",
    "partnership.exit_patience",
    "accountability.capture_propensity",
    "dynamics.trust_gain",
    "dynamics.trust_loss",
    "dynamics.conditional_slope",
    "dynamics.understanding_floor",
)
"""Behavioural constants sampled over their plausible ranges when there is no posterior and
no priors file (each is a calibration assumption in the schema)."""

SOURCES = ("auto", "posterior", "priors", "plausible")
"""Where the uncertain parameters come from; ``auto`` takes the first that exists."""


@dataclass(frozen=True)
class DiscoverySize:
    """How large a discovery is: population, horizon, design points, replicates, seed."""

    name: str
    households: int
    villages: int
    steps: int
    points: int
    replications: int
    root_seed: int

    @property
    def runs(self) -> int:
        """Runs made: points x replicates x 2 (with and without the partnership)."""
        return 2 * self.points * self.replications


SIZES = {
    # docs/discovery.md: the shipped population over ten years.
    "full": DiscoverySize("full", 500, 10, 120, points=256, replications=1, root_seed=2027),
    # The test suite and a first look: small villages, few points.
    "ci": DiscoverySize("ci", 60, 2, 120, points=16, replications=1, root_seed=15),
}


@dataclass(frozen=True)
class Inputs:
    """The design points: one row per point, a ``point`` column and one column per input.

    Attributes:
        design: ``point`` and the lever values of every point (as the runs are given them).
        policy: the policy levers (columns of ``design``).
        uncertain: the uncertain parameters (columns of ``design``).
        source: where the uncertain parameters were drawn from, in words.
    """

    design: pd.DataFrame
    policy: tuple[str, ...]
    uncertain: tuple[str, ...]
    source: str


def _integer_levers() -> set[str]:
    return {
        f"{r['section']}.{r['key']}"
        for r in lever_table()
        if isinstance(r["default"], int) and not isinstance(r["default"], bool)
    }


def _latin(levers: tuple[str, ...], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A Latin hypercube over the plausible ranges; whole-number levers hit every whole value."""
    u = qmc.LatinHypercube(d=len(levers), rng=rng).random(n)
    whole = _integer_levers()
    out = {}
    for j, name in enumerate(levers):
        r = plausible_range(name)
        if name in whole:
            out[name] = np.minimum(np.floor(r.low + u[:, j] * (r.high - r.low + 1)), r.high)
            out[name] = out[name].astype(np.int64)
        else:
            out[name] = r.low + u[:, j] * (r.high - r.low)
    return out


def _uncertain(source: str, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    if source not in SOURCES:
        raise DiscoveryError(f"source = {source!r}: choose one of {', '.join(SOURCES)}")
    has_priors = _priors is not None and _priors.PRIORS_FILE.is_file()
    if source == "posterior" or (source == "auto" and POSTERIOR_FILE.is_file()):
        if not POSTERIOR_FILE.is_file():
            raise DiscoveryError(
                f"--source posterior: no posterior file at {POSTERIOR_FILE} (the calibrate "
                "command writes it); use --source priors or plausible"
            )
        posterior = load_posterior(POSTERIOR_FILE)
        frame = pd.DataFrame(posterior.draws(n, rng))
        shown = posterior.describe().replace(str(POSTERIOR_FILE), _shown(POSTERIOR_FILE))
        return frame, f"posterior ({shown})"
    if source == "priors" or (source == "auto" and has_priors):
        if not has_priors:
            raise DiscoveryError(
                "--source priors: no priors file (sim/data/calibration/priors.toml); use "
                "--source plausible"
            )
        priors = _priors.load_priors(_priors.PRIORS_FILE)
        u = qmc.LatinHypercube(d=len(priors.levers), rng=rng).random(n)
        frame = pd.DataFrame(priors.overrides(priors.from_unit(u)))
        if "population.ties_within" in frame:  # Watts-Strogatz k must be even; the prior is
            k = frame["population.ties_within"]  # over whole numbers: round down to even
            frame["population.ties_within"] = (k - k % 2).clip(lower=2).astype(np.int64)
        return frame, f"priors ({len(priors.levers)} levers, Latin hypercube)"
    frame = pd.DataFrame(_latin(UNCERTAIN_LEVERS, n, rng))
    return frame, (
        f"plausible ranges of {len(UNCERTAIN_LEVERS)} behavioural constants (Latin "
        "hypercube; no posterior or priors file)"
    )


def sample_inputs(size: DiscoverySize, source: str = "auto") -> Inputs:
    """The design points: policy levers x uncertain parameters, one row per point.

    Each point pairs one row of a Latin hypercube over :data:`POLICY_LEVERS` with one draw of
    the uncertain parameters (see the module text for where they come from). A lever that is
    both calibrated and a policy lever takes its calibrated draw.
    """
    rng = np.random.default_rng(size.root_seed)
    uncertain, described = _uncertain(source, size.points, rng)
    policy = tuple(name for name in POLICY_LEVERS if name not in uncertain.columns)
    levers = pd.DataFrame(_latin(policy, size.points, rng))
    design = pd.concat([levers, uncertain], axis=1)
    design.insert(0, "point", np.arange(size.points, dtype=np.int64))
    return Inputs(design, policy, tuple(uncertain.columns), described)


def discovery_sweep(
    size: DiscoverySize, inputs: Inputs, partnership: str = "msp", seed: int | None = None
) -> Sweep:
    """The sweep that runs every point with and without the partnership (paired seeds)."""
    spec: dict[str, Any] = {
        "name": f"discover-{partnership}-{size.name}",
        "scenarios": [REFERENCE, partnership],
        "reference": REFERENCE,
        "replications": size.replications,
        "seed": size.root_seed if seed is None else seed,
        "steps": size.steps,
        "outcomes": list(NEEDED),
        "record": "every_step",
        "set": {
            "population.households": size.households,
            "population.villages": size.villages,
        },
    }
    sweep = from_dict(spec, source="discover")
    levers = tuple(c for c in inputs.design.columns if c != "point")
    return dataclasses.replace(sweep, levers=levers)


@dataclass(frozen=True)
class Discovery:
    """What a discovery found: the pairs, their failures and one PRIM box per failure kind.

    Attributes:
        inputs: the design points.
        pairs: :func:`~sim.experiments.failures.classify`'s table joined with the inputs.
        boxes: per failure kind, its box (``None`` when no pair failed that way, or too few
            pairs are defined for PRIM).
        notes: per failure kind, why there is no box (empty when there is one).
        outcome: what the sweep did (runs, seconds).
        settings: the failure thresholds and PRIM settings used.
    """

    inputs: Inputs
    pairs: pd.DataFrame
    boxes: dict[str, PrimBox | None]
    notes: dict[str, str]
    outcome: SweepOutcome | None
    settings: dict[str, Any]


MIN_FAILURES = 5
"""Fewest failures (and fewest pairs without one) PRIM is asked to describe: below that a box
is a list of single runs, not a condition."""


def find_boxes(
    pairs: pd.DataFrame, inputs: list[str], threshold: float = 0.8, mass_min: float = 0.05
) -> tuple[dict[str, PrimBox | None], dict[str, str]]:
    """PRIM per failure kind over ``inputs`` (columns of ``pairs``), on the pairs where defined.

    Inputs that do not vary (one value in every pair) are left out. A kind with fewer than
    :data:`MIN_FAILURES` failures, or fewer than that many pairs without one, gets no box
    (``None``) and a note saying why.
    """
    boxes: dict[str, PrimBox | None] = {}
    notes: dict[str, str] = {}
    for failure in FAILURES:
        flags = pairs[failure.name]
        defined = flags.notna().to_numpy()
        x = pairs.loc[defined, inputs]
        x = x.loc[:, x.nunique() > 1]
        y = flags[defined].astype(bool).to_numpy()
        failed, n = int(y.sum()), int(defined.sum())
        if failed < MIN_FAILURES or n - failed < MIN_FAILURES:
            boxes[failure.name] = None
            notes[failure.name] = (
                f"{failed} of the {n} pairs where defined failed; PRIM needs at least "
                f"{MIN_FAILURES} failures and {MIN_FAILURES} pairs without one"
            )
            continue
        box = prim_box(x, y, threshold=threshold, mass_min=mass_min)
        boxes[failure.name], notes[failure.name] = unrestricted_is_no_box(box, failed, n)
    return boxes, notes


def unrestricted_is_no_box(box: PrimBox, failed: int, n: int) -> tuple[PrimBox | None, str]:
    """A box that restricts no input is the whole space: report it as no box, saying why.

    Example:
        >>> whole = PrimBox({}, (), 1.0, 0.02, 1.0, 256, 0.02, pd.DataFrame(), 0)
        >>> unrestricted_is_no_box(whole, 5, 256)[0] is None
        True
    """
    if box.restricted:
        return box, ""
    return None, (
        f"{failed} of the {n} pairs where defined failed, and PRIM found no restriction of the "
        f"inputs where they concentrate above the base rate ({failed / n:.2f}): too few "
        "failures, or none of the inputs explains them"
    )


def _shown(path: Path) -> str:
    """A shipped file as reports name it: relative to the checkout or package, not this machine."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def run_discovery(
    size: DiscoverySize,
    out: Path,
    *,
    partnership: str = "msp",
    source: str = "auto",
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    lag: int = 24,
    retained_share: float = 0.5,
    margin: float = 0.0,
    threshold: float = 0.8,
    command: list[str] | None = None,
) -> Discovery:
    """Sample, run the pairs into ``out`` (resumable), classify them and find the boxes."""
    if partnership == REFERENCE:
        raise DiscoveryError(f"partnership = {partnership!r}: pick a partnership scenario")
    inputs = sample_inputs(size, source)
    sweep = discovery_sweep(size, inputs, partnership)
    outcome = run_sweep(
        sweep,
        out,
        retry_failed=True,
        engine=engine,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        command=command,
        design=inputs.design,
    )
    failed = len(failures(out))  # this call's and earlier ones' (skipped unless retried)
    if failed:
        raise UserError(
            f"{out}: {failed} run(s) failed (see {out}/failed/); the pairs need every run. "
            "Fix the cause, then rerun the same command (it retries them)"
        )
    levers = list(sweep.levers)
    table = read_table(out, [*NEEDED, *levers])
    pairs = classify(
        table,
        partnership=sweep.scenarios[1].name,
        reference=REFERENCE,
        lag=lag,
        retained_share=retained_share,
        margin=margin,
    )
    pairs = pairs.merge(inputs.design, on="point", how="left")
    boxes, notes = find_boxes(pairs, levers, threshold=threshold)
    settings = {
        "lag": lag,
        "retained_share": retained_share,
        "margin": margin,
        "threshold": threshold,
        "partnership": sweep.scenarios[1].name,
    }
    return Discovery(inputs, pairs, boxes, notes, outcome, settings)
