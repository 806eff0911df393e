"""Pattern-oriented validation: the ten patterns of docs/ODD.md (section 1.2) as experiments.

Each pattern is an experiment on the shipped scenarios (``scenarios/*.toml``) plus a few
overrides, run with replications and common random numbers (every arm uses the same replicate
seeds from :func:`sim.experiments.replicate_seeds`), and judged by a stated statistical
criterion: the 95% t-interval of a paired (by replicate seed) difference lies wholly on the
predicted side of zero (Grimm et al. 2005, Science 310:987: several patterns at once, none of
them written into the code).

Two sizes: ``full`` for the report (``python run_simulation.py validate``, which writes
``docs/validation.md``) and ``ci``, small and fixed-seed, for ``tests/test_validation.py``.

Breaches and early wins are caused at the level of mechanism, not of outcome: a
:class:`ContributionShock` caps (or floors) what named members contribute during a window of
steps, as a partner that defaults (or over-delivers) would. What happens to trust, beliefs,
contributions, membership and welfare afterwards is left to the model.

Example:
    >>> import dataclasses
    >>> tiny = dataclasses.replace(SIZES["ci"], households=60, steps=12, replications=3)
    >>> res = run_pattern(10, tiny)
    >>> res.title, [e.label for e in res.effects][:1]
    ('Community inclusion builds empowerment', ['empowerment: psp − ppp'])
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments import stats
from sim.experiments.disk import write_atomic
from sim.experiments.runs import Runner
from sim.experiments.tasks import RunTask, replicate_seeds
from sim.mechanisms.partnership import Partnership
from sim.model.model import PartnershipModel
from sim.paths import DOCS, SCENARIOS
from sim.scenario import Scenario, lever_table, load_scenario

__all__ = [
    "PATTERNS",
    "SIZES",
    "ArmRunner",
    "ContributionShock",
    "Effect",
    "PatternResult",
    "ShockedModel",
    "Size",
    "command",
    "paired_effect",
    "run_pattern",
    "run_suite",
]

SCENARIO_DIR = SCENARIOS


# ----------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Size:
    """How large a validation run is: population, horizon, replications and root seed."""

    name: str
    households: int
    villages: int
    steps: int
    replications: int
    root_seed: int


SIZES = {
    # The report: the shipped population (500 households in 10 villages) over ten years.
    "full": Size("full", households=500, villages=10, steps=120, replications=30, root_seed=2026),
    # The test suite: small villages keep the free-riding contrast (village size 50 is kept
    # by using 3 villages of 50), six years are enough for every pattern to show.
    "ci": Size("ci", households=150, villages=3, steps=72, replications=8, root_seed=7),
}


# ----------------------------------------------------------------------------- shocks
@dataclass(frozen=True)
class ContributionShock:
    """Named members fulfil at most (``cap``) or at least (``floor``) ``level`` of their promise.

    Active during steps ``start..end`` (inclusive; step t is the t-th call of ``step``). A cap
    models a partner that defaults (a breach of trust, Slovic 1993); a floor models partners
    that deliver in full early on (small wins, Ansell & Gash 2008). ``members`` are node ids;
    ``("*",)`` means every member. Members that have left are ignored.
    """

    members: tuple[str, ...]
    start: int
    end: int
    level: float
    kind: str = "cap"

    def __post_init__(self) -> None:
        if self.kind not in ("cap", "floor"):
            raise ValueError(f"kind must be 'cap' or 'floor'; got {self.kind!r}")
        if not 0.0 <= self.level <= 1.0:
            raise ValueError(f"level must be in [0, 1]; got {self.level}")
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")


class ShockedModel(PartnershipModel):
    """A :class:`~sim.model.PartnershipModel` with contribution shocks and a trust probe.

    After the members decide their contributions (phase 3), active shocks cap or floor the
    named members' contributions before they are pooled (the model's ``on_contribute`` hook);
    nothing else changes. If
    ``probe`` names a member, the other members' mean trust in it is recorded after every step
    (column ``trust_in_probe``; NaN once it or the partnership is gone).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        shocks: Sequence[ContributionShock] = (),
        probe: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.shocks = tuple(shocks)
        self.probe = probe
        self._probe_values: list[float] = []
        super().__init__(scenario, **kwargs)
        self._probe_values.append(self._trust_in_probe())

    def on_contribute(self, p: Partnership) -> None:
        """The model's hook after phase 3's decisions: active shocks cap or floor them."""
        for shock in self.shocks:
            if not shock.start <= self.steps <= shock.end:
                continue
            for i, node in enumerate(p.members):
                if shock.members != ("*",) and node not in shock.members:
                    continue
                k = p.contribution[i]
                p.contribution[i] = (
                    min(k, shock.level) if shock.kind == "cap" else max(k, shock.level)
                )

    def step(self) -> None:
        """One step of the model, then the trust probe is recorded."""
        super().step()
        self._probe_values.append(self._trust_in_probe())

    def _trust_in_probe(self) -> float:
        p = self.active_partnership
        if self.probe is None or p is None or self.probe not in p.members:
            return float("nan")
        j = p.members.index(self.probe)
        t = self.trust_matrix()
        others = [i for i in range(p.size) if i != j]
        return float(t[others, j].mean())

    def results(self) -> pd.DataFrame:
        """The model's tidy table, with ``trust_in_probe`` if a probe is set."""
        df = super().results()
        if self.probe is not None:  # one probe value per step from 0; the rows' steps pick
            df["trust_in_probe"] = [self._probe_values[t] for t in df["step"]]
        return df


# ----------------------------------------------------------------------------- arms and runs
@dataclass(frozen=True)
class Arm:
    """One condition of an experiment: a shipped scenario, overrides, and shocks."""

    label: str
    scenario: str
    overrides: tuple[tuple[str, Any], ...] = ()
    shocks: tuple[ContributionShock, ...] = ()
    probe: str | None = None

    def build(self, size: Size) -> Scenario:
        base = load_scenario(SCENARIO_DIR / f"{self.scenario}.toml")
        levers = {
            "population.households": size.households,
            "population.villages": size.villages,
            "run.steps": size.steps,
            **dict(self.overrides),
        }
        return base.with_overrides(levers)

    def key(self, size: Size) -> str:
        shocks = [s.__dict__ for s in self.shocks]
        return json.dumps(
            [
                self.build(size).model_dump(mode="json", exclude={"name", "description"}),
                shocks,
                self.probe,
            ],
            sort_keys=True,
        )


def arm(label: str, scenario: str, shocks=(), probe=None, **overrides: Any) -> Arm:
    """An :class:`Arm`; overrides use dotted keys with ``__`` for the dot (``factors__trust``)."""
    items = tuple(sorted((k.replace("__", "."), v) for k, v in overrides.items()))
    return Arm(label, scenario, items, tuple(shocks), probe)


