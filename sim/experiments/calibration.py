"""Kemitraan's calibration: which targets are fitted, which are held out, which levers move.

The targets with a model output (:data:`sim.experiments.targets.TARGETS_WITH_OUTPUTS`) are
split by source: the model is fitted to the rural BPS statistics (its villages are rural) and
to Olken's (2007) audit experiment, and checked on the rest, which no emulator sees:
Zamboni & Litschig's Brazilian audit-risk experiment (another study of the same mechanism)
and the national BPS statistics (another population than the model's villages).

The calibrated levers are the ones these targets can move (:data:`CALIBRATED`): the income
distribution's two parameters for the step-0 statistics, and the three parameters of
``partnership.leakage_share`` that scale the audit effect. Every other lever stays at its
shipped default during the calibration (its prior is in ``calibration/priors.toml``; no
target here informs it). :func:`calibrate` runs the history matching of
:mod:`sim.experiments.history_matching` on :func:`sim.experiments.targets.simulate_targets`
and summarizes the result: the posterior, the posterior-predictive check of every target and
how far each lever is pinned down.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments import targets as targets_module
from sim.experiments.history_matching import HistoryMatch, Observation, Settings, history_match
from sim.experiments.results import manifest
from sim.experiments.sweep import code_version
from sim.experiments.targets import TARGETS_WITH_OUTPUTS, simulate_targets
from sim.experiments.validation import Size
from sim.paths import SCENARIOS
from sim.scenario.evidence import load_evidence
from sim.scenario.priors import Priors, load_priors

__all__ = [
    "CALIBRATED",
    "DISCREPANCY",
    "FIT",
    "HELD_OUT",
    "SIZES",
    "Calibration",
    "CalibrationSize",
    "calibrate",
    "observations",
    "simulate_point",
]

CALIBRATED: dict[str, str] = {
    "population.income_sigma": "the spread of income: the Gini coefficients and the bottom 40%",
    "population.income_median": "the level of income: the poverty rates (with income_sigma)",
    "accountability.base_leakage": "the leakage an audit can cut: scales the audit effect",
    "accountability.audit_deterrence": "the cut at certain audit: scales the audit effect",
    "accountability.role_clarity_effect": "clear roles cut leakage: scales the audit effect",
}
"""The levers the calibration varies, and the targets that can move them."""

FIT: dict[str, str] = {
    "bps_gini_rural": "BPS: the model's villages are rural",
    "bps_poverty_rate_rural": "BPS: the model's villages are rural",
    "olken_audit_missing_expenditures": "Olken (2007): the audit experiment in Indonesian villages",
}
"""The targets the emulators are fitted to, and why these."""

HELD_OUT: dict[str, str] = {
    "zamboni_litschig_audit_risk": "another study (Brazilian municipalities) of the same "
    "mechanism: a 20-point rise in audit risk",
    "bps_bottom40_share": "the national bottom-40% share: another population than the "
    "model's rural villages, and a third moment of the income distribution",
    "bps_gini_national": "national, not rural: shown for reference",
    "bps_poverty_rate_national": "national, not rural: shown for reference",
    "generasi_children_weighed": "another study (Generasi) of another mechanism: health "
    "services delivered by a community-government partnership, which no calibrated lever sets",
    "bps_rural_poverty_trend": "a trend, not a level: the status quo's pace of poverty "
    "reduction, added after the shipped posterior was fitted",
}
"""The targets checked but not fitted, and why each is held out."""

DISCREPANCY = 0.5
"""Model-discrepancy sd as a share of each target's observation sd (a judgement: the model is
a stylized district, not the surveyed one; Vernon et al. 2010 use a share of the same kind)."""


@dataclass(frozen=True)
class CalibrationSize:
    """How large a calibration is: the runs behind each simulator call, and the waves."""

    name: str
    model: Size
    settings: Settings


SIZES = {
    # The shipped posterior: the shipped population over a five-year programme cycle, four
    # replicate seeds per arm (common random numbers), three waves of 30 runs.
    "full": CalibrationSize(
        "full",
        Size("full", households=500, villages=10, steps=60, replications=4, root_seed=2026),
        Settings(waves=3, points=30, candidates=20_000, draws=200, confirm=20, seed=2026),
    ),
    # The test suite: the pipeline end to end on a toy-sized model (numbers mean nothing).
    "ci": CalibrationSize(
        "ci",
        Size("ci", households=40, villages=2, steps=6, replications=1, root_seed=11),
        Settings(waves=2, points=6, candidates=2_000, draws=40, confirm=3, seed=11, chunk=3),
    ),
}


def observations(ids: list[str], discrepancy: float = DISCREPANCY) -> list[Observation]:
    """The targets' bands as observations (band read as a 95% interval, plus discrepancy).

    Example:
        >>> obs = observations(["olken_audit_missing_expenditures"])[0]
        >>> obs.value, round(obs.sd, 3), round(obs.discrepancy, 3)
        (-8.0, 2.041, 1.02)
    """
    targets = load_evidence().targets()
    out = []
    for i in ids:
        low, high = targets[i].band
        obs = Observation.from_band(i, low, high)
        out.append(Observation(i, obs.value, obs.sd, discrepancy * obs.sd))
    return out


def model_version() -> str:
    """What the simulator's answers depend on: the model code, the measurements, the scenarios.

    A calibration folder made by other code is refused on resume (its runs would mix models).
    """
    digest = hashlib.sha256()
    for path in (
        Path(targets_module.__file__),
        SCENARIOS / "msp.toml",
        SCENARIOS / "baseline.toml",
    ):
        digest.update(path.read_bytes())
    return f"model {code_version()}, measurements {digest.hexdigest()[:12]}"


def simulate_point(overrides: dict[str, float], size: Size, ids: tuple[str, ...]) -> dict:
    """The simulator of the calibration: every target's model value at one lever setting."""
    return simulate_targets(overrides, size, list(ids), workers=1)


