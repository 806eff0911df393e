"""Pattern 4 (a breach) when no run can show a fall and a recovery: not judged, with the reason.

Under the CES means of the robustness table (capability substitutability <= 0.5) every member
leaves after ``exit_patience`` months, long before the breach in month 37, so no breach run
has a partner left to lose trust in. The pattern then says it cannot be judged and why,
instead of raising (it used to raise ``KeyError: 'seed'`` on an empty table).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.experiments import patterns
from sim.experiments import validation as v
from sim.experiments.robustness import STRUCTURES, robustness
from sim.present.robustness_report import render

START = patterns.BREACH[0]


def _runs(probe: dict[int, np.ndarray]) -> pd.DataFrame:
    """Runs keyed by seed with the given trust-in-probe paths (one row per step)."""
    return pd.concat(
        pd.DataFrame({"seed": seed, "step": np.arange(p.size), "trust_in_probe": p})
        for seed, p in probe.items()
    )


def test_breach_times_say_why_a_run_gives_none() -> None:
    steps = START + 20
    clean = np.full(steps, 0.6)
    fell = clean.copy()
    fell[START : START + 5] = 0.6 - np.linspace(0.04, 0.2, 5)  # the gap's extreme: -0.2
    fell[START + 5 :] = 0.6 - 0.2 * np.exp(-np.arange(1, steps - START - 4) / 4)
    gone = clean.copy()
    gone[12:] = np.nan  # dissolved in month 12, before the breach
    times, skipped = patterns._breach_times(
        _runs({1: fell, 2: gone, 3: clean}), _runs({1: clean, 2: clean, 3: clean})
    )
    assert times.index.tolist() == [1]
    # Fall: months until the gap reaches 90% of -0.2 (month 5 of the breach: -0.2);
    # recovery: months from the extreme until 10% of it is left (e^(-t/4) <= 0.1 from
    # t = 4 ln 10 = 9.2, so t = 10).
    assert times.loc[1, ["fall", "recovery"]].tolist() == [5, 10]
    assert times.loc[1, "depth"] == pytest.approx(0.2)
    assert skipped == {patterns.BREACH_GONE: 1, patterns.BREACH_NO_FALL: 1}


def test_no_run_with_a_breach_gives_an_empty_table_not_a_key_error() -> None:
    gone = np.full(START + 10, np.nan)
    times, skipped = patterns._breach_times(_runs({4: gone, 5: gone}), _runs({4: gone, 5: gone}))
    assert times.empty and list(times.columns) == ["fall", "recovery", "depth"]
    assert skipped == {patterns.BREACH_GONE: 2}
    short = np.full(START - 5, 0.5)  # the runs end before the breach
    assert patterns._breach_times(_runs({4: short}), _runs({4: short}))[1] == {
        patterns.BREACH_AFTER_END: 1
    }


def test_a_result_not_judged_has_no_effects_and_does_not_pass() -> None:
    r = v.PatternResult(4, "t", "c", "s", "e", "k", [], not_judged="cannot be judged: x")
    assert (r.passed, r.verdict) == (False, "not judged")
    effect = v.Effect("x", 1.0, 0.5, 1.5, 8, +1)
    assert v.PatternResult(4, "t", "c", "s", "e", "k", [effect]).verdict == "pass"
    with pytest.raises(ValueError, match="not judged has no effects"):
        v.PatternResult(4, "t", "c", "s", "e", "k", [effect], not_judged="cannot be judged: x")


# Long enough for the breach (months 37-42), small enough for a test.
SMALL = dataclasses.replace(
    v.SIZES["ci"], households=40, villages=2, steps=48, replications=2, root_seed=7
)
GEOMETRIC = next(
    c for c in STRUCTURES if c.levers.get("partnership.capability_substitutability") == 0.0
)


def test_pattern_4_under_the_geometric_mean_is_not_judged_and_says_why() -> None:
    with v.ArmRunner(SMALL, levers=GEOMETRIC.levers) as runner:
        r = patterns.PATTERNS[4](runner)
    assert r.verdict == "not judged" and not r.passed and r.effects == []
    assert r.not_judged.startswith("cannot be judged: no run gives a fall and a recovery")
    assert f"{patterns.BREACH_GONE}: 2 of 2 runs" in r.not_judged
    assert f"the breach starts in month {START}" in r.not_judged
    assert r.notes == [r.not_judged] and r.figure is None


def test_robustness_reports_pattern_4_as_not_judged_with_the_reason() -> None:
    verdicts, rankings = robustness([GEOMETRIC], SMALL, [4])
    row = verdicts.iloc[0]
    assert (row["pattern"], bool(row["passed"]), row["nature"]) == (4, False, "mechanical")
    assert row["error"].startswith("cannot be judged: no run gives")
    text = render(verdicts, rankings, SMALL, None, "python run_simulation.py validate ...")
    assert f"- Pattern 4 could not be judged under *{GEOMETRIC.label}*: no run gives" in text
    assert "; 1 not judged" in text and "raised" not in text


def test_the_validation_report_prints_not_judged_with_the_reason(tmp_path) -> None:
    from sim.present.validation_report import write_report

    why = "cannot be judged: no run gives a fall and a recovery (reason)"
    r = v.PatternResult(
        4, "Trust builds slowly and breaks fast", "c", "s", "e", "k", [], notes=[why],
        nature="mechanical", why="one rule", unit_test="tests/x.py::t", not_judged=why,
    )  # fmt: skip
    out = tmp_path / "validation.md"
    write_report([r], SMALL, out, tmp_path / "img")
    text = out.read_text(encoding="utf-8")
    assert "| 4 | Trust builds slowly and breaks fast | mechanical | **NOT JUDGED** |" in text
    assert "## Pattern 4: Trust builds slowly and breaks fast — NOT JUDGED (mechanical)" in text
    assert f"- {why}" in text and "pattern_04" not in text  # no figure without runs