class ArmRunner:
    """Runs arms with common random numbers and caches them (arms shared across patterns).

    Every arm runs through the one runner (:class:`sim.experiments.runs.Runner`) as a
    :class:`ShockedModel` with the arm's shocks and probe, on the same replicate seeds.
    """

    def __init__(self, size: Size, workers: int = 1, progress: bool = False) -> None:
        self.size = size
        self.progress = progress
        self.seeds = replicate_seeds(size.root_seed, size.replications)
        self._cache: dict[str, pd.DataFrame] = {}
        self._runner = Runner(workers)

    def close(self) -> None:
        """Shut down the worker processes, if any."""
        self._runner.close()

    def __enter__(self) -> ArmRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, arms: Sequence[Arm]) -> dict[str, pd.DataFrame]:
        """One tidy frame per arm label (every replicate, every step)."""
        todo: dict[str, Arm] = {}
        for a in arms:
            k = a.key(self.size)
            if k not in self._cache and k not in todo:
                todo[k] = a
        tasks, keys = [], []
        for k, a in todo.items():
            config = a.build(self.size).to_dict()
            model = partial(ShockedModel, shocks=a.shocks, probe=a.probe)
            for r, seed in enumerate(self.seeds):
                run_id = str(len(tasks))
                tasks.append(
                    RunTask(run_id, config, a.label, 0, r, seed, self.size.steps, model=model)
                )
                keys.append(k)
        frames = [result.payload for result in self._runner.run(tasks)]
        for k in todo:
            self._cache[k] = pd.concat([f for kk, f in zip(keys, frames, strict=True) if kk == k])
        if self.progress and todo:
            print(f"  ran {len(tasks)} runs", file=sys.stderr)
        return {a.label: self._cache[a.key(self.size)].assign(scenario=a.label) for a in arms}


# ----------------------------------------------------------------------------- statistics
def per_run(df: pd.DataFrame, statistic: Callable[[pd.DataFrame], float]) -> pd.Series:
    """One value per replicate seed: ``statistic`` of each run's time series."""
    return df.groupby("seed", sort=True).apply(statistic, include_groups=False).astype(float)


def horizon(outcome: str) -> Callable[[pd.DataFrame], float]:
    """The outcome at the last recorded step."""
    return lambda run: float(run[outcome].iloc[-1])


def survival_time(run: pd.DataFrame) -> float:
    """Months the partnership stayed active (censored at the horizon)."""
    return float(run["partnership_active"].iloc[1:].sum())


def survived(run: pd.DataFrame) -> float:
    """1 if the partnership is active at the horizon."""
    return float(run["partnership_active"].iloc[-1])


def retention(run: pd.DataFrame) -> float:
    """Share of member-months retained: mean over steps of size / initial size."""
    size = run["partnership_size"].to_numpy()
    return float(size[1:].mean() / size[0]) if size[0] > 0 else float("nan")


@dataclass
class Effect:
    """A paired effect (arm − reference, matched by seed) with its 95% t-interval."""

    label: str
    estimate: float
    low: float
    high: float
    n: int
    direction: int  # +1: predicted above zero; -1: below zero
    unit: str = ""

    @property
    def passed(self) -> bool:
        """Whether the interval lies wholly on the predicted side of zero."""
        if not np.isfinite(self.low) or not np.isfinite(self.high):
            return False
        return bool(self.low > 0 if self.direction > 0 else self.high < 0)

    @property
    def p_value(self) -> float:
        """One-sided p-value of the paired t-test in the predicted direction.

        Recovered from the 95% interval (its half-width is ``t(0.975, n − 1)`` standard
        errors); 1 when there is no interval (fewer than two pairs).

        Example:
            >>> e = paired_effect("x", pd.Series([1.0, 2.0, 3.0]), 0.0, +1)
            >>> round(e.p_value, 4)  # t = 2 / (1 / sqrt(3)) = 3.464 on 2 df
            0.0371
        """
        return stats.one_sided_p(self.estimate, self.low, self.high, self.n, self.direction)

    def row(self) -> dict[str, Any]:
        """The effect as a table row."""
        return {
            "effect": self.label,
            "estimate": self.estimate,
            "ci_low": self.low,
            "ci_high": self.high,
            "n": self.n,
            "predicted": ">0" if self.direction > 0 else "<0",
            "passed": self.passed,
        }


def paired_effect(
    label: str, values: pd.Series, reference: pd.Series | float, direction: int, unit: str = ""
) -> Effect:
    """Paired difference ``values − reference`` with a 95% t-interval.

    Example:
        >>> e = paired_effect("x", pd.Series([1.0, 2.0, 3.0]), pd.Series([0.0, 0.5, 1.0]), +1)
        >>> round(e.estimate, 3), e.passed
        (1.5, True)
    """
    diff = values - reference
    diff = diff.dropna().to_numpy(dtype=float)
    mean = float(diff.mean()) if diff.size else float("nan")
    low, high = stats.t_interval(diff) if diff.size else (float("nan"), float("nan"))
    return Effect(label, mean, low, high, diff.size, direction, unit)


