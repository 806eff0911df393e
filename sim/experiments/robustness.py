"""Robustness of the validation: pattern pass rates and the type ranking across conditions.

A *condition* is a set of levers applied to every arm of the validation suite in place of the
shipped defaults (:class:`~sim.experiments.validation.ArmRunner`; an arm's own levers stay):

- **structural alternatives** (:data:`STRUCTURES`): the forms of joint production that
  docs/ODD.md 7.6 keeps as levers for sensitivity analysis: the union of capabilities and the
  CES means from the best member (shipped) through the arithmetic and geometric means to the
  weakest link (Hirshleifer 1983; Cornes & Hartley 2007);
- **posterior draws** (:func:`posterior_conditions`): calibrated lever sets from the posterior
  sample (:mod:`sim.scenario.posterior`).

Under each condition :func:`robustness` runs the suite (:func:`sim.experiments.patterns.
run_suite`) and the partnership types' arms, and records whether each pattern passes (per
effect, and with Holm's family-wise correction) and how the types rank by mean welfare and by
the welfare of the poorest fifth at the horizon. :func:`pass_rates` and :func:`ranking_summary`
count them by kind of condition.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.experiments.patterns import PATTERNS, TYPES
from sim.experiments.uncertainty import DrawPlan
from sim.experiments.validation import ArmRunner, Size, arm, family_wise, horizon, per_run

__all__ = [
    "STRUCTURES",
    "Condition",
    "pass_rates",
    "posterior_conditions",
    "ranking_summary",
    "robustness",
]


@dataclass(frozen=True)
class Condition:
    """Levers applied to every arm, with a label and a kind (structure, posterior draw)."""

    label: str
    kind: str
    levers: dict[str, Any] = field(default_factory=dict)


_CES = "partnership.capability_pooling"
_S = "partnership.capability_substitutability"

STRUCTURES = (
    Condition("best member (shipped: CES, s = 1)", "structure", {}),
    Condition("union of capabilities", "structure", {_CES: "union"}),
    Condition("arithmetic mean (CES, s = 0.5)", "structure", {_CES: "ces", _S: 0.5}),
    Condition("geometric mean (CES, s = 0)", "structure", {_CES: "ces", _S: 0.0}),
    Condition("weakest member (CES, s = -1)", "structure", {_CES: "ces", _S: -1.0}),
)
"""The structural alternatives: how members' capabilities combine (docs/ODD.md 7.6)."""


def posterior_conditions(plan: DrawPlan, kind: str = "posterior draw") -> list[Condition]:
    """One condition per draw of ``plan`` (labelled by the draw's id in the file)."""
    return [
        Condition(f"{kind} {i}", kind, dict(levers))
        for i, levers in zip(plan.ids, plan.overrides, strict=True)
    ]


_NO_RANKING = {
    "welfare_order": "not computed",
    "msp_first_welfare": False,
    "msp_over_baseline_welfare": False,
    "poorest_order": "not computed",
    "msp_first_poorest": False,
    "msp_over_baseline_poorest": False,
}


def _ranking(runner: ArmRunner) -> dict[str, Any]:
    """The types (and the no-partnership baseline) ordered by horizon welfare, best first."""
    out = runner.run([arm("baseline", "baseline")] + [arm(t, t) for t in TYPES])
    row: dict[str, Any] = {}
    for outcome, name in (("welfare_mean", "welfare"), ("welfare_q1", "poorest")):
        means = {k: float(per_run(v, horizon(outcome)).mean()) for k, v in out.items()}
        order = sorted(means, key=means.get, reverse=True)
        row[f"{name}_order"] = " > ".join(order)
        row[f"msp_first_{name}"] = order[0] == "msp"
        row[f"msp_over_baseline_{name}"] = means["msp"] > means["baseline"]
    return {**row, "ranking_error": ""}


def robustness(
    conditions: Sequence[Condition],
    size: Size,
    patterns: Sequence[int] | None = None,
    workers: int = 1,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the suite under every condition.

    Returns two tables: one row per condition and pattern (``condition, kind, pattern,
    title, nature, passed, passed_family_wise, error``) and one row per condition with the
    types' order by horizon welfare and by the poorest fifth's welfare, whether ``msp`` ranks
    first and whether it beats the no-partnership baseline. A pattern that cannot be judged
    under a condition (its result says so, :attr:`~sim.experiments.validation.PatternResult.
    not_judged`, or its experiment raises) does not pass; ``error`` says why.
    """
    numbers = list(patterns or PATTERNS)
    verdicts, rankings = [], []
    for condition in conditions:
        if progress:
            print(f"condition: {condition.label} ...", file=sys.stderr)
        results, errors = [], {}
        with ArmRunner(size, workers=workers, levers=condition.levers) as runner:
            for n in numbers:
                try:
                    result = PATTERNS[n](runner)
                except Exception as exc:  # a pattern that cannot be judged here is reported
                    errors[n] = f"{type(exc).__name__}: {exc}"
                    continue
                results.append(result)
                if result.not_judged:
                    errors[n] = result.not_judged
            try:
                ranking = _ranking(runner)
            except Exception as exc:  # e.g. a draw no scenario accepts: said, not hidden
                ranking = {**_NO_RANKING, "ranking_error": f"{type(exc).__name__}: {exc}"}
        fw = family_wise(results)[1]
        judged = {r.number: r for r in results}
        for n in numbers:
            r = judged.get(n)
            verdicts.append(
                {
                    "condition": condition.label,
                    "kind": condition.kind,
                    "pattern": n,
                    "title": r.title if r else "",
                    "nature": r.nature if r else "",
                    "passed": bool(r and r.passed),
                    "passed_family_wise": bool(r and fw[n]),
                    "error": errors.get(n, ""),
                }
            )
        rankings.append({"condition": condition.label, "kind": condition.kind, **ranking})
    table = pd.DataFrame(verdicts)
    for column in ("title", "nature"):  # from the conditions where the pattern was judged
        known = table[table[column] != ""].groupby("pattern")[column].first()
        table[column] = table["pattern"].map(known).fillna(table[column])
    return table, pd.DataFrame(rankings)


def pass_rates(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per pattern and kind of condition: conditions run, passes, and the pass rate."""
    g = verdicts.groupby(["pattern", "title", "nature", "kind"], sort=False)
    out = g.agg(
        conditions=("passed", "size"),
        passed=("passed", "sum"),
        passed_family_wise=("passed_family_wise", "sum"),
        errors=("error", lambda e: int((e != "").sum())),
    ).reset_index()
    out["pass_rate"] = out["passed"] / out["conditions"]
    out["pass_rate_family_wise"] = out["passed_family_wise"] / out["conditions"]
    return out


def ranking_summary(rankings: pd.DataFrame) -> pd.DataFrame:
    """Per kind of condition: how often msp ranks first, and beats the baseline."""
    g = rankings.groupby("kind", sort=False)
    out = g.agg(
        conditions=("condition", "size"),
        msp_first_welfare=("msp_first_welfare", "sum"),
        msp_first_poorest=("msp_first_poorest", "sum"),
        msp_over_baseline_welfare=("msp_over_baseline_welfare", "sum"),
        msp_over_baseline_poorest=("msp_over_baseline_poorest", "sum"),
    )
    return out.reset_index()
