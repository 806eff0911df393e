"""Simulated targets: the model's value of each evidence-table target, in the target's unit.

The evidence table (:mod:`sim.scenario.evidence`, ``calibration/targets.toml``) says what field
studies and official statistics measured; this module says how a model run measures the same
quantity. Each target with a model output has a :class:`Measurement`: the declared output it
reads (:mod:`sim.scenario.outcomes`), the shipped scenario it runs, when it reads it (the
initial state, or the mean over the horizon), the contrast (a level, or a treated arm against
a control arm: a difference or a relative change) and the factor that turns the output's unit
into the target's (a share is x 100 in percent or percentage points).

:func:`simulate_targets` runs every arm the requested targets need through the validation
suite's runner (:class:`~sim.experiments.validation.ArmRunner`): the same replicate seeds for
every arm (common random numbers), so a contrast is paired by seed, and arms shared by
several targets run once. Caller overrides (dotted keys, e.g. a calibration's draw) apply to
every arm; an arm's own levers (the audit probabilities of an audit experiment) are applied
on top of them, since they define the experiment.

Initial-state targets (the BPS income statistics) need no steps: their arms run one step and
read step 0, which does not depend on the run's length.

Example:
    >>> import dataclasses
    >>> tiny = dataclasses.replace(SIZES["ci"], households=200, villages=4, replications=2)
    >>> values = simulate_targets({}, tiny, ["bps_gini_rural", "bps_poverty_rate_rural"])
    >>> sorted(values), 0.2 < values["bps_gini_rural"] < 0.5
    (['bps_gini_rural', 'bps_poverty_rate_rural'], True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import UserError, did_you_mean
from sim.experiments.validation import SIZES, Arm, ArmRunner, Size, per_run
from sim.paths import SCENARIOS
from sim.scenario import load_scenario
from sim.scenario.evidence import TARGETS_FILE, load_evidence

__all__ = [
    "MEASUREMENTS",
    "SIZES",
    "TARGETS_WITH_OUTPUTS",
    "Measurement",
    "simulate_targets",
    "target_replicates",
]

Overrides = tuple[tuple[str, Any], ...]
"""Dotted-key lever values, sorted (hashable)."""

Dose = Callable[[Mapping[str, Any]], Overrides]
"""The treated or control arm's own levers, from the scenario's lever values (dotted keys)."""


@dataclass(frozen=True)
class Measurement:
    """How a model run measures one target.

    Attributes:
        output: the declared outcome read (:data:`sim.scenario.outcomes.DECLARED`).
        scenario: the shipped scenario every arm starts from (``scenarios/<name>.toml``).
        window: ``"initial"`` (the value at step 0) or ``"horizon_mean"`` (the mean over
            steps 1 to the horizon: a flow measured over the programme's life).
        contrast: ``"level"`` (one arm), ``"difference"`` (treated − control, per seed) or
            ``"relative"`` ((treated − control) / control, per seed).
        treated: the treated arm's own levers (a dose function of the scenario's levers, or
            fixed values); for a level, the one arm's.
        control: the control arm's own levers (unused for a level).
        scale: multiplies the contrast into the target's unit (100: share to percent or
            percentage points; relative change to percent).
        note: how the run reproduces the target, in words (``docs/evidence.md``).
    """

    output: str
    scenario: str
    window: Literal["initial", "horizon_mean"]
    contrast: Literal["level", "difference", "relative"]
    treated: Overrides | Dose = ()
    control: Overrides | Dose = ()
    scale: float = 1.0
    note: str = ""

    def __post_init__(self) -> None:
        if self.window not in ("initial", "horizon_mean"):
            raise ValueError(f"window must be 'initial' or 'horizon_mean'; got {self.window!r}")
        if self.contrast not in ("level", "difference", "relative"):
            raise ValueError(f"unknown contrast {self.contrast!r}")

    def arms(self, target: str, levers: Mapping[str, Any], overrides: Overrides) -> list[Arm]:
        """The arms (treated first, then control for a contrast) with the caller's overrides."""
        roles = ("treated",) if self.contrast == "level" else ("treated", "control")
        arms = []
        for role in roles:
            own = getattr(self, role)
            own = own(levers) if callable(own) else own
            merged = dict(overrides) | dict(own)
            arms.append(Arm(f"{target}:{role}", self.scenario, tuple(sorted(merged.items()))))
        return arms

    def statistic(self, run: pd.DataFrame) -> float:
        """The output of one run, as the window reads it."""
        if self.window == "initial":
            return float(run[self.output].iloc[0])
        return float(run[self.output].iloc[1:].mean())

    def values(self, frames: Mapping[str, pd.DataFrame], target: str) -> pd.Series:
        """One value per replicate seed, in the target's unit."""
        treated = per_run(frames[f"{target}:treated"], self.statistic)
        if self.contrast == "level":
            return treated * self.scale
        control = per_run(frames[f"{target}:control"], self.statistic)
        if self.contrast == "difference":
            return (treated - control) * self.scale
        return (treated - control) / control * self.scale


def _audit_probability(p: float) -> Dose:
    return lambda levers: (("accountability.audit_probability", p),)


def _audit_probability_raised(by: float) -> Dose:
    def dose(levers: Mapping[str, Any]) -> Overrides:
        base = float(levers["accountability.audit_probability"])
        return (("accountability.audit_probability", min(1.0, base + by)),)

    return dose


def _unchanged(levers: Mapping[str, Any]) -> Overrides:
    return ()