@dataclass
class Calibration:
    """A finished calibration and what it says."""

    size: CalibrationSize
    priors: Priors
    fit: list[Observation]
    held_out: list[Observation]
    match: HistoryMatch

    @property
    def posterior(self) -> pd.DataFrame:
        """The draws: ``draw`` and one float64 column per calibrated lever."""
        return self.match.posterior

    def identifiability(self) -> pd.DataFrame:
        """Per lever: prior and posterior mean and sd, their ratio and a verdict.

        The ratio posterior sd / prior sd says how far the targets pin a lever down: below 0.5
        *pinned down*, below 0.85 *narrowed*, else *not identified* by these targets.
        """
        rows = []
        for p in self.priors.prior:
            draws = self.posterior[p.lever]
            ratio = float(draws.std() / p.prior_sd)
            verdict = (
                "pinned down" if ratio < 0.5 else "narrowed" if ratio < 0.85 else "not identified"
            )
            scales = [
                s[self.priors.levers.index(p.lever)] for s in self.match.length_scales.values()
            ]
            rows.append(
                {
                    "lever": p.lever,
                    "default": p.default,
                    "prior": p.describe(),
                    "prior_mean": p.prior_mean,
                    "prior_sd": p.prior_sd,
                    "posterior_mean": float(draws.mean()),
                    "posterior_sd": float(draws.std()),
                    "q05": float(draws.quantile(0.05)),
                    "q95": float(draws.quantile(0.95)),
                    "sd_ratio": ratio,
                    "shortest_length_scale": float(min(scales)) if scales else float("nan"),
                    "verdict": verdict,
                }
            )
        return pd.DataFrame(rows)

    def defaults(self) -> pd.DataFrame:
        """The shipped defaults as the last emulators see them.

        Each fitted target's emulated value (mean, sd) at the defaults and its implausibility
        (ruled out above the cutoff).
        """
        point = np.array([[p.default for p in self.priors.prior]])
        u = self.priors.to_unit(point)
        mean, var = self.match.emulator.predict(u)
        implausible = self.match.emulator.implausibility(u, self.fit)[0]
        return pd.DataFrame(
            {
                "target": [o.id for o in self.fit],
                "emulated": mean[0],
                "emulated_sd": np.sqrt(var[0]),
                "implausibility": implausible,
                "ruled_out": implausible > self.size.settings.cutoff,
            }
        )

    def predictive(self) -> pd.DataFrame:
        """Per target: band, prior-predictive (wave 1) and posterior-predictive values.

        ``within`` says whether the posterior-predictive mean lies in the band;
        ``share_within`` is the share of the confirmation runs whose value does.
        """
        targets = load_evidence().targets()
        first = self.match.runs[self.match.runs["wave"] == 1]
        rows = []
        for role, group in (("fit", self.fit), ("held out", self.held_out)):
            for obs in group:
                t = targets[obs.id]
                low, high = t.band
                prior = first[f"y:{obs.id}"]
                post = self.match.confirmation[f"y:{obs.id}"]
                rows.append(
                    {
                        "target": obs.id,
                        "role": role,
                        "unit": t.unit,
                        "estimate": t.estimate,
                        "low": low,
                        "high": high,
                        "prior_mean": float(prior.mean()),
                        "prior_sd": float(prior.std()),
                        "posterior_mean": float(post.mean()),
                        "posterior_sd": float(post.std()),
                        "within": bool(low <= post.mean() <= high),
                        "share_within": float(post.between(low, high).mean()),
                    }
                )
        return pd.DataFrame(rows)

    def commit(self) -> str:
        """The checkout's git commit ('' when not a checkout)."""
        m = manifest([], replications=1, steps=None, root_seed=self.size.model.root_seed)
        return m["git"]["commit"] or ""

    def meta(self) -> dict[str, Any]:
        """The posterior file's ``kemitraan`` metadata (PLAN3 interface 1)."""
        return {
            "method": "history matching with Gaussian-process emulators (scikit-learn), "
            f"{len(self.match.waves)} waves, implausibility cutoff {self.size.settings.cutoff}; "
            "posterior by importance sampling on the last emulators (prior as proposal), "
            "systematic resampling to equal weights",
            "targets_fit": [o.id for o in self.fit],
            "targets_held_out": [o.id for o in self.held_out],
            "size": self.size.name,
            "runs": int(len(self.match.runs) + len(self.match.confirmation)),
            "commit": self.commit(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(self.match.seconds, 1),
            "ess": round(self.match.ess, 1),
            "levers_fixed_at_defaults": "every lever not in the file",
            "model_version": self.match.label.rpartition("; ")[2],
        }


def calibrate(
    size: CalibrationSize,
    folder: str | Path,
    *,
    engine: str = "local",
    workers: int = 1,
    simulate: Callable[[dict[str, float]], dict[str, float]] | None = None,
    progress: Callable[[str], None] | None = None,
    run: bool = True,
) -> Calibration:
    """Calibrate the :data:`CALIBRATED` levers against :data:`FIT`; resumable in ``folder``.

    Args:
        size: :data:`SIZES` ``["ci"]`` or ``["full"]``.
        folder: the calibration's folder (waves, draws, confirmation); a rerun continues it.
        engine: ``serial``, ``local`` or ``dask`` (the simulator calls run there).
        workers: processes.
        simulate: another simulator (tests); default :func:`simulate_point` at ``size``.
        progress: called with one line per wave.
        run: False to read a finished calibration without running the model (its model
            version is the one that made the runs).
    """
    missing = [t for t in TARGETS_WITH_OUTPUTS if t not in FIT and t not in HELD_OUT]
    ids = tuple(t for t in (*FIT, *HELD_OUT) if t in TARGETS_WITH_OUTPUTS)
    priors = load_priors().subset(list(CALIBRATED))
    fit = observations([t for t in FIT if t in TARGETS_WITH_OUTPUTS])
    held = observations([t for t in HELD_OUT if t in TARGETS_WITH_OUTPUTS])
    if missing:  # a target measure added since: checked, never silently dropped
        held += observations(missing)
        ids += tuple(missing)
    simulator = simulate or partial(simulate_point, size=size.model, ids=ids)
    match = history_match(
        priors,
        fit,
        simulator,
        folder,
        size.settings,
        engine=engine,
        workers=workers,
        label=f"simulate_targets at size {size.name}: {size.model}; {model_version()}",
        progress=progress,
        run=run,
    )
    return Calibration(size, priors, fit, held, match)
