"""Simulated targets: each target's model value, in its unit, from the experiment it names."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import norm

from sim.errors import UserError
from sim.experiments.targets import (
    MEASUREMENTS,
    SIZES,
    TARGETS_WITH_OUTPUTS,
    simulate_targets,
    target_replicates,
)
from sim.scenario.evidence import load_evidence, lognormal_gini, lognormal_poverty
from sim.scenario.outcomes import DECLARED
from sim.scenario.schema import PopulationSection

TINY = dataclasses.replace(SIZES["ci"], households=120, villages=3, steps=12, replications=3)
INCOME = ("bps_gini_rural", "bps_poverty_rate_rural", "bps_bottom40_share")


@pytest.fixture(scope="module")
def table():
    return load_evidence()


def test_every_target_with_an_output_is_a_verified_target_of_the_table(table):
    targets = table.targets()
    assert set(TARGETS_WITH_OUTPUTS) == set(MEASUREMENTS)
    for t in TARGETS_WITH_OUTPUTS:
        assert targets[t].verified, t
        # The table names the output the measurement reads, and the output is declared.
        assert targets[t].model_output == MEASUREMENTS[t].output, t
        assert MEASUREMENTS[t].output in DECLARED, t


def test_the_scale_turns_the_output_unit_into_the_target_unit(table):
    targets = table.targets()
    for t, m in MEASUREMENTS.items():
        unit, out = targets[t].unit, DECLARED[m.output]
        if unit in ("percent", "percentage points", "percentage points per year"):
            # A share (or a relative change) shown x 100.
            assert out.bounds == (0.0, 1.0) or m.contrast == "relative", t
            assert m.scale == 100.0, t
            # A change per year is read by the trend window, and only there.
            assert (unit == "percentage points per year") == (m.window == "annual_change"), t
        elif unit == "index":
            assert out.unit == "index" and m.scale == 1.0, t
        else:  # pragma: no cover - a new unit needs a rule here
            pytest.fail(f"{t}: no rule for unit {unit!r}")
        if m.window != "annual_change":  # a trend is one arm's change over time
            assert (m.contrast == "difference") == (unit == "percentage points"), t


def test_a_target_without_an_output_is_refused_by_name():
    with pytest.raises(UserError, match=r"alatas_pmt_error_rate.*no model output"):
        simulate_targets({}, TINY, ["alatas_pmt_error_rate"])
    with pytest.raises(
        UserError, match=r"not in the evidence table.*Did you mean 'bps_gini_rural'"
    ):
        simulate_targets({}, TINY, ["bps_gini_rurl"])


def test_equal_incomes_give_hand_computed_statistics():
    # sigma 0: every household has the median income. Gini 0, nobody poor at median 1.5
    # (everybody at median 0.5), and the poorest 40% hold exactly 40%.
    rich = simulate_targets({"population.income_sigma": 0.0}, TINY, INCOME)
    assert rich == {"bps_gini_rural": 0.0, "bps_poverty_rate_rural": 0.0,
                    "bps_bottom40_share": pytest.approx(40.0, abs=1e-9)}  # fmt: skip
    poor = simulate_targets(
        {"population.income_sigma": 0.0, "population.income_median": 0.5},
        TINY,
        ["bps_poverty_rate_national"],
    )
    assert poor == {"bps_poverty_rate_national": 100.0}


@pytest.mark.parametrize(("sigma", "median"), [(None, None), (0.591, 1.99)])
def test_step_zero_income_matches_the_lognormal_closed_forms_at_large_n(sigma, median):
    fields = PopulationSection.model_fields
    sigma = fields["income_sigma"].default if sigma is None else sigma
    median = fields["income_median"].default if median is None else median
    big = dataclasses.replace(TINY, households=40_000, villages=40, replications=1)
    got = simulate_targets(
        {"population.income_sigma": sigma, "population.income_median": median}, big, INCOME
    )
    # Sampling error at n = 40,000: the Gini's sd is about 0.002, the headcount's 0.23 points.
    assert got["bps_gini_rural"] == pytest.approx(lognormal_gini(sigma), abs=0.01)
    assert got["bps_poverty_rate_rural"] == pytest.approx(
        100 * lognormal_poverty(sigma, median), abs=1.0
    )
    # Lorenz curve of a lognormal at 0.4: Phi(Phi^-1(0.4) - sigma) (Aitchison & Brown 1957).
    lorenz = 100 * norm.cdf(norm.ppf(0.4) - sigma)
    assert got["bps_bottom40_share"] == pytest.approx(lorenz, abs=0.5)


def test_initial_targets_share_their_runs_and_national_equals_rural():
    got = simulate_targets({}, TINY, ["bps_gini_national", "bps_gini_rural"])
    assert got["bps_gini_national"] == got["bps_gini_rural"]


def test_an_audit_contrast_is_paired_by_seed_and_in_percentage_points():
    reps = target_replicates({}, TINY, ["olken_audit_missing_expenditures"])
    values = reps["olken_audit_missing_expenditures"]
    assert len(values) == TINY.replications and values.notna().all()
    # Certain audits cut leakage in every replicate; a share difference x 100 stays within
    # +-100 points.
    assert (values < 0).all() and (values > -100).all()
    mean = simulate_targets({}, TINY, ["olken_audit_missing_expenditures"])
    assert mean["olken_audit_missing_expenditures"] == pytest.approx(values.mean(), rel=1e-12)


def test_a_contrast_with_equal_arms_is_exactly_zero():
    # Zamboni & Litschig's dose is +0.2 over the scenario's audit probability, capped at 1:
    # at a probability of 1 both arms are the same runs (common random numbers), so 0 exactly.
    got = simulate_targets(
        {"accountability.audit_probability": 1.0}, TINY, ["zamboni_litschig_audit_risk"]
    )
    assert got == {"zamboni_litschig_audit_risk": 0.0}


def test_the_zamboni_dose_follows_the_callers_audit_probability():
    m = MEASUREMENTS["zamboni_litschig_audit_risk"]
    treated, control = m.arms("z", {"accountability.audit_probability": 0.1}, ())
    assert dict(treated.overrides)["accountability.audit_probability"] == pytest.approx(0.3)
    assert "accountability.audit_probability" not in dict(control.overrides)
    # Olken's arms are fixed by the study (4% and 100%), whatever the caller's draw says.
    m = MEASUREMENTS["olken_audit_missing_expenditures"]
    caller = (("accountability.audit_probability", 0.5), ("dynamics.trust_gain", 0.1))
    treated, control = m.arms("o", {}, caller)
    assert dict(treated.overrides) == {
        "accountability.audit_probability": 1.0,
        "dynamics.trust_gain": 0.1,
    }
    assert dict(control.overrides)["accountability.audit_probability"] == 0.04


def test_values_come_back_in_the_order_asked_and_finite():
    ids = ["bps_bottom40_share", "olken_audit_missing_expenditures", "bps_gini_rural"]
    got = simulate_targets({}, TINY, ids)
    assert list(got) == ids
    assert all(math.isfinite(v) for v in got.values())
    assert np.isclose(got["bps_bottom40_share"], got["bps_bottom40_share"])


def test_a_survey_month_runs_only_that_long_and_compares_two_scenarios():
    m = MEASUREMENTS["generasi_children_weighed"]
    assert m.steps(TINY) == 12 and m.scenarios() == ("pmg", "baseline")
    treated, control = m.arms("g", {}, (("dynamics.trust_gain", 0.1),))
    assert (treated.scenario, control.scenario) == ("pmg", "baseline")
    assert dict(control.overrides) == {"dynamics.trust_gain": 0.1}
    # The survey's month belongs to the experiment: a shorter size still reads month 12.
    assert m.steps(dataclasses.replace(TINY, steps=6)) == 12


def test_a_relative_change_is_the_paired_ratio_in_percent():
    from sim.experiments.validation import ArmRunner

    m = MEASUREMENTS["generasi_children_weighed"]
    got = target_replicates({}, TINY, ["generasi_children_weighed"])["generasi_children_weighed"]
    # By hand from the two arms' runs: (pmg - baseline) / baseline x 100 at month 12, by seed.
    with ArmRunner(dataclasses.replace(TINY, steps=12)) as runner:
        frames = runner.run(m.arms("g", {}, ()))
    at12 = {
        role: frames[f"g:{role}"].query("step == 12").set_index("seed")["access_health"]
        for role in ("treated", "control")
    }
    expected = 100 * (at12["treated"] - at12["control"]) / at12["control"]
    np.testing.assert_allclose(got.to_numpy(), expected.sort_index().to_numpy(), rtol=1e-12)


def test_model_values_judge_each_mean_against_its_band(table):
    from sim.experiments.targets import MODEL_VALUE_COLUMNS, model_values

    ids = ["bps_gini_rural", "bps_poverty_rate_rural"]
    frame = model_values({}, TINY, ids)
    assert list(frame.columns) == list(MODEL_VALUE_COLUMNS) and list(frame["target"]) == ids
    means = simulate_targets({}, TINY, ids)
    for _, r in frame.iterrows():
        low, high = table.targets()[r["target"]].band
        assert r["value"] == pytest.approx(means[r["target"]], rel=1e-12)
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        assert r["within_band"] == (low <= r["value"] <= high)
        assert (r["replicates"], r["households"], r["steps"]) == (3, 120, 12)


def test_an_annual_change_is_the_change_between_two_months_per_year():
    import pandas as pd

    from sim.experiments.targets import Measurement

    m = Measurement("poverty_rate", "baseline", "annual_change", "level", step=24, scale=100.0)
    run = pd.DataFrame({"step": range(25), "poverty_rate": np.linspace(0.125, 0.105, 25)})
    # (0.105 - 0.125) x 100 over 2 years: -1.0 percentage point a year.
    assert m.statistic(run, 12) * m.scale == pytest.approx(-1.0, abs=1e-12)
    # With two steps a year the same 24 steps are 12 years: -1/6 point a year.
    assert m.statistic(run, 2) * m.scale == pytest.approx(-1.0 / 6.0, abs=1e-12)
    assert m.steps(TINY) == 24  # the span belongs to the experiment, not the size
    with pytest.raises(ValueError, match="reads a month"):
        Measurement("poverty_rate", "baseline", "annual_change", "level")


def test_the_poverty_trend_is_the_baseline_runs_change_by_seed():
    from sim.experiments.validation import ArmRunner

    m = dataclasses.replace(MEASUREMENTS["bps_rural_poverty_trend"], step=12)
    with ArmRunner(dataclasses.replace(TINY, replications=2, steps=12)) as runner:
        frames = runner.run(m.arms("t", {}, ()))
    got = m.values(frames, "t", 12)
    # By hand: (month 12 - month 0) x 100 over one year, by seed.
    by_step = frames["t:treated"].pivot(index="seed", columns="step", values="poverty_rate")
    expected = 100 * (by_step[12] - by_step[0])
    np.testing.assert_allclose(got.to_numpy(), expected.sort_index().to_numpy(), rtol=1e-12)
    assert MEASUREMENTS["bps_rural_poverty_trend"].step == 72  # the six years of the releases
    assert m.scenarios() == ("baseline",) and m.contrast == "level"


def test_an_annual_change_reads_the_arms_calendar_and_refuses_two(monkeypatch):
    from sim.errors import UserError
    from sim.experiments import targets

    m = targets.Measurement(
        "poverty_rate", "baseline", "annual_change", "difference", step=24, control_scenario="x"
    )
    monkeypatch.setitem(targets.MEASUREMENTS, "t", m)
    levers = {"baseline": {"run.steps_per_year": 12}, "x": {"run.steps_per_year": 4}}
    with pytest.raises(UserError, match=r"run.steps_per_year \[4, 12\]"):
        targets._steps_per_year("t", levers)
    levers["x"]["run.steps_per_year"] = 12
    assert targets._steps_per_year("t", levers) == 12