_INCOME_NOTE = (
    "{what} of the households' income at step 0 of the `baseline` scenario (income stands for "
    "per-capita consumption in multiples of the poverty line; households, not persons, are "
    "counted)"
)
_GINI = Measurement(
    "income_gini", "baseline", "initial", "level", note=_INCOME_NOTE.format(what="Gini")
)
_POVERTY = Measurement(
    "poverty_rate",
    "baseline",
    "initial",
    "level",
    scale=100.0,
    note=_INCOME_NOTE.format(what="share below the poverty line (x 100)"),
)
_BOTTOM40 = Measurement(
    "income_bottom40",
    "baseline",
    "initial",
    "level",
    scale=100.0,
    note=_INCOME_NOTE.format(what="the poorest 40 percent's share (x 100)"),
)

MEASUREMENTS: dict[str, Measurement] = {
    "olken_audit_missing_expenditures": Measurement(
        "leakage",
        "msp",
        "horizon_mean",
        "difference",
        treated=_audit_probability(1.0),
        control=_audit_probability(0.04),
        scale=100.0,
        note="`msp`, `accountability.audit_probability` 1.0 against 0.04 (one audit round a "
        "year), paired by seed: difference in mean `leakage` over months 1 to the horizon, "
        "x 100",
    ),
    "zamboni_litschig_audit_risk": Measurement(
        "leakage",
        "msp",
        "horizon_mean",
        "difference",
        treated=_audit_probability_raised(0.2),
        control=_unchanged,
        scale=100.0,
        note="`msp`, `accountability.audit_probability` raised by 0.2 (capped at 1) against "
        "the scenario's own (0.04 at the defaults; one round a year, so it is the annual "
        "risk), paired by seed: difference in mean `leakage` over months 1 to the horizon, "
        "x 100",
    ),
    "bps_gini_national": _GINI,
    "bps_gini_rural": _GINI,
    "bps_bottom40_share": _BOTTOM40,
    "bps_poverty_rate_national": _POVERTY,
    "bps_poverty_rate_rural": _POVERTY,
}
"""How each target with a model output is measured, by target id."""

TARGETS_WITH_OUTPUTS: tuple[str, ...] = tuple(MEASUREMENTS)
"""The ids :func:`simulate_targets` can compute."""


def _checked_ids(target_ids: Iterable[str] | None) -> list[str]:
    if target_ids is None:
        return list(TARGETS_WITH_OUTPUTS)
    ids = list(dict.fromkeys(target_ids))
    known = load_evidence().targets()
    for t in ids:
        if t not in known:
            raise UserError(
                f"target {t!r} is not in the evidence table ({TARGETS_FILE.name})."
                f"{did_you_mean(t, known)} Targets with outputs: {', '.join(TARGETS_WITH_OUTPUTS)}"
            )
        if t not in MEASUREMENTS:
            raise UserError(
                f"target {t!r} has no model output yet. Targets with outputs: "
                f"{', '.join(TARGETS_WITH_OUTPUTS)}"
            )
    return ids


def _levers(scenario: str, overrides: Overrides) -> dict[str, Any]:
    """The scenario's lever values by dotted key, with the caller's overrides."""
    built = load_scenario(SCENARIOS / f"{scenario}.toml").with_overrides(dict(overrides))
    return {
        f"{section}.{key}": value
        for section, values in built.to_dict().items()
        if isinstance(values, dict)
        for key, value in values.items()
    }


def target_replicates(
    overrides: Mapping[str, Any],
    size: Size,
    target_ids: Iterable[str] | None = None,
    workers: int = 1,
) -> dict[str, pd.Series]:
    """One model value per replicate seed for each target, in the target's unit.

    Args:
        overrides: dotted-key lever values applied to every arm (e.g. a posterior draw).
        size: households, villages, horizon, replicates and root seed
            (:class:`~sim.experiments.validation.Size`).
        target_ids: the targets to compute (default: :data:`TARGETS_WITH_OUTPUTS`).
        workers: worker processes for the runs.

    Raises:
        UserError: a target without a model output, or an override the schema refuses.
    """
    ids = _checked_ids(target_ids)
    common = tuple(sorted(dict(overrides).items()))
    arms: dict[str, list[Arm]] = {"initial": [], "horizon_mean": []}
    levers: dict[str, dict[str, Any]] = {}
    for t in ids:
        m = MEASUREMENTS[t]
        if m.scenario not in levers:
            levers[m.scenario] = _levers(m.scenario, common)
        arms[m.window] += m.arms(t, levers[m.scenario], common)
    frames: dict[str, pd.DataFrame] = {}
    # Initial states need no steps: one step (the least a run may have) and read step 0.
    sizes = {"initial": dataclasses.replace(size, steps=1), "horizon_mean": size}
    for window, todo in arms.items():
        if todo:
            with ArmRunner(sizes[window], workers) as runner:
                frames |= runner.run(todo)
    return {t: MEASUREMENTS[t].values(frames, t) for t in ids}


def simulate_targets(
    overrides: Mapping[str, Any],
    size: Size,
    target_ids: Iterable[str] | None = None,
    workers: int = 1,
) -> dict[str, float]:
    """The model's value of each target (the mean over replicate seeds), in the target's unit.

    Runs the experiment each target names (:data:`MEASUREMENTS`) with common random numbers
    and returns ``{target id: value}`` in the order asked (NaN if no replicate gave a value).
    See :func:`target_replicates` for the arguments.
    """
    return {
        t: float(np.nanmean(v.to_numpy(dtype=float))) if v.notna().any() else float("nan")
        for t, v in target_replicates(overrides, size, target_ids, workers).items()
    }