# ----------------------------------------------------------------------------- results
@dataclass
class PatternResult:
    """One pattern's claim, sources, experiment, criterion, effects and verdict."""

    number: int
    title: str
    claim: str
    sources: str
    experiment: str
    criterion: str
    effects: list[Effect]
    figure: Callable[[], Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every effect is as predicted."""
        return bool(self.effects) and all(e.passed for e in self.effects)

    def table(self) -> pd.DataFrame:
        """The effects as a table."""
        return pd.DataFrame([e.row() for e in self.effects])


def _fmt_p(p: float) -> str:
    """A p-value for the report; 0 (every pair moved the same way by the same amount) as such.

    >>> _fmt_p(0.0), _fmt_p(2.2e-6)
    ('0 (no spread)', '2.2e-06')
    """
    return "0 (no spread)" if p == 0.0 else f"{p:.2g}"


def holm(effects: Sequence[Effect], alpha: float = 0.025) -> list[bool]:
    """Which effects hold with the family-wise error rate kept at ``alpha`` (Holm 1979).

    Holm's step-down procedure over the one-sided p-values: sorted ascending, the i-th
    smallest (i = 1..M) must be at most ``alpha / (M − i + 1)``; the first that is not stops
    the procedure, and it and every larger one do not hold. At least as powerful as
    Bonferroni, valid under any dependence between the tests (Holm 1979, Scand. J. Stat.
    6:65). The default, one-sided 2.5%, is the level of a two-sided 95% interval: an effect
    alone holds exactly when its interval lies on the predicted side.

    Example:
        >>> es = [Effect("a", 1.0, 0.9, 1.1, 30, +1), Effect("b", 1.0, 0.05, 1.95, 30, +1),
        ...       Effect("c", 0.1, -0.2, 0.4, 30, +1)]
        >>> [e.passed for e in es], holm(es)  # b's interval alone is above 0, not with a and c
        ([True, True, False], [True, False, False])
    """
    return stats.holm([e.p_value for e in effects], alpha)


def family_wise(results: Sequence[PatternResult]) -> tuple[dict[int, bool], dict[int, bool]]:
    """The family-wise verdicts of a suite run: Holm over every effect of every pattern run.

    Returns whether each effect holds (keyed by ``id(effect)``) and whether each pattern
    passes (keyed by its number): every one of its effects holds.
    """
    every = [e for r in results for e in r.effects]
    holds = {id(e): h for e, h in zip(every, holm(every), strict=True)}
    passes = {r.number: bool(r.effects) and all(holds[id(e)] for e in r.effects) for r in results}
    return holds, passes


# ----------------------------------------------------------------------------- the patterns
TYPES = ("ppp", "psp", "pmg", "msp")
FRAGILE = {"partnership__exit_threshold": 0.4}
"""Demanding partners: leave when mean trust stays below 0.4 (shipped 0.3) for a year."""
FACTOR_SCENARIOS = {
    "goal clarity": "msp_unclear_goals",
    "power balance": "msp_power_imbalance",
    "communication": "msp_poor_communication",
    "trust": "msp_low_trust",
    "evaluation": "msp_no_evaluation",
}


def pattern_1(r: ArmRunner) -> PatternResult:
    arms = [arm("baseline", "baseline")] + [arm(t, t) for t in TYPES]
    out = r.run(arms)
    ref = per_run(out["baseline"], horizon("welfare_mean"))
    effects = [
        paired_effect(f"{t} − baseline", per_run(out[t], horizon("welfare_mean")), ref, +1)
        for t in TYPES
    ]
    return PatternResult(
        1,
        "Partnerships pay",
        "Every functioning partnership type beats the no-partnership baseline on horizon "
        "welfare with the same total resources (pooling and complementary expertise).",
        "Bryson, Crosby & Stone 2006; Ostrom 1996",
        "`baseline` (every organization alone, same budgets and the same committed share) "
        "against `ppp`, `psp`, `pmg` and `msp`; outcome: mean welfare at the horizon.",
        "For each type, the 95% interval of the paired difference (type − baseline) lies "
        "above zero.",
        effects,
        figure=lambda: _fig_bands(out, ["welfare_mean"], "P1: welfare by partnership type"),
    )


def pattern_2(r: ArmRunner) -> PatternResult:
    arms = [arm("msp", "msp")] + [arm(s, s) for s in FACTOR_SCENARIOS.values()]
    out = r.run(arms)
    ref_w = per_run(out["msp"], horizon("welfare_mean"))
    effects = [
        paired_effect(
            f"{factor}: welfare ({s} − msp)",
            per_run(out[s], horizon("welfare_mean")),
            ref_w,
            -1,
        )
        for factor, s in FACTOR_SCENARIOS.items()
    ]
    fragile = r.run(
        [arm("msp", "msp", **FRAGILE)] + [arm(s, s, **FRAGILE) for s in FACTOR_SCENARIOS.values()]
    )
    ref_s = per_run(fragile["msp"], retention)
    effects += [
        paired_effect(
            f"{factor}: member retention ({s} − msp)", per_run(fragile[s], retention), ref_s, -1
        )
        for factor, s in FACTOR_SCENARIOS.items()
    ]
    notes = []
    for label, df in out.items():
        notes.append(
            f"`{label}`, shipped exit threshold 0.3: active at the horizon in "
            f"{per_run(df, survived).mean():.0%} of runs, member retention "
            f"{per_run(df, retention).mean():.2f}; with demanding partners (0.4): retention "
            f"{per_run(fragile[label], retention).mean():.2f}"
        )
    return PatternResult(
        2,
        "Each success factor matters",
        "Degrading any one of the essay's five success factors (goal clarity, power balance, "
        "communication, trust, evaluation) lowers horizon welfare and partnership survival "
        "against the same partnership with all factors good.",
        "the essay; Ansell & Gash 2008; Emerson, Nabatchi & Balogh 2012",
        "`msp` against each shipped `msp_*` scenario (one factor degraded). Outcomes: mean "
        "welfare at the horizon; and survival as member retention, the share of member-months "
        "the partnership keeps (1 = every member stays to the horizon; dissolution and single "
        "exits both lower it). At the shipped exit threshold (0.3) the all-good `msp` and most "
        "degraded ones keep every member for ten years, a ceiling at which survival cannot "
        "fall; survival is therefore compared among demanding partners (exit threshold 0.4, "
        "the same in both arms), where it is in doubt.",
        "For each factor, the 95% intervals of both paired differences (degraded − msp) lie "
        "below zero.",
        effects,
        figure=lambda: _fig_effects(effects, "P2: effect of degrading one factor"),
        notes=notes,
    )


def pattern_3(r: ArmRunner) -> PatternResult:
    # Survival is compared among demanding partners (FRAGILE), where it is in doubt.
    levels = (0.3, 0.35, 0.7)
    prehistory = [arm(f"trust {t}", "msp", factors__trust=t, **FRAGILE) for t in levels]
    context = {"factors__trust": 0.35, **FRAGILE}
    early = [
        arm("setback", "msp", shocks=[ContributionShock(("*",), 1, 6, 0.5)], **context),
        arm("early wins", "msp", shocks=[ContributionShock(("*",), 1, 6, 1.0, "floor")], **context),
    ]
    out = r.run(prehistory + early)
    ret = {k: per_run(v, retention) for k, v in out.items()}
    effects = [
        paired_effect(
            "prehistory: retention, trust 0.35 − trust 0.3", ret["trust 0.35"], ret["trust 0.3"], +1
        ),
        paired_effect(
            "prehistory: retention, trust 0.7 − trust 0.35", ret["trust 0.7"], ret["trust 0.35"], +1
        ),
        paired_effect(
            "early wins − no shock (trust 0.35): retention",
            ret["early wins"],
            ret["trust 0.35"],
            +1,
        ),
        paired_effect(
            "setback − no shock (trust 0.35): retention", ret["setback"], ret["trust 0.35"], -1
        ),
    ]
    notes = [
        f"`{k}`: active at the horizon in {per_run(v, survived).mean():.0%} of runs, member "
        f"retention {ret[k].mean():.2f}, mean survival {per_run(v, survival_time).mean():.1f} "
        "months"
        for k, v in out.items()
    ]
    return PatternResult(
        3,
        "Small wins and path dependence",
        "Higher initial trust or early success raises the chance the partnership survives; a "
        "bad prehistory lowers it.",
        "Ansell & Gash 2008 (prehistory of cooperation or conflict; small wins); Vangen & "
        "Huxham 2003",
        "`msp` among demanding partners (exit threshold 0.4) with initial trust (prehistory) "
        "0.3, 0.35 and 0.7. Then, at trust 0.35: every member delivers at least its full "
        "promise in months 1–6 (early wins) or at most half of it (an early setback), against "
        "no shock. Outcome: member retention (share of member-months kept to the horizon).",
        "The 95% interval of each paired difference lies on the predicted side of zero.",
        effects,
        figure=lambda: _fig_survival(out, "P3: share of partnerships still active"),
        notes=notes,
    )


BREACH_MEMBER = "firm_0"
BREACH = (37, 42)


def _breach_times(breach: pd.DataFrame, clean: pd.DataFrame) -> pd.DataFrame:
    """Fall and recovery times of trust in the breaching member, from the paired gap.

    gap(t) = trust_in_probe(breach run) − trust_in_probe(clean run), same seed. Fall time:
    months from the breach's start until the gap first reaches 90% of its extreme; recovery
    time: months from the extreme until the gap first closes to 10% of it (censored at the
    horizon).
    """
    rows = []
    start = BREACH[0]
    for seed, b in breach.groupby("seed"):
        c = clean[clean["seed"] == seed]
        gap = b["trust_in_probe"].to_numpy() - c["trust_in_probe"].to_numpy()
        window = gap[start:]
        if not np.isfinite(window).any():
            continue
        window = np.where(np.isfinite(window), window, 0.0)
        k = int(np.argmin(window))
        depth = window[k]
        if depth >= 0:
            continue
        fall = int(np.argmax(window <= 0.9 * depth)) + 1
        after = window[k:]
        closed = np.nonzero(after >= 0.1 * depth)[0]
        recovery = int(closed[0]) if closed.size else after.size
        rows.append({"seed": seed, "fall": fall, "recovery": recovery, "depth": -depth})
    return pd.DataFrame(rows).set_index("seed")


def pattern_4(r: ArmRunner) -> PatternResult:
    shock = ContributionShock((BREACH_MEMBER,), BREACH[0], BREACH[1], 0.0)
    out = r.run(
        [
            arm("clean", "msp", probe=BREACH_MEMBER),
            arm("breach", "msp", shocks=[shock], probe=BREACH_MEMBER),
        ]
    )
    times = _breach_times(out["breach"], out["clean"])
    effects = [
        paired_effect("recovery − fall (months)", times["recovery"], times["fall"], +1, "months")
    ]
    notes = [
        f"mean fall {times['fall'].mean():.1f} months, mean recovery "
        f"{times['recovery'].mean():.1f} months (ratio "
        f"{times['recovery'].mean() / times['fall'].mean():.1f}); mean depth of the fall "
        f"{times['depth'].mean():.3f}",
    ]
    return PatternResult(
        4,
        "Trust builds slowly and breaks fast",
        "After a breach, recovery takes longer than the fall.",
        "Slovic 1993; Poortinga & Pidgeon 2004",
        f"`msp`; one firm (`{BREACH_MEMBER}`) contributes nothing in months "
        f"{BREACH[0]}–{BREACH[1]} (a breach), then decides freely again. The same seed without "
        "the breach is the counterfactual: the gap in the other members' mean trust in the "
        "firm isolates the breach. Fall: months from the breach until 90% of the largest gap; "
        "recovery: months from the largest gap until 90% of it has closed (censored at the "
        "horizon).",
        "The 95% interval of the paired difference (recovery − fall) lies above zero.",
        effects,
        figure=lambda: _fig_breach(out),
        notes=notes,
    )


def pattern_5(r: ArmRunner) -> PatternResult:
    silent = {
        "factors__communication": 0.0,
        "factors__evaluation_interval": 0,
        "accountability__audit_probability": 0.0,
    }
    arms = [
        arm("neither", "msp", **silent),
        arm("communication", "msp", **{**silent, "factors__communication": 0.8}),
        arm("evaluation", "msp", **{**silent, "factors__evaluation_interval": 12}),
        arm("audits", "msp", **{**silent, "accountability__audit_probability": 1.0}),
    ]
    out = r.run(arms)
    early = lambda run: float(run["contribution_rate"].iloc[1])  # noqa: E731
    late = lambda run: float(run["contribution_rate"].iloc[1:25].iloc[-6:].mean())  # noqa: E731
    none_late = per_run(out["neither"], late)
    effects = [
        paired_effect(
            "decay without either: late − first month",
            none_late,
            per_run(out["neither"], early),
            -1,
        ),
    ]
    effects += [
        paired_effect(f"{k} − neither (months 19–24)", per_run(out[k], late), none_late, +1)
        for k in ("communication", "evaluation", "audits")
    ]
    return PatternResult(
        5,
        "Cooperation decays without communication or monitoring",
        "Contributions fall over repeated rounds unless communication, evaluation or audits "
        "sustain them.",
        "Fischbacher & Gächter 2010; Fehr & Gächter 2000; Balliet 2010",
        "`msp` with no channel between partners (communication 0), no joint evaluation and no "
        "audits, against the same with only good communication (0.8), only yearly evaluation, "
        "or only certain audits (probability 1 per year). Outcome: the members' mean "
        "contribution (share of promise) in months 19–24, the two years of a long "
        "public-goods experiment.",
        "Without either, the contribution of months 19–24 is below that of month 1; each "
        "sustaining arm lies above it (95% intervals of the paired differences).",
        effects,
        figure=lambda: _fig_bands(
            {k: v[v["step"] <= 36] for k, v in out.items()},
            ["contribution_rate"],
            "P5: contributions over the first three years",
        ),
    )


def _gap_closed(outcome: str, step: int | None = None) -> Callable[[pd.DataFrame], float]:
    """Share of the initial gap to 1 closed by ``step`` (default: the horizon)."""

    def f(run: pd.DataFrame) -> float:
        x = run[outcome].to_numpy()
        at = x[-1] if step is None else x[min(step, x.size - 1)]
        return float((at - x[0]) / (1.0 - x[0]))

    return f


EARLY = 24
"""Months after which "sooner" is judged (two years, before Casey et al.'s four)."""


def pattern_6(r: ArmRunner) -> PatternResult:
    out = r.run([arm("msp", "msp")])
    df = out["msp"]
    effects = [
        paired_effect(
            f"gap closed by month {EARLY}: access − empowerment",
            per_run(df, _gap_closed("access_mean", EARLY)),
            per_run(df, _gap_closed("empowerment_mean", EARLY)),
            +1,
        ),
        paired_effect(
            "gap closed by the horizon: access − empowerment",
            per_run(df, _gap_closed("access_mean")),
            per_run(df, _gap_closed("empowerment_mean")),
            +1,
        ),
    ]
    return PatternResult(
        6,
        "Material gains before institutional ones",
        "Access improves sooner and more than empowerment.",
        "Casey, Glennerster & Miguel 2012; Mansuri & Rao 2013",
        "`msp` (the partnership that delivers participation as well as access). Per run: the "
        "share of the initial gap to 1 closed, for access and for empowerment, after two "
        "years (sooner) and at the horizon (more).",
        "Access closes a larger share of its gap than empowerment both after two years and "
        "at the horizon (95% intervals of the paired differences above zero).",
        effects,
        figure=lambda: _fig_bands(
            out, ["access_mean", "empowerment_mean"], "P6: access and empowerment under msp"
        ),
    )


def pattern_7(r: ArmRunner) -> PatternResult:
    out = r.run(
        [
            arm("msp", "msp"),
            arm("msp_power_imbalance", "msp_power_imbalance"),
            arm(
                "imbalance, no capture",
                "msp_power_imbalance",
                accountability__capture_propensity=0.0,
            ),
        ]
    )
    q1 = per_run(out["msp_power_imbalance"], horizon("welfare_q1")) - per_run(
        out["msp"], horizon("welfare_q1")
    )
    mean = per_run(out["msp_power_imbalance"], horizon("welfare_mean")) - per_run(
        out["msp"], horizon("welfare_mean")
    )
    base = per_run(out["msp"], horizon("welfare_mean"))
    # Capture alone: the same imbalance with and without status-steered targeting.
    cap_q1 = per_run(out["msp_power_imbalance"], horizon("welfare_q1")) - per_run(
        out["imbalance, no capture"], horizon("welfare_q1")
    )
    cap_mean = per_run(out["msp_power_imbalance"], horizon("welfare_mean")) - per_run(
        out["imbalance, no capture"], horizon("welfare_mean")
    )
    effects = [
        paired_effect("poorest quintile: imbalance − msp", q1, 0.0, -1),
        paired_effect("poorest quintile loss − mean loss", q1, mean, -1),
        paired_effect("capture alone: poorest quintile loss − mean loss", cap_q1, cap_mean, -1),
    ]
    notes = [
        f"cost of the imbalance to mean welfare: {(-mean / base).mean():.1%} (capture, weaker "
        "community voice and the lower contributions of partners without a say together)",
        f"aggregate cost of capture alone: {(-cap_mean / base).mean():.1%} of mean welfare, "
        f"against {(-cap_q1).mean():.4f} for the poorest quintile "
        f"({(-cap_q1 / per_run(out['msp'], horizon('welfare_q1'))).mean():.1%} of its welfare)",
    ]
    return PatternResult(
        7,
        "Power shapes who gains",
        "With power concentrated away from the community, the poorest quintile gains less "
        "(elite capture) even where mean welfare holds up; the aggregate cost of capture is "
        "modest.",
        "Alatas et al. 2013; Mansuri & Rao 2004; Platteau 2004",
        "`msp` against `msp_power_imbalance` (decisions follow raw power); and, to isolate "
        "elite capture, `msp_power_imbalance` with and without status-steered targeting "
        "(`capture_propensity` 0.5 vs 0). Outcomes at the horizon: welfare of the poorest 20% "
        "by initial income, and mean welfare.",
        "The poorest quintile's welfare is lower under the imbalance, and its loss is larger "
        "than the loss in mean welfare, both for the imbalance as a whole and for capture "
        "alone (95% intervals below zero).",
        effects,
        figure=lambda: _fig_bands(out, ["welfare_mean", "welfare_q1"], "P7: who gains"),
        notes=notes,
    )


def pattern_8(r: ArmRunner) -> PatternResult:
    arms = [
        arm("status quo", "msp"),
        arm("audits", "msp", accountability__audit_probability=1.0),
        arm("grassroots", "msp", accountability__grassroots_effect=1.0),
        arm(
            "grassroots, no free-riding",
            "msp",
            accountability__grassroots_effect=1.0,
            accountability__free_riding_size=1e6,  # the largest allowed: no free-riding
        ),
    ]
    out = r.run(arms)
    leak = lambda run: float(run["leakage"].iloc[1:].mean())  # noqa: E731
    v = {k: per_run(df, leak) for k, df in out.items()}
    effects = [
        paired_effect("leakage: grassroots − audits", v["grassroots"], v["audits"], +1),
        paired_effect("audits − status quo", v["audits"], v["status quo"], -1),
        paired_effect(
            "grassroots cut: free-riding − none",
            v["status quo"] - v["grassroots"],
            v["status quo"] - v["grassroots, no free-riding"],
            -1,
        ),
    ]
    cut = (v["status quo"] - v["audits"]).mean()
    notes = [
        f"audits cut leakage by {100 * cut:.1f} points from {100 * v['status quo'].mean():.1f}% "
        f"({cut / v['status quo'].mean():.0%}); Olken (2007): about 8 points from about 28% "
        "(about 30%)",
    ]
    return PatternResult(
        8,
        "Audits beat weak grassroots monitoring",
        "Raising the audit probability cuts leakage more than grassroots monitoring does when "
        "free-riding is present.",
        "Olken 2007; Olson 1965; Björkman & Svensson 2009",
        "`msp` at the status quo (audit probability 4% a year), with certain audits "
        "(probability 1), or with grassroots monitoring at full strength (`grassroots_effect` "
        "= 1) in villages of 50 households, where free-riding halves monitoring at 25 "
        "(`free_riding_size`), and the same without free-riding. Outcome: mean leakage over "
        "the run.",
        "Leakage is higher with grassroots monitoring than with audits; audits cut it against "
        "the status quo; free-riding shrinks what grassroots monitoring achieves (95% "
        "intervals).",
        effects,
        figure=lambda: _fig_bars(
            {k: x for k, x in v.items()},
            "Mean leakage share",
            "P8: leakage under audits and grassroots monitoring",
        ),
        notes=notes,
    )


def pattern_9(r: ArmRunner) -> PatternResult:
    arms = [arm(t, t) for t in TYPES] + [
        arm(f"{t} poor comm.", t, factors__communication=0.2) for t in TYPES
    ]
    out = r.run(arms)
    w = {k: per_run(v, horizon("welfare_mean")) for k, v in out.items()}
    loss = {t: w[f"{t} poor comm."] - w[t] for t in TYPES}
    effects = [
        paired_effect(f"msp − {t} (good communication)", w["msp"], w[t], +1) for t in TYPES[:3]
    ]
    effects += [
        paired_effect(f"loss from poor communication: msp − {t}", loss["msp"], loss[t], -1)
        for t in TYPES[:3]
    ]
    return PatternResult(
        9,
        "Multi-stakeholder partnerships: highest potential, highest coordination cost",
        "`msp` is best with good communication and is hurt more than smaller partnerships by "
        "poor communication.",
        "Provan & Kenis 2008; Bryson, Crosby & Stone 2006",
        "Each type at good (0.8, shipped) and poor (0.2) communication. Outcome: mean welfare "
        "at the horizon; the loss from poor communication is compared between `msp` and each "
        "smaller type (a paired difference in differences).",
        "`msp` beats every other type at good communication, and its loss from poor "
        "communication is larger than each other type's (95% intervals).",
        effects,
        figure=lambda: _fig_effects(effects, "P9: potential and coordination cost"),
    )


def pattern_10(r: ArmRunner) -> PatternResult:
    out = r.run([arm(t, t) for t in TYPES])
    ref = per_run(out["ppp"], horizon("empowerment_mean"))
    effects = [
        paired_effect(
            f"empowerment: {t} − ppp", per_run(out[t], horizon("empowerment_mean")), ref, +1
        )
        for t in ("psp", "pmg", "msp")
    ]
    return PatternResult(
        10,
        "Community inclusion builds empowerment",
        "`psp`, `pmg` and `msp` raise empowerment more than `ppp`.",
        "Mansuri & Rao 2013; the essay",
        "The four types; outcome: mean empowerment at the horizon.",
        "For each type with the community, the 95% interval of the paired difference "
        "(type − ppp) lies above zero.",
        effects,
        figure=lambda: _fig_bands(out, ["empowerment_mean"], "P10: empowerment by type"),
    )


PATTERNS: dict[int, Callable[[ArmRunner], PatternResult]] = {
    1: pattern_1,
    2: pattern_2,
    3: pattern_3,
    4: pattern_4,
    5: pattern_5,
    6: pattern_6,
    7: pattern_7,
    8: pattern_8,
    9: pattern_9,
    10: pattern_10,
}


def run_pattern(
    number: int, size: str | Size = "ci", runner: ArmRunner | None = None
) -> PatternResult:
    """Run one pattern's experiment at ``size`` and judge it."""
    s = SIZES[size] if isinstance(size, str) else size
    return PATTERNS[number](runner or ArmRunner(s))


def run_suite(
    size: str | Size = "full",
    workers: int = 1,
    patterns: Sequence[int] | None = None,
    progress: bool = False,
) -> list[PatternResult]:
    """Run every pattern (sharing runs between them) and return the results in order."""
    s = SIZES[size] if isinstance(size, str) else size
    results = []
    with ArmRunner(s, workers=workers, progress=progress) as runner:
        for number in patterns or PATTERNS:
            if progress:
                print(f"pattern {number} ...", file=sys.stderr)
            results.append(PATTERNS[number](runner))
    return results


# ----------------------------------------------------------------------------- figures
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _fig_bands(out: dict[str, pd.DataFrame], outcomes: list[str], title: str):
    from sim.present.plots import plot_bands

    fig = plot_bands(pd.concat(out.values(), ignore_index=True), outcomes, ncols=len(outcomes))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def _fig_effects(effects: list[Effect], title: str):
    """One panel per unit of measure: effects whose labels share a word before ':'."""
    groups: dict[str, list[Effect]] = {}
    for e in effects:
        key = e.label.split(":")[1].split("(")[0].strip() if ":" in e.label else ""
        groups.setdefault(key, []).append(e)
    if len(groups) > 1 and all(len(g) > 1 for g in groups.values()):
        plt = _plt()
        fig, axes = plt.subplots(
            len(groups), 1, figsize=(7.5, 0.42 * len(effects) + 1.3 * len(groups)), squeeze=False
        )
        for ax, (key, group) in zip(axes.flat, groups.items(), strict=True):
            _effect_bars(ax, group, key)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        return fig
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(effects) + 1.3))
    _effect_bars(ax, effects, title)
    fig.tight_layout()
    return fig


