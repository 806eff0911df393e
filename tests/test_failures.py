"""Failure kinds of scenario discovery, classified exactly on hand-made run tables."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiments.failures import FAILURES, FailureError, classify

STEPS = 6  # steps 0..5; funding ends after step 2 in the collapse cases


def _runs(point, welfare, q1, active, scenario="msp", funding=0, replicate=0, seed=7):
    """Rows of one run: per-step welfare, poorest-fifth welfare and partnership flag."""
    return [
        {
            "scenario": scenario,
            "point": point,
            "replicate": replicate,
            "seed": seed,
            "step": step,
            "welfare_mean": welfare[step],
            "welfare_q1": q1[step],
            "partnership_active": active[step],
            "partnership.funding_horizon": funding,
        }
        for step in range(STEPS)
    ]


FLAT = [0.4] * STEPS
ON, OFF = [True] * STEPS, [False] * STEPS


def _pair(point, welfare, q1=FLAT, active=ON, funding=0, reference=FLAT, reference_q1=FLAT):
    return _runs(point, welfare, q1, active, funding=funding) + _runs(
        point, reference, reference_q1, OFF, scenario="baseline", funding=funding
    )


def _classify(rows, **kw):
    kw.setdefault("lag", 2)
    out = classify(pd.DataFrame(rows), partnership="msp", reference="baseline", **kw)
    return out.set_index("point")


def test_zombie_is_active_and_worse_than_no_partnership():
    rows = (
        _pair(0, [0.4, 0.4, 0.4, 0.4, 0.4, 0.39])  # active, 0.01 worse: zombie
        + _pair(1, [0.4, 0.4, 0.4, 0.4, 0.4, 0.41])  # active, better: healthy
        + _pair(2, [0.4, 0.4, 0.4, 0.4, 0.4, 0.39], active=[*ON[:5], False])  # worse, dissolved
        + _pair(3, [0.4] * STEPS)  # active, exactly equal: not worse
    )
    out = _classify(rows)
    assert out["zombie"].tolist() == [True, False, False, False]
    assert out["active"].tolist() == [True, True, False, True]
    assert out["welfare_gain"].round(12).tolist() == [-0.01, 0.01, -0.01, 0.0]
    assert out["seed"].tolist() == [7, 7, 7, 7]


def test_margin_decides_how_much_worse_counts():
    rows = _pair(0, [*FLAT[:5], 0.399], q1=[*FLAT[:5], 0.399]) + _pair(1, [*FLAT[:5], 0.39])
    out = _classify(rows, margin=0.005)
    assert out["zombie"].tolist() == [False, True]
    assert out["poorest_worse"].tolist() == [False, False]
    assert _classify(rows)["poorest_worse"].tolist() == [True, False]


def test_poorest_fifth_is_compared_with_the_same_run_without_a_partnership():
    rows = _pair(0, FLAT, q1=[0.2] * 5 + [0.25], reference_q1=[0.2] * 5 + [0.3]) + _pair(
        1, FLAT, q1=[0.2] * 5 + [0.35], reference_q1=[0.2] * 5 + [0.3]
    )
    out = _classify(rows)
    assert out["poorest_worse"].tolist() == [True, False]
    assert out["q1_gain"].round(12).tolist() == [-0.05, 0.05]


def test_collapse_after_funding_ends():
    # W_0 = 0.2 and W_2 = 0.4 (funding ends after step 2): gain 0.2; lag 2 reads step 4.
    keeps_most = [0.2, 0.3, 0.4, 0.4, 0.35, 0.35]  # (0.35-0.2)/0.2 = 0.75 kept
    keeps_little = [0.2, 0.3, 0.4, 0.3, 0.25, 0.25]  # 0.25 kept
    dissolves = [*ON[:4], False, False]
    rows = (
        _pair(0, keeps_most, funding=2)
        + _pair(1, keeps_little, funding=2)
        + _pair(2, keeps_most, active=dissolves, funding=2)  # kept the gain, but dissolved
        + _pair(3, keeps_little, funding=0)  # funding never ends: undefined
        + _pair(4, keeps_little, active=[True, False, *OFF[:4]], funding=2)  # gone before end
        + _pair(5, [0.4] * STEPS, funding=2)  # no gain at the end, still active: undefined
        + _pair(6, [0.4] * 5 + [0.4], active=[*ON[:5], False], funding=2)  # no gain, dissolved
    )
    out = _classify(rows)
    assert out["collapse"].tolist() == [False, True, True, pd.NA, pd.NA, pd.NA, True]
    assert out["retained"].round(12).tolist()[:3] == [0.75, 0.25, 0.75]
    assert out["retained"].isna().tolist()[3:] == [True, True, True, True]
    assert out["funding_end"].tolist() == [2, 2, 2, 0, 2, 2, 2]
    assert _classify(rows, retained_share=0.8)["collapse"].tolist()[:3] == [True, True, True]


def test_the_lag_is_shortened_to_fit_the_run():
    # Funding ends after step 4; a lag of 24 reads step 5 (the last).
    rows = _pair(0, [0.2, 0.2, 0.2, 0.3, 0.4, 0.35], funding=4)
    out = _classify(rows, lag=24)
    assert out.loc[0, "retained"] == pytest.approx(0.75)
    assert out["collapse"].tolist() == [False]


def test_funding_end_can_be_given_for_a_table_without_the_column():
    rows = pd.DataFrame(_pair(0, [0.2, 0.3, 0.4, 0.3, 0.25, 0.25])).drop(
        columns="partnership.funding_horizon"
    )
    assert _classify(rows, funding_end=2)["collapse"].tolist() == [True]
    assert _classify(rows)["collapse"].isna().tolist() == [True]


def test_every_failure_kind_is_a_column():
    out = _classify(_pair(0, FLAT))
    for failure in FAILURES:
        assert failure.name in out.columns
        assert failure.meaning and failure.label


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="welfare_q1"), r"missing column\(s\) \['welfare_q1'\]"),
        (lambda t: t[t["scenario"] == "msp"], "reference = 'baseline': no runs of it"),
        (lambda t: t.iloc[0:0], "non-empty table"),
        (lambda t: t[~((t["scenario"] == "baseline") & (t["point"] == 1))], "without their pair"),
        (lambda t: t[~((t["step"] == 3) & (t["point"] == 1))], "every step from 0 to 5"),
    ],
)
def test_bad_run_tables_are_refused(change, message):
    table = pd.DataFrame(_pair(0, FLAT) + _pair(1, FLAT))
    with pytest.raises(FailureError, match=message):
        classify(change(table), partnership="msp", reference="baseline")


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"lag": 0}, "lag = 0"), ({"retained_share": 1.5}, "retained_share = 1.5")],
)
def test_bad_settings_are_refused(kw, message):
    table = pd.DataFrame(_pair(0, FLAT))
    with pytest.raises(FailureError, match=message):
        classify(table, partnership="msp", reference="baseline", **kw)
