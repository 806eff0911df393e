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
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import UserError, did_you_mean
from sim.experiments import stats
from sim.experiments.validation import SIZES, Arm, ArmRunner, Size, per_run
from sim.paths import SCENARIOS
from sim.scenario import load_scenario
from sim.scenario.evidence import TARGETS_FILE, load_evidence

__all__ = [
    "MEASUREMENTS",
    "MODEL_VALUE_COLUMNS",
    "SIZES",
    "TARGETS_WITH_OUTPUTS",
    "Measurement",
    "model_values",
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
        window: ``"initial"`` (the value at step 0), ``"horizon_mean"`` (the mean over
            steps 1 to the horizon: a flow measured over the programme's life), ``"step"``
            (the value at month ``step``: a survey at a given time; the arms run ``step``
            months whatever the size's horizon) or ``"annual_change"`` (the value at month
            ``step`` minus the value at step 0, per year: a trend between two surveys).
        contrast: ``"level"`` (one arm), ``"difference"`` (treated − control, per seed) or
            ``"relative"`` ((treated − control) / control, per seed).
        treated: the treated arm's own levers (a dose function of the scenario's levers, or
            fixed values); for a level, the one arm's.
        control: the control arm's own levers (unused for a level).
        control_scenario: the control arm's scenario when it differs (e.g. no partnership).
        step: the month read by the ``"step"`` and ``"annual_change"`` windows.
        scale: multiplies the contrast into the target's unit (100: share to percent or
            percentage points; relative change to percent).
        note: how the run reproduces the target, in words (``docs/evidence.md``).
    """

    output: str
    scenario: str
    window: Literal["initial", "horizon_mean", "step", "annual_change"]
    contrast: Literal["level", "difference", "relative"]
    treated: Overrides | Dose = ()
    control: Overrides | Dose = ()
    scale: float = 1.0
    note: str = ""
    control_scenario: str = ""
    step: int = 0

    def __post_init__(self) -> None:
        if self.window not in _WINDOWS:
            raise ValueError(f"unknown window {self.window!r}")
        if self.contrast not in ("level", "difference", "relative"):
            raise ValueError(f"unknown contrast {self.contrast!r}")
        if (self.window in _AT_STEP) != (self.step > 0):
            raise ValueError(
                "a 'step' or 'annual_change' window reads a month >= 1; other windows take no step"
            )

    def steps(self, size: Size) -> int:
        """How many months the arms run: 1 for the initial state, ``step``, or the horizon."""
        if self.window == "initial":
            return 1
        if self.window in _AT_STEP:  # the survey's month belongs to the experiment, not the size
            return self.step
        return size.steps

    def scenarios(self) -> tuple[str, ...]:
        """The shipped scenarios the arms start from."""
        return tuple(dict.fromkeys((self.scenario, self.control_scenario or self.scenario)))

    def arms(self, target: str, levers: Mapping[str, Any], overrides: Overrides) -> list[Arm]:
        """The arms (treated first, then control for a contrast) with the caller's overrides.

        ``levers`` are the treated scenario's lever values (dotted keys), which a dose reads.
        """
        roles = ("treated",) if self.contrast == "level" else ("treated", "control")
        arms = []
        for role in roles:
            own = getattr(self, role)
            own = own(levers) if callable(own) else own
            merged = dict(overrides) | dict(own)
            scenario = self.control_scenario if role == "control" else ""
            arms.append(
                Arm(f"{target}:{role}", scenario or self.scenario, tuple(sorted(merged.items())))
            )
        return arms

    def statistic(self, run: pd.DataFrame, steps_per_year: int) -> float:
        """The output of one run, as the window reads it.

        ``steps_per_year`` is the scenario's ``run.steps_per_year`` (an annual change divides
        by the years between month 0 and ``step``).
        """
        if self.window == "initial":
            return float(run[self.output].iloc[0])
        if self.window in _AT_STEP:
            value = float(run.loc[run["step"] == self.step, self.output].iloc[0])
            if self.window == "step":
                return value
            start = float(run.loc[run["step"] == 0, self.output].iloc[0])
            return (value - start) / (self.step / steps_per_year)
        return float(run[self.output].iloc[1:].mean())

    def values(
        self, frames: Mapping[str, pd.DataFrame], target: str, steps_per_year: int
    ) -> pd.Series:
        """One value per replicate seed, in the target's unit.

        ``steps_per_year`` is the arms' ``run.steps_per_year``.
        """
        statistic = functools.partial(self.statistic, steps_per_year=steps_per_year)
        treated = per_run(frames[f"{target}:treated"], statistic)
        if self.contrast == "level":
            return treated * self.scale
        control = per_run(frames[f"{target}:control"], statistic)
        if self.contrast == "difference":
            return (treated - control) * self.scale
        return (treated - control) / control * self.scale


_WINDOWS = ("initial", "horizon_mean", "step", "annual_change")
_AT_STEP = ("step", "annual_change")


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
    "generasi_children_weighed": Measurement(
        "access_health",
        "pmg",
        "step",
        "relative",
        control_scenario="baseline",
        step=12,
        scale=100.0,
        note="`pmg` (government agencies and the community plan and deliver together, as "
        "Generasi's block grants were planned by villages) against `baseline` (each "
        "organization alone, the control villages' services), paired by seed: relative change "
        "in `access_health` at month 12, x 100 (health access read as the monthly probability "
        "of using health services)",
    ),
    "bps_rural_poverty_trend": Measurement(
        "poverty_rate",
        "baseline",
        "annual_change",
        "level",
        step=72,
        scale=100.0,
        note="`baseline` (every organization running its own programme: the status quo), "
        "`poverty_rate` at month 72 minus at month 0, divided by 6 years (the longest span "
        "between the BPS releases read), x 100",
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
    # Arms grouped by how long they run: the initial state needs one step (the least a run
    # may have; step 0 does not depend on the run's length), a survey at month s needs s.
    arms: dict[int, list[Arm]] = {}
    levers: dict[str, dict[str, Any]] = {}
    for t in ids:
        m = MEASUREMENTS[t]
        for name in m.scenarios():  # every arm's overrides checked by the schema first
            if name not in levers:
                levers[name] = _levers(name, common)
        arms.setdefault(m.steps(size), []).extend(m.arms(t, levers[m.scenario], common))
    frames: dict[str, pd.DataFrame] = {}
    for steps, todo in sorted(arms.items()):
        with ArmRunner(dataclasses.replace(size, steps=steps), workers) as runner:
            frames |= runner.run(todo)
    return {t: MEASUREMENTS[t].values(frames, t, _steps_per_year(t, levers)) for t in ids}


def _steps_per_year(target: str, levers: Mapping[str, Mapping[str, Any]]) -> int:
    """The arms' ``run.steps_per_year`` (both arms of an annual change must agree)."""
    m = MEASUREMENTS[target]
    per_scenario = {int(levers[name]["run.steps_per_year"]) for name in m.scenarios()}
    if len(per_scenario) != 1 and m.window == "annual_change":
        raise UserError(
            f"target {target!r}: its arms' scenarios have different run.steps_per_year "
            f"{sorted(per_scenario)}; an annual change needs one calendar"
        )
    return min(per_scenario)  # read only by an annual change


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


