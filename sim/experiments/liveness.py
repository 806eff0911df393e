"""Lever liveness: does each lever move welfare, the poorest, survival or what it acts on?

Every lever of the schema (:func:`sim.scenario.plausible.levers`) is run at the two ends of
its plausible range (:func:`sim.scenario.plausible.plausible_range`), at the shipped defaults
otherwise (the `msp` scenario), through the validation suite's runner
(:class:`~sim.experiments.validation.ArmRunner`: the same replicate seeds for every arm, so
differences are paired). A lever that acts only together with another is run with that other
set (the range's ``context``: e.g. a firm's capability in authority, which the government's
covers in a partnership, is run where firms deliver alone). For each lever and output the
effect is the paired difference high end − low end, with its 95% t-interval.

The outputs: welfare, the poorest quintile's welfare and survival for every lever
(:data:`OUTPUTS`), and the outputs the lever is documented to act on (:data:`ACTS_ON`: the
poverty cutoffs on ``mpi_m0``, audit levers on ``leakage``, ``accountability`` and
``cost_audit``, authority on ``power_balance``...), each by its mean over the run, with a
materiality derived from its declaration in :mod:`sim.scenario.outcomes` (:func:`documented`).

Each lever gets one of three verdicts. **Live**: for at least one output, the interval
excludes zero *and* the estimate reaches that output's materiality; with common random
numbers an effect of 0.0001 can be "significant", and a lever that moves welfare by a
ten-thousandth is dead for a planner. **Dead**: for every output the whole interval lies
within plus or minus the materiality (an equivalence test: the effect is shown to be
immaterial). **Undecided**: neither (too few replicates to tell). A dead lever must be
listed in :data:`LISTED` with the reason it cannot move these outputs, and a listed lever
must not be live; ``tests/test_liveness.py`` checks both at the ``ci`` size.

Example:
    >>> import dataclasses
    >>> tiny = dataclasses.replace(SIZES["ci"], households=60, villages=2, steps=12,
    ...                            replications=2)
    >>> rows = liveness(tiny, levers=["factors.communication"])
    >>> rows[0].lever, list(rows[0].changes)[3:]
    ('factors.communication', ['shared_understanding', 'cost_coordination'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.experiments import stats
from sim.experiments.validation import Arm, ArmRunner, Size, horizon, per_run, retention
from sim.scenario import Scenario
from sim.scenario.outcomes import DECLARED
from sim.scenario.plausible import Range, plausible_range
from sim.scenario.plausible import levers as all_levers

__all__ = [
    "ACTS_ON",
    "LISTED",
    "OUTPUTS",
    "SIZES",
    "WATCHED",
    "Change",
    "LeverRow",
    "Output",
    "acts_on",
    "arms_of",
    "documented",
    "listed_reason",
    "liveness",
    "run_mean",
    "spread",
]

SIZES = {
    # The report (docs/levers.md): the shipped population over ten years.
    "full": Size("full", households=500, villages=10, steps=120, replications=6, root_seed=2026),
    # The test: small and short, enough replicates for the materiality rule to bite.
    "ci": Size("ci", households=60, villages=2, steps=120, replications=2, root_seed=11),
}

SCENARIO = "msp"
"""The shipped defaults every lever is varied around (the default type, all factors good)."""


@dataclass(frozen=True)
class Output:
    """An output of the table: its per-run statistic and the smallest effect that matters.

    ``relative``: the materiality is a share of the output's level in the low arm (for an
    output whose declared range has no upper end, hence no scale of its own).
    """

    name: str
    statistic: Callable[[pd.DataFrame], float]
    materiality: float
    meaning: str
    relative: bool = False

    def threshold(self, level: float) -> float:
        """The materiality for an output at ``level`` (the low arm's mean)."""
        if not self.relative:
            return self.materiality
        return self.materiality * abs(level) if math.isfinite(level) else math.nan


OUTPUTS = (
    Output("welfare", horizon("welfare_mean"), 0.002,
           "mean welfare at the horizon (0-1 index; 0.002 = 0.2 points)"),
    Output("poorest quintile", horizon("welfare_q1"), 0.002,
           "welfare of the poorest 20% by initial income at the horizon (0.002 = 0.2 points)"),
    Output("survival", retention, 0.01,
           "member retention: share of member-months kept (0.01 = one percentage point)"),
)  # fmt: skip
"""The three outputs every lever is judged on, and their materiality thresholds."""

SHARE_OF_RANGE = 0.002
"""Materiality of a documented output with a bounded declared range: this share of the
range's width (0.002 on a 0-1 scale, as welfare: 0.2 points)."""

SHARE_OF_LEVEL = 0.01
"""Materiality of a documented output whose declared range has no upper end (resources per
household, multiples of the poverty line): 1% of its level in the low arm."""


def run_mean(outcome: str) -> Callable[[pd.DataFrame], float]:
    """The outcome's mean over months 1.. of a run.

    Months where it is NaN (after dissolution) are left out; NaN if it is never defined.
    """

    def statistic(run: pd.DataFrame) -> float:
        values = run[outcome].to_numpy(dtype=float)[1:]
        values = values[np.isfinite(values)]
        return float(values.mean()) if values.size else math.nan

    return statistic


def documented(outcome: str) -> Output:
    """The table's output for a declared outcome, with its materiality from the declaration.

    Statistic: the outcome's mean over the run (a cost or a leakage share varies month to
    month; an audit cost falls only in audit months). Materiality: :data:`SHARE_OF_RANGE` of
    the declared range for a bounded outcome, else :data:`SHARE_OF_LEVEL` of its level.

    >>> documented("mpi_m0").materiality, documented("cost_audit").relative
    (0.002, True)
    """
    o = DECLARED[outcome]
    low, high = o.bounds
    if math.isfinite(high):
        m = SHARE_OF_RANGE * (high - low)
        why = f"{SHARE_OF_RANGE:.1%} of its declared range [{low:g}, {high:g}]"
        return Output(outcome, run_mean(outcome), m, f"{o.meaning}; {o.unit}; {m:g} = {why}")
    why = f"{SHARE_OF_LEVEL:.0%} of its level (declared range [{low:g}, ∞): no scale)"
    return Output(outcome, run_mean(outcome), SHARE_OF_LEVEL, f"{o.meaning}; {o.unit}; {why}",
                  relative=True)  # fmt: skip


_LEAKAGE = ("leakage", "accountability")
ACTS_ON: dict[str, tuple[str, ...]] = {
    # What each lever is documented to act on (its meaning in sim/scenario/schema.py and
    # traits.py, and docs/ODD.md), besides welfare, the poorest quintile and survival. A key
    # ending in "." or "_" covers every lever it begins (the longest such key wins).
    "population.income_median": ("income_mean",),
    "population.income_sigma": ("income_gini",),
    "population.initial_access": ("access_mean",),
    "population.initial_capacity": ("capacity_mean",),
    "population.initial_empowerment": ("empowerment_mean",),
    "population.status_gradient": ("welfare_gini",),
    # The households' social graph and trust diffusion act on how trust is spread across
    # households, not on its mean (take-up is linear in trust: docs/ODD.md 7.14).
    "population.ties_within": ("trust_spread",),
    "population.rewiring": ("trust_spread",),
    "population.ties_across": ("trust_spread",),
    "population.villages": _LEAKAGE,
    "organizations.community_inkind": ("pooled_resources",),
    "organizations.firm_coverage": ("delivered",),
    "organizations.ngo_coverage": ("delivered",),
    "organizations.representatives": ("trust_partners",),
    "partnership.commitment": ("pooled_resources",),
    "partnership.meeting_cost": ("cost_coordination",),
    "partnership.miscoordination_cost": ("cost_coordination",),
    "partnership.capability_pooling": ("delivered",),
    "partnership.capability_substitutability": ("delivered",),
    "partnership.promise_basis": ("trust_community",),
    "partnership.funding_horizon": ("service_continuity",),
    "partnership.funding_after": ("service_continuity",),
    "factors.goal_clarity": ("shared_understanding",),
    "factors.power_balance": ("power_balance",),
    "factors.communication": ("shared_understanding", "cost_coordination"),
    "factors.trust": ("trust_partners",),
    "factors.evaluation_interval": ("cost_evaluation", "contribution_rate"),
    "accountability.base_leakage": _LEAKAGE,
    "accountability.audit_probability": (*_LEAKAGE, "cost_audit"),
    "accountability.audit_interval": (*_LEAKAGE, "cost_audit"),
    "accountability.audit_cost": ("cost_audit",),
    "accountability.evaluation_detection": ("contribution_rate",),
    "accountability.evaluation_cost": ("cost_evaluation",),
    "accountability.sanction_fine": ("contribution_rate",),
    "accountability.sanction_reputation": ("contribution_rate",),
    "accountability.audit_deterrence": _LEAKAGE,
    "accountability.role_clarity_effect": _LEAKAGE,
    "accountability.labour_share": _LEAKAGE,
    "accountability.disclosure": _LEAKAGE,
    "accountability.social_audit": (*_LEAKAGE, "cost_participation"),
    "accountability.grassroots_effect": _LEAKAGE,
    "accountability.free_riding_size": _LEAKAGE,
    "accountability.participation_time_cost": ("cost_participation",),
    "accountability.capture_propensity": ("welfare_gini",),
    "dynamics.trust_gain": ("trust_partners",),
    "dynamics.trust_loss": ("trust_partners",),
    "dynamics.susceptibility": ("shared_understanding",),
    "dynamics.self_weight": ("shared_understanding",),
    "dynamics.view_spread": ("shared_understanding",),
    "dynamics.conditional_slope": ("contribution_rate",),
    "dynamics.motivation_weights": ("contribution_rate",),
    "dynamics.procedural_weight": ("contribution_rate",),
    "dynamics.realign_rate": ("shared_understanding",),
    "dynamics.household_diffusion": ("trust_spread",),
    "dynamics.learning_rate": ("delivered",),
    "dynamics.repair_rate": ("trust_partners",),
    "dynamics.understanding_floor": ("delivered",),
    "dynamics.power_authority": ("power_balance", "community_voice"),
    "dynamics.power_resources": ("power_balance", "community_voice"),
    "dynamics.power_legitimacy": ("power_balance", "community_voice"),
    "welfare.access_efficiency": ("access_mean",),
    "welfare.capacity_efficiency": ("capacity_mean",),
    "welfare.empowerment_efficiency": ("empowerment_mean",),
    "welfare.participation_dose": ("empowerment_mean",),
    "welfare.takeup_trust": ("access_mean", "capacity_mean"),
    "welfare.depreciation": ("asset_upkeep", "service_continuity"),
    "welfare.maintenance": ("asset_upkeep",),
    "welfare.om_coverage": ("asset_upkeep",),
    "welfare.om_agency": ("asset_upkeep",),
    "welfare.om_formation": ("om_body",),
    "welfare.om_decay": ("om_body",),
    "welfare.fee_compliance": ("om_body",),
    "welfare.return_capacity": ("income_mean",),
    "welfare.return_infrastructure": ("income_mean",),
    "welfare.deprivation_cutoff": ("mpi_m0",),
    "welfare.poverty_k": ("mpi_m0",),
    "capabilities.": ("delivered",),
    # A service's requirements act on its effectiveness: the access services' on access, the
    # training's on capacity, the participation's on empowerment.
    "requirements.health_": ("delivered", "access_mean"),
    "requirements.education_": ("delivered", "access_mean"),
    "requirements.infrastructure_": ("delivered", "access_mean"),
    "requirements.training_": ("delivered", "capacity_mean"),
    "requirements.participation_": ("delivered", "empowerment_mean"),
    "preferences.": ("delivered",),
    "authority.": ("power_balance", "community_voice"),
}
"""Outputs each lever is documented to act on (judged besides :data:`OUTPUTS`)."""


def acts_on(lever: str) -> tuple[Output, ...]:
    """The documented outputs ``lever`` is also judged on (:data:`ACTS_ON`).

    >>> [o.name for o in acts_on("welfare.poverty_k")], [o.name for o in acts_on("authority.ngo")]
    (['mpi_m0'], ['power_balance', 'community_voice'])
    >>> [o.name for o in acts_on("requirements.training_finance")]
    ['delivered', 'capacity_mean']
    """
    keys = [k for k in ACTS_ON if k == lever or (k[-1] in "._" and lever.startswith(k))]
    names = ACTS_ON[max(keys, key=len)] if keys else ()
    return tuple(documented(n) for n in names)


_SPREAD_NOT_MEAN = (
    "At the defaults the households' social graph shapes the spread of trust across "
    "households (`trust_spread`), not mean welfare: take-up is linear in trust "
    "(`welfare.takeup_trust`), so mean take-up follows mean trust, which averaging along ties "
    "barely moves (no source was found for a convex or threshold take-up rule; docs/ODD.md "
    "7.10, 7.14). "
)
LISTED: dict[str, str] = {
    "population.rewiring": _SPREAD_NOT_MEAN
    + (
        "Rewiring moves a tie's far end to another household of the same village, so each "
        "household keeps about as many ties: the spread is renewed every month by each "
        "household's own experience and narrowed by averaging with its neighbours, as much as "
        "the diffusion weight and the number of ties allow (both live on `trust_spread`), "
        "whoever the neighbours are. Measured at full (500 households, 10 villages): 0.05 to "
        "0.3 moves `trust_spread` by -0.0001 [-0.0008, +0.0006] (materiality 0.001; 18 "
        "replicates: -0.0003 [-0.0007, -0.0000]) and welfare by +0.0000."
    ),
    "population.ties_across": _SPREAD_NOT_MEAN
    + (
        "Cross-village ties narrow the differences between villages, and these are a small "
        "part of the spread: at month 120 the standard deviation of village means is "
        "0.003-0.015 against 0.04 over all households (500 households, 10 villages, 2 seeds); "
        "0 to 0.2 ties per household (about 0.4 more ties each, against 4 within the village) "
        "moves `trust_spread` by -0.0009 [-0.0013, -0.0004] at full (18 replicates: -0.0009 "
        "[-0.0011, -0.0006]), just under its materiality of 0.001, and welfare by -0.0005 to "
        "-0.0006."
    ),
}
"""Levers known not to move welfare, the poorest quintile, survival or what they act on, even
where they act, and why. A key ending in ``.`` would list every lever of that section."""


def listed_reason(lever: str) -> str:
    """Why ``lever`` is listed as not moving the outputs ('' if it is not listed).

    >>> listed_reason("population.rewiring") == LISTED["population.rewiring"]
    True
    >>> listed_reason("factors.trust")
    ''
    """
    if lever in LISTED:
        return LISTED[lever]
    section = lever.split(".")[0] + "."
    return LISTED.get(section, "")


@dataclass(frozen=True)
class Change:
    """A paired difference (high end − low end) with its 95% interval and its materiality.

    A NaN estimate means the output is not defined in the lever's runs (survival without a
    partnership): it is not judged.
    """

    estimate: float
    low: float
    high: float
    threshold: float = math.nan

    @property
    def judged(self) -> bool:
        """Whether the output is defined in the runs (and so judged)."""
        return math.isfinite(self.estimate) and math.isfinite(self.threshold)

    def material(self, threshold: float | None = None) -> bool:
        """Whether the interval excludes zero and the estimate reaches ``threshold``."""
        t = self.threshold if threshold is None else threshold
        beyond_noise = self.low > 0 or self.high < 0
        return bool(beyond_noise and abs(self.estimate) >= t)

    def immaterial(self, threshold: float | None = None) -> bool:
        """Whether the whole interval lies within ``±threshold`` (shown to be immaterial)."""
        t = self.threshold if threshold is None else threshold
        return bool(-t < self.low and self.high < t)


@dataclass(frozen=True)
class LeverRow:
    """One lever of the table: its range, the changes of the outputs, and the verdict.

    ``changes`` holds the three outputs of :data:`OUTPUTS` and then the lever's documented
    outputs (:func:`acts_on`), by name.
    """

    lever: str
    range: Range
    changes: dict[str, Change]

    @property
    def moves(self) -> list[str]:
        """The outputs the lever moves materially."""
        return [name for name, c in self.changes.items() if c.judged and c.material()]

    @property
    def live(self) -> bool:
        """Whether it moves at least one output materially."""
        return bool(self.moves)

    @property
    def dead(self) -> bool:
        """Whether every judged output's change is shown to be immaterial."""
        judged = [c for c in self.changes.values() if c.judged]
        return bool(judged) and all(c.immaterial() for c in judged)

    @property
    def verdict(self) -> str:
        """``live``, ``dead`` or ``undecided``."""
        return "live" if self.live else "dead" if self.dead else "undecided"

    @property
    def listed(self) -> str:
        """The reason it is listed as not moving these outputs ('' if it is not listed)."""
        return listed_reason(self.lever)


def _value(lever: str, end: float) -> object:
    """The lever's value at one end; a tuple lever is scaled as a whole."""
    if lever == "dynamics.motivation_weights":
        return tuple(min(100.0, w * end) for w in Scenario().dynamics.motivation_weights)
    return end


def arms_of(lever: str) -> tuple[Arm, Arm]:
    """The lever's two arms: the shipped scenario at the low and at the high end."""
    r = plausible_range(lever)
    arms = []
    for name, end in (("low", r.low), ("high", r.high)):
        overrides = tuple(sorted({**dict(r.context), lever: _value(lever, end)}.items()))
        arms.append(Arm(f"{lever} {name}", SCENARIO, overrides))
    return arms[0], arms[1]


def _change(high: pd.Series, low: pd.Series, output: Output) -> Change:
    pairs = pd.concat([high, low], axis=1).dropna().to_numpy(dtype=float)
    if pairs.shape[0] == 0:
        return Change(math.nan, math.nan, math.nan)
    diff = pairs[:, 0] - pairs[:, 1]
    lo, hi = stats.t_interval(diff)
    return Change(float(diff.mean()), float(lo), float(hi), output.threshold(pairs[:, 1].mean()))


WATCHED = ("power_balance", "shared_understanding", "trust_partners", "contribution_rate")
"""Outputs whose spread over the table's runs is reported: do they move, or saturate?"""


def spread(frames: dict[str, pd.DataFrame], outcome: str) -> tuple[float, ...]:
    """The outcome at the horizon over every run of ``frames``: min, 5%, 50%, 95%, max.

    Runs where it is undefined at the horizon (the partnership dissolved) are left out.

    >>> run = pd.DataFrame({"seed": [1, 1, 2, 2], "x": [0.0, 0.5, 0.0, float("nan")]})
    >>> spread({"a": run}, "x")
    (0.5, 0.5, 0.5, 0.5, 0.5)
    """
    values = pd.concat([per_run(df, horizon(outcome)) for df in frames.values()]).dropna()
    if values.empty:
        return (math.nan,) * 5
    q = np.quantile(values.to_numpy(dtype=float), [0.0, 0.05, 0.5, 0.95, 1.0])
    return tuple(float(v) for v in q)


def liveness(
    size: Size,
    workers: int = 1,
    levers: Sequence[str] | None = None,
    progress: bool = False,
    spreads: dict[str, tuple[float, ...]] | None = None,
) -> list[LeverRow]:
    """Every lever (or ``levers``) at its plausible ends: the table's rows, in schema order.

    If ``spreads`` is given, it is filled with :func:`spread` of each :data:`WATCHED` output
    over every run of the table.
    """
    names = list(levers) if levers is not None else all_levers()
    pairs = {name: arms_of(name) for name in names}
    with ArmRunner(size, workers=workers, progress=progress) as runner:
        out = runner.run([a for pair in pairs.values() for a in pair])
    if spreads is not None:
        unique = {a.key(size): out[a.label] for pair in pairs.values() for a in pair}
        spreads.update({name: spread(unique, name) for name in WATCHED})
    rows = []
    for name, (low, high) in pairs.items():
        changes = {
            o.name: _change(
                per_run(out[high.label], o.statistic), per_run(out[low.label], o.statistic), o
            )
            for o in (*OUTPUTS, *acts_on(name))
        }
        rows.append(LeverRow(name, plausible_range(name), changes))
    return rows