def _effect_bars(ax, effects: list[Effect], title: str) -> None:
    y = np.arange(len(effects))
    est = np.array([e.estimate for e in effects])
    err = np.vstack([est - [e.low for e in effects], [e.high for e in effects] - est])
    colors = ["#4C78A8" if e.passed else "#E45756" for e in effects]
    ax.barh(y, est, xerr=np.nan_to_num(err), color=colors, alpha=0.85, capsize=3)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [e.label for e in effects], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("paired difference, 95% interval (blue: as predicted)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)


def _fig_bars(values: dict[str, pd.Series], xlabel: str, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(values) + 1.2))
    names = list(values)
    mean = np.array([values[k].mean() for k in names])
    half = np.array([stats.t_interval(values[k].to_numpy(dtype=float))[1] for k in names]) - mean
    ax.barh(np.arange(len(names)), mean, xerr=np.nan_to_num(half), color="#4C78A8", capsize=3)
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _fig_survival(out: dict[str, pd.DataFrame], title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, df in out.items():
        share = df.groupby("step")["partnership_active"].mean()
        ax.step(share.index, share.to_numpy(), where="post", label=label)
    ax.set_xlabel("step (month)")
    ax.set_ylabel("share of runs with the partnership active")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _fig_breach(out: dict[str, pd.DataFrame]):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, df in out.items():
        g = df.groupby("step")["trust_in_probe"].mean()
        ax.plot(g.index, g.to_numpy(), label=label)
    ax.axvspan(BREACH[0] - 1, BREACH[1], color="#E45756", alpha=0.15, label="breach")
    ax.set_xlabel("step (month)")
    ax.set_ylabel(f"partners' mean trust in {BREACH_MEMBER}")
    ax.set_title("P4: trust in a partner that breaches, and without the breach", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- plausibility
def plausibility(runner: ArmRunner, results: dict[int, PatternResult]) -> list[str]:
    """Markdown lines: defaults against behavioural evidence, measured in the model."""
    from sim.scenario.schema import Scenario as _S

    d = _S().dynamics
    lines = ["## Parameter plausibility", ""]
    # Conditional cooperation.
    lines += [
        "**Conditional cooperation.** Fischbacher, Gächter & Fehr (2001) found about half of "
        "their subjects to be conditional cooperators, about a third free riders and about "
        "a seventh hump-shaped; the average contribution schedule rises with others' "
        "contributions with a slope below one. The model gives every partner one schedule, "
        f"k = ρ·b + (1 − ρ)·m with ρ = `conditional_slope` = {d.conditional_slope}. A mix of "
        "half perfect conditional cooperators (slope 1), a third free riders (slope 0) and a "
        "seventh hump-shaped (about 0.5) has an average slope of about 0.5 + 0.07 ≈ 0.57; the "
        f"default {d.conditional_slope} lies above it, as suits organizations that have "
        "promised a contribution, but it is an assumption, not an estimate. Measured in the "
        "model: without communication, evaluation or audits, contributions fall from "
        f"{_fmt_first_late(results)} (pattern 5), the decay the experiments report.",
        "",
    ]
    p5 = results.get(5)
    if p5 is not None:
        comm = next(e for e in p5.effects if e.label.startswith("communication"))
        lines += [
            "**Communication's effect.** Balliet (2010) found a large effect of communication "
            "on cooperation in social dilemmas (d ≈ 1.0). In public-goods experiments the "
            "standard deviation of contributions is about a third of the endowment, so d ≈ 1 "
            "is about 30 percentage points of the endowment (an approximate conversion). "
            f"Measured in the model: good channels raise contributions in months 19–24 by "
            f"{100 * comm.estimate:.0f} points of the promise (95% interval "
            f"{100 * comm.low:.0f} to {100 * comm.high:.0f}) against no channel (pattern 5). "
            "That is the same direction and order of magnitude but at most half the "
            "experimental effect: in the model communication acts through meetings (dialogue "
            "in motivation), observation of conduct and trust, and the arm without it keeps "
            "trust and shared understanding, which experiments' anonymous strangers lack. "
            "The dialogue weight (0.2 in `motivation_weights`) could be raised if the "
            "organizational evidence supports it.",
            "",
        ]
    p4 = results.get(4)
    if p4 is not None:
        lines += [
            "**Trust asymmetry.** Slovic (1993) found negative events weigh more than "
            "positive ones in trust; Poortinga & Pidgeon (2004) confirmed the asymmetry and "
            "that prior trust colours how new information is read. The defaults set the loss "
            f"rate γ⁻ = {d.trust_loss} four times the gain rate γ⁺ = {d.trust_gain} (half the "
            "distance to a worse experience in about 3 months, to a better one in about 13.5). "
            f"Measured in the model after a breach (pattern 4): {p4.notes[0]}.",
            "",
        ]
    lines += [
        "**Audits.** Olken (2007): raising the audit probability from 4% to 100% cut missing "
        "expenditures by about 8 points from about 28%. `audit_deterrence` = 0.3 was set "
        f"from it; measured in the model: {results[8].notes[0] if 8 in results else 'n/a'}.",
        "",
        "**Defaults that are assumptions.** These levers have no behavioural or field "
        "estimate behind them (their source in the schema is 'calibration assumption'; run "
        "settings are left out); the patterns above are conditional on them:",
        "",
    ]
    rows = [
        r
        for r in lever_table()
        if r["section"] != "run" and r["source"] in ("", "calibration assumption")
    ]
    lines += [f"- `{r['section']}.{r['key']}` = {r['default']!r}: {r['meaning']}" for r in rows]
    lines.append("")
    return lines


def _fmt_first_late(results: dict[int, PatternResult]) -> str:
    p5 = results.get(5)
    if p5 is None:
        return "n/a"
    e = p5.effects[0]
    return f"the first month by {-e.estimate:.2f} of the promise by months 19–24"


# ----------------------------------------------------------------------------- report
REPORT = DOCS / "validation.md"
FIGURES = DOCS / "img" / "validation"


def _fmt(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.1f}"


def write_report(
    results: list[PatternResult], runner: ArmRunner, out: Path = REPORT, figures: Path = FIGURES
) -> Path:
    """Write the Markdown report and one PNG per pattern (atomically)."""
    figures.mkdir(parents=True, exist_ok=True)
    size = runner.size
    passed = sum(r.passed for r in results)
    every = [e for r in results for e in r.effects]
    holds, fw = family_wise(results)
    passed_fw = sum(fw.values())
    lines = [
        "# Kemitraan: pattern-oriented validation",
        "",
        "Generated by `python run_simulation.py validate` (`sim/validation.py`); do not edit "
        "by hand. Following pattern-oriented modelling (Grimm et al. 2005, Science "
        "310:987), the model is judged by whether it reproduces several patterns from the "
        "literature at once. None of them is written into the code (docs/ODD.md, section "
        "1.2).",
        "",
        f"**Size `{size.name}`:** {size.households} households in {size.villages} villages, "
        f"{size.steps} monthly steps, {size.replications} replications per arm; replicate "
        f"seeds from `SeedSequence({size.root_seed}).spawn({size.replications})`, the same "
        "for every arm (common random numbers). Every effect is a paired difference by "
        "replicate seed with a 95% t-interval; a pattern passes when every interval lies on "
        "the predicted side of zero. These intervals are per effect. Because the suite tests "
        f"{len(every)} effects together, each is also tested with the family-wise error rate "
        "kept at the same level (one-sided 2.5%; Holm's step-down procedure over the "
        "one-sided paired t-tests in the predicted direction): the column *family-wise* "
        "below, and the second verdict.",
        "",
        f"**Result: {passed} of {len(results)} patterns pass; {passed_fw} of {len(results)} "
        f"also with the family-wise correction ({sum(holds.values())} of {len(every)} "
        "effects hold).**",
        "",
        "| # | pattern | verdict | family-wise (Holm) |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.number} | {r.title} | {'pass' if r.passed else '**FAIL**'} | "
        f"{'pass' if fw[r.number] else '**FAIL**'} |"
        for r in results
    ]
    lines.append("")
    for r in results:
        fig_name = f"pattern_{r.number:02d}.png"
        if r.figure is not None:
            fig = r.figure()
            write_atomic(
                figures / fig_name,
                lambda p, f=fig: f.savefig(p, dpi=110, bbox_inches="tight", format="png"),
            )
            _plt().close(fig)
        lines += [
            f"## Pattern {r.number}: {r.title} — {'pass' if r.passed else 'FAIL'}",
            "",
            f"**Claim.** {r.claim}",
            "",
            f"**Sources.** {r.sources}.",
            "",
            f"**Experiment.** {r.experiment}",
            "",
            f"**Criterion.** {r.criterion}",
            "",
            "| effect | estimate | 95% interval | n | predicted | as predicted | p (one-sided) "
            "| family-wise |",
            "| --- | ---: | --- | ---: | --- | --- | ---: | --- |",
        ]
        lines += [
            f"| {e.label} | {_fmt(e.estimate)} | [{_fmt(e.low)}, {_fmt(e.high)}] | {e.n} | "
            f"{'> 0' if e.direction > 0 else '< 0'} | {'yes' if e.passed else '**no**'} | "
            f"{_fmt_p(e.p_value)} | {'holds' if holds[id(e)] else '**does not hold**'} |"
            for e in r.effects
        ]
        lines.append("")
        if r.notes:
            lines += [f"- {n}" for n in r.notes] + [""]
        if r.figure is not None:
            rel = (
                Path(figures).relative_to(Path(out).parent)
                if Path(figures).is_relative_to(Path(out).parent)
                else figures
            )
            lines += [f"![Pattern {r.number}]({rel.as_posix()}/{fig_name})", ""]
    lines += plausibility(runner, {r.number: r for r in results})
    lines += MECHANISM_NOTES
    text = "\n".join(lines).rstrip() + "\n"
    write_atomic(Path(out), lambda p: p.write_text(text, encoding="utf-8"))
    return Path(out)


MECHANISM_NOTES = [
    "## Mechanism changes made for validation",
    "",
    "Both are general rules (every member, every type, no scenario-specific constant), each a "
    "small pure function with its own unit tests; their weights are calibration assumptions. "
    "They change the outputs of every partnership scenario.",
    "",
    "- **Procedural unfairness** (`dynamics.procedural_unfairness`, lever "
    "`dynamics.procedural_weight` = 0.25). Before it, a community whose decision weight fell "
    "to a third of an equal share under `msp_power_imbalance` perceived almost no "
    "unfairness (the distributive term compares satisfaction with the delivered mix, which "
    "barely moves), so power imbalance never cost the partnership a member, even among "
    "demanding partners (pattern 2 failed on survival for power balance). People judge a "
    "process by the say it gives them, apart from its outcome (the voice effect: Thibaut & "
    "Walker 1975; Lind & Tyler 1988), and stakeholders without a meaningful say withdraw "
    "(Ansell & Gash 2008). Each member now adds `procedural_weight · max(0, 1 − m·w_i)` to "
    "its perceived unfairness, which lowers its motivation and its experience of powerful "
    "partners. At the shipped power balance (0.7) the community and the NGOs feel a little "
    "of it in every partnership.",
    "- **Coordination cost on every pair** (`partnership.coordination_cost`, lever "
    "`partnership.miscoordination_cost` = 0.00075). Before it, coordination cost was paid only "
    "by pairs that met, so poor communication *saved* the multi-stakeholder partnership "
    "(21 pairs) more in meetings than it saved `ppp` (6 pairs): `msp` lost less welfare from "
    "poor communication than `ppp` (pattern 9 failed: +0.004, interval +0.003 to +0.005, "
    "10 replications). Coordination costs arise from the interdependencies to be managed, "
    "which grow with m(m − 1)/2; a pair that does not meet pays in duplication and gaps "
    "instead (Williamson 1985; Provan & Kenis 2008; Bryson, Crosby & Stone 2006). Each "
    "pair that did not meet now costs `miscoordination_cost`, 0.00075 per household, "
    "three-eighths of a meeting. Sensitivity (horizon welfare, 6–10 replications): the "
    "difference in differences against `ppp` is about −0.004 at 0.0005, −0.009 at 0.00075 "
    "and −0.03 at 0.001; at 0.001 weak `msp` variants start to lose members at the shipped "
    "exit threshold and fall to about the no-partnership baseline; at a full meeting's cost "
    "(0.002) `msp` loses its lead over the other types (about 0.448 against 0.447–0.455). "
    "Pattern 9 therefore holds only while an uncoordinated pair costs clearly less than a "
    "meeting; the value is a calibration assumption chosen inside that range, toward its "
    "lower end to change the shipped results as little as possible.",
    "",
    "## Where the model and the literature or essay part ways",
    "",
    "- **Survival at the shipped exit threshold.** With partners leaving only when their "
    "mean trust stays below 0.3 for a year, the all-good `msp` and most degraded variants "
    "keep every member for ten years (notes under pattern 2); only the loss of evaluation "
    "dissolves most partnerships. The essay and Ansell & Gash (2008) treat every factor as "
    "a condition of success; in the model a weak factor costs welfare everywhere but "
    "threatens survival mainly where partners are demanding or trust starts low. Patterns 2 "
    "and 3 therefore judge survival among demanding partners (exit threshold 0.4 in both "
    "arms), where it is in doubt.",
    "- **A bad prehistory alone is soon forgotten.** `msp_low_trust` (initial trust 0.2) "
    "costs little welfare at the horizon because trust converges toward experienced conduct "
    "within two to three years and yearly evaluations repair explained gaps; Ansell & Gash "
    "(2008) and Slovic (1993) expect distrust to perpetuate itself more. The model has the "
    "contact channel of that self-reinforcement (distrust means fewer meetings) but not the "
    "interpretive one (prior trust colouring how evidence is read, Poortinga & Pidgeon "
    "2004); adding it would strengthen patterns 2 and 3 and is left as an open question.",
    "- **Elite capture is cheap, power imbalance is not.** Capture alone costs about 1% of "
    "mean welfare or less (notes under pattern 7), in line with Alatas et al. (2013); the "
    "whole imbalance costs several times more, mostly because partners without a say "
    "contribute less. The literature supports the direction but gives no estimate of the "
    "size.",
    "",
]


# ----------------------------------------------------------------------------- command line
class ValidationError(UserError):
    """A bad argument to ``validate``."""


def _parser() -> argparse.ArgumentParser:
    from sim.present.cli import _Parser, _positive_int

    p = _Parser(
        prog="run_simulation.py validate",
        description=(
            "Run the pattern-oriented validation suite (the ten patterns of docs/ODD.md 1.2) "
            "and write docs/validation.md with one figure per pattern in "
            "docs/img/validation/."
        ),
    )
    p.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="full",
        help="full (the report, default) or ci (small and fast)",
    )
    p.add_argument(
        "--replications", type=_positive_int, help="replications per arm (default: the size's)"
    )
    p.add_argument(
        "--patterns",
        type=str,
        default=None,
        help="comma-separated pattern numbers (default: all ten)",
    )
    p.add_argument(
        "--workers", type=_positive_int, default=1, help="processes to use (results are identical)"
    )
    p.add_argument("--out", type=Path, default=REPORT, help="report path (default: %(default)s)")
    p.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="figure folder (default: img/validation next to the report)",
    )
    return p