MODEL_VALUE_COLUMNS = (
    "target", "value", "ci_low", "ci_high", "replicates", "band_low", "band_high", "within_band",
    "size", "households", "villages", "steps", "root_seed",
)  # fmt: skip
"""The columns of :func:`model_values` (and of the stored ``model_values.csv``)."""


def model_values(
    overrides: Mapping[str, Any],
    size: Size,
    target_ids: Iterable[str] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Each target's model value against its band: one row per target, in the target's unit.

    ``value`` is the mean over replicate seeds and ``ci_low``/``ci_high`` its 95% t-interval
    (run-to-run noise only); ``within_band`` says whether the mean lies in the target's band
    (closed at both ends). The size's fields are repeated on every row, so a stored table says
    how it was computed.
    """
    bands = {t.id: t.band for t in load_evidence().target}
    rows = []
    for t, v in target_replicates(overrides, size, target_ids, workers).items():
        x = v.dropna().to_numpy(dtype=float)
        mean = float(x.mean()) if x.size else float("nan")
        low, high = stats.t_interval(x) if x.size else (float("nan"), float("nan"))
        band_low, band_high = bands[t]
        rows.append(
            {
                "target": t, "value": mean, "ci_low": low, "ci_high": high,
                "replicates": int(x.size), "band_low": band_low, "band_high": band_high,
                "within_band": bool(band_low <= mean <= band_high),
                "size": size.name, "households": size.households, "villages": size.villages,
                "steps": size.steps, "root_seed": size.root_seed,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(MODEL_VALUE_COLUMNS))