def command(argv: list[str]) -> int:
    """Run ``python run_simulation.py validate [--size ci] [--workers N] ...``."""
    import dataclasses

    args = _parser().parse_args(argv)
    size = SIZES[args.size]
    if args.replications:
        size = dataclasses.replace(size, replications=args.replications)
    numbers = list(PATTERNS)
    if args.patterns:
        try:
            numbers = [int(x) for x in args.patterns.split(",")]
        except ValueError:
            raise ValidationError(
                f"--patterns {args.patterns!r}: expected numbers 1-10 separated by commas"
            ) from None
        bad = [n for n in numbers if n not in PATTERNS]
        if bad:
            raise ValidationError(f"--patterns: unknown pattern(s) {bad}; choose from 1-10")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValidationError(f"--out {out}: folder {out.parent} does not exist")
    figures = args.figures or out.parent / "img" / "validation"
    results = []
    with ArmRunner(size, workers=args.workers, progress=True) as runner:
        for n in numbers:
            print(f"pattern {n} ...", file=sys.stderr)
            results.append(PATTERNS[n](runner))
        write_report(results, runner, out, figures)
    fw = family_wise(results)[1]
    for r in results:
        print(
            f"P{r.number:<2} {'pass' if r.passed else 'FAIL'}  "
            f"(family-wise: {'pass' if fw[r.number] else 'FAIL'})  {r.title}"
        )
    print(f"\nreport: {out}")
    return 0
