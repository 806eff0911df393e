"""Detection, sanctions and downward accountability (sim.mechanisms.governance), exact cases,
and how the model applies them: audit rounds, costs, fines and the accountability output."""

from __future__ import annotations

import numpy as np
import pytest

from sim import PartnershipModel
from sim.mechanisms import governance as g


# ---------------------------------------------------------------------------------------------
# detection: audit rounds and evaluations
# ---------------------------------------------------------------------------------------------
def test_detection_closed_form():
    # Quarterly rounds audited with probability 0.5, evaluations every 6 months detecting 0.4.
    got = g.detection_probability(0.5, 0.4, 6, 12, audit_interval=3)
    assert got == pytest.approx(1.0 - 0.5**4 * 0.6**2, rel=1e-15)


def test_detection_has_no_jump_at_certain_audits():
    """One yearly round: detection is the audit probability itself, continuous up to 1."""
    probs = np.linspace(0.9, 1.0, 11)
    got = np.array([g.detection_probability(a, 0.0, 0, 12) for a in probs])
    np.testing.assert_allclose(got, probs, rtol=1e-14)
    assert g.detection_probability(1.0, 0.0, 0, 12) == 1.0


def test_detection_never_evaluated_is_audits_alone():
    assert g.detection_probability(0.04, 0.6, 0, 12) == pytest.approx(0.04, rel=1e-14)


# ---------------------------------------------------------------------------------------------
# sanctions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "fine", "rep", "expected"),
    [(0.0, 5.0, 1.0, 0.0), (0.5, 0.0, 0.0, 0.0), (0.4, 1.0, 0.5, 0.6), (0.9, 1.0, 0.5, 1.0)],
)
def test_expected_sanction(p, fine, rep, expected):
    assert g.expected_sanction(p, fine, rep) == pytest.approx(expected, rel=1e-14)


def test_no_sanction_no_deterrence_whatever_the_monitoring():
    assert g.expected_sanction(1.0, 0.0, 0.0) == 0.0


def test_shortfall_and_fines():
    arrears, owed = np.array([3.0, 0.0, 1.0]), np.array([6.0, 4.0, 0.0])
    np.testing.assert_array_equal(g.shortfall(arrears, owed), [0.5, 0.0, 0.0])
    np.testing.assert_array_equal(
        g.fines(arrears, np.array([True, True, False]), 2.0), [6.0, 0.0, 0.0]
    )


def test_sanctioned_trust_hits_the_detected_below_the_group_standard():
    trust = np.array([[1.0, 0.5, 0.8], [0.6, 1.0, 0.4], [0.9, 0.7, 1.0]])
    short = np.array([0.2, 0.8, 0.2])  # group standard: mean 0.4
    got = g.sanctioned_trust(trust, short, np.array([False, True, True]), 0.5)
    expected = trust.copy()
    expected[[0, 2], 1] *= 1.0 - 0.5 * (0.8 - 0.4)  # member 2 is detected but above standard
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    # Everyone equally short: no one deviates from the standard, no one is punished.
    same = g.sanctioned_trust(trust, np.full(3, 0.5), np.ones(3, bool), 1.0)
    np.testing.assert_allclose(same, np.where(np.eye(3, dtype=bool), 1.0, trust), rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# downward accountability
# ---------------------------------------------------------------------------------------------
def test_visible_share_olken_materials():
    """Olken (2007): materials are three quarters of spending; villagers see the wages."""
    assert g.visible_share(0.25, 0.0) == 0.25
    assert g.visible_share(0.25, 0.5) == pytest.approx(0.625, rel=1e-15)


def test_attendance_and_free_riding():
    attending = g.attendance(np.array([0.2, 0.2]), 0.5)
    np.testing.assert_allclose(attending, [0.6, 0.6], rtol=1e-15)
    m = g.village_monitoring(attending, np.array([25.0, 100.0]), 25.0)
    np.testing.assert_allclose(m, [0.3, 0.12], rtol=1e-15)


@pytest.mark.parametrize("half", [1.0, 25.0, 250.0])
def test_monitoring_halves_at_half_size_and_falls_with_size(half):
    sizes = np.array([0.0, half, 5 * half, 50 * half])
    m = g.village_monitoring(np.full(4, 0.8), sizes, half)
    assert m[0] == 0.8
    assert m[1] == pytest.approx(0.4, rel=1e-15)
    assert np.all(np.diff(m) < 0)


def test_leakage_detection_closed_form():
    got = g.leakage_detection(0.2, 0.25, np.array([0.0, 0.4]))
    np.testing.assert_allclose(got, [0.2, 1.0 - 0.8 * 0.9], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# the model applies them
# ---------------------------------------------------------------------------------------------
def _run(steps=24, **levers):
    return PartnershipModel(seed=3, households=120, **levers).run(steps).results()


def test_certain_audits_cost_one_audit_a_year():
    """Audit probability 1: exactly one audit a year (month 12, 24), paid from the pool."""
    res = _run(**{"accountability.audit_probability": 1.0})
    paid = res.loc[res["cost_audit"] > 0, "step"].tolist()
    assert paid == [12, 24]
    # A certain audit round costs audit_cost per household the partnership serves (all: msp).
    assert res.loc[res["step"] == 12, "cost_audit"].item() == pytest.approx(0.1, rel=1e-12)


def test_evaluations_cost_their_months():
    res = _run(**{"factors.evaluation_interval": 6})
    assert res.loc[res["cost_evaluation"] > 0, "step"].tolist() == [6, 12, 18, 24]
    never = _run(**{"factors.evaluation_interval": 0})
    assert (never["cost_evaluation"] == 0).all()


def test_costs_are_part_of_spending_and_accountability_is_a_probability():
    res = _run(**{"accountability.social_audit": 1.0})
    later = res[res["step"] > 0]
    parts = later[["cost_coordination", "cost_audit", "cost_evaluation", "cost_participation"]]
    assert (parts.sum(axis=1) <= later["spent"] + 1e-12).all()
    assert (later["cost_participation"] > 0).all()
    assert later["accountability"].between(0.0, 1.0).all()


def test_social_audits_raise_accountability_and_cut_leakage():
    base = _run()
    audited = _run(**{"accountability.social_audit": 1.0, "accountability.disclosure": 1.0})
    assert audited["accountability"].iloc[1:].mean() > base["accountability"].iloc[1:].mean()
    assert audited["leakage"].iloc[1:].mean() < base["leakage"].iloc[1:].mean()


def test_no_sanctions_no_deterrence_in_the_model():
    m = PartnershipModel(
        seed=1,
        households=60,
        **{"accountability.sanction_fine": 0.0, "accountability.sanction_reputation": 0.0},
    )
    assert m.detection > 0.5
    assert m.deterrence == 0.0


# ---------------------------------------------------------------------------------------------
# detection per unit withheld: the lever accountability.detection_basis (ODD 7.15)
# ---------------------------------------------------------------------------------------------
A, E = 0.04, 0.6  # the shipped audit probability and evaluation detection


@pytest.mark.parametrize("basis", ["per_unit", "carried"])
@pytest.mark.parametrize("a", [0.0, 0.04, 0.3, 0.7, 0.9, 1.0])
def test_both_forms_give_the_compounding_number_at_yearly_checks(basis, a):
    """k = r = 12: one audit round and one evaluation per unit, bit for bit the old formula."""
    got = g.member_detection_probability(a, E, 12, 12, audit_interval=12, basis=basis)
    assert got == g.detection_probability(a, E, 12, 12, audit_interval=12)


@pytest.mark.parametrize("basis", ["per_unit", "carried"])
def test_never_evaluated_is_the_audit_rounds_alone(basis):
    assert g.member_detection_probability(A, E, 0, 12, basis=basis) == g.detection_probability(
        A, E, 0, 12
    )
    assert g.member_detection_probability(0.5, E, 0, 12, audit_interval=3, basis=basis) == (
        pytest.approx(1 - 0.5**4, rel=1e-14)
    )


def test_per_unit_monthly_evaluation_catches_e():
    """Monthly evaluation closes the books every month: a unit meets one evaluation; the yearly
    audit round comes first only for the month it closes (1 in 12)."""
    assert g.member_detection_probability(0.0, E, 1, 12) == pytest.approx(E, rel=1e-14)
    by_hand = 11 / 12 * E + 1 / 12 * (1 - (1 - A) * (1 - E))  # = E + A(1 - E)/12
    assert g.member_detection_probability(A, E, 1, 12) == pytest.approx(by_hand, rel=1e-14)
    assert by_hand == pytest.approx(0.6 + 0.04 * 0.4 / 12, rel=1e-14)


def test_carried_monthly_evaluation_compounds():
    """A missed shortfall stays on the books: twelve evaluations and one audit round a year."""
    got = g.member_detection_probability(A, E, 1, 12, basis="carried")
    assert got == pytest.approx(1 - (1 - A) * (1 - E) ** 12, rel=1e-14)
    assert got == pytest.approx(g.detection_probability(A, E, 1, 12), rel=1e-14)


def test_per_unit_quarterly_audits_before_a_yearly_evaluation():
    """k = 12, r = 3: a unit withheld in months 1-3 meets 4 rounds, 4-6: 3, 7-9: 2, 10-12: 1."""
    assert g.checks_faced(12, 3, 12, "per_unit") == ((1, 1, 3), (2, 1, 3), (3, 1, 3), (4, 1, 3))
    a = 0.5
    by_hand = 1 - (1 - E) * (0.5 + 0.25 + 0.125 + 0.0625) / 4
    got = g.member_detection_probability(a, E, 12, 12, audit_interval=3)
    assert got == pytest.approx(by_hand, rel=1e-14)
    assert g.member_detection_probability(1.0, E, 12, 12, audit_interval=3) == 1.0


def test_two_yearly_evaluation_reaches_half_the_units_within_the_year():
    """k = 24: a unit withheld in the first year of the cycle meets the evaluation only after a
    year; both forms agree (one check of each kind at most within a year)."""
    for basis in ("per_unit", "carried"):
        assert g.checks_faced(24, 12, 12, basis) == ((1, 0, 12), (1, 1, 12))
    by_hand = 0.5 * A + 0.5 * (1 - (1 - A) * (1 - E))
    assert g.member_detection_probability(A, E, 24, 12) == pytest.approx(by_hand, rel=1e-14)


def test_per_unit_frequency_barely_moves_detection():
    """Per unit, evaluating more often does not catch a unit more often (the field's rule)."""
    p = {k: g.member_detection_probability(A, E, k, 12) for k in (1, 3, 6, 12)}
    assert max(p.values()) - min(p.values()) < 0.02
    carried = {k: g.member_detection_probability(A, E, k, 12, basis="carried") for k in (1, 12)}
    assert carried[1] - carried[12] > 0.38


def test_unknown_basis_is_refused():
    with pytest.raises(ValueError, match="per_unit, carried"):
        g.checks_faced(12, 12, 12, "sometimes")


def test_cleared_on_check():
    detected = np.array([True, False, False])
    assert g.cleared_on_check(detected, "per_unit").tolist() == [True, True, True]
    assert g.cleared_on_check(detected, "carried").tolist() == [True, False, False]


def _fines_after(basis, steps=3):
    m = PartnershipModel(
        seed=5,
        households=60,
        **{
            "accountability.detection_basis": basis,
            "factors.evaluation_interval": 1,
            "accountability.evaluation_detection": 0.0,  # evaluations find nothing
            "accountability.audit_probability": 1.0,
            "accountability.audit_interval": 3,
            "accountability.sanction_fine": 1.0,
        },
    )
    withheld = []
    for _ in range(steps):
        m.step()
        withheld.append(float(m.active_partnership.arrears.sum()))
    return m, withheld


def test_carried_a_shortfall_missed_is_sanctioned_at_the_next_check():
    """Evaluations in months 1-2 miss everything; under 'carried' the audit in month 3 finds
    both months' shortfalls (restitution: fines equal to them), under 'per_unit' nothing."""
    m, withheld = _fines_after("carried")
    p = m.active_partnership
    assert withheld[0] > 0 and withheld[1] > withheld[0]  # carried from month 1 to month 2
    fined = p.fines_due + m.record.fines  # one instalment of the fine paid in month 3
    assert fined == pytest.approx(withheld[1], rel=1e-12)
    m, withheld = _fines_after("per_unit")
    assert withheld[:2] == [0.0, 0.0]  # every evaluation closes the books, found or not
    assert m.active_partnership.fines_due == 0.0


def test_model_detection_follows_the_basis():
    monthly = {"factors.evaluation_interval": 1}
    per_unit = PartnershipModel(seed=1, households=60, **monthly)
    carried = PartnershipModel(
        seed=1, households=60, **monthly, **{"accountability.detection_basis": "carried"}
    )
    assert per_unit.detection == pytest.approx(0.6 + 0.04 * 0.4 / 12, rel=1e-14)
    assert carried.detection == pytest.approx(1 - 0.96 * 0.4**12, rel=1e-14)
    assert PartnershipModel(seed=1, households=60).detection == pytest.approx(1 - 0.96 * 0.4)


def test_exit_probability_with_a_subnormal_spread_is_the_threshold_rule_without_warnings():
    import warnings

    from sim.mechanisms.governance import exit_probability

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = exit_probability(np.array([0.0, 0.5]), 0.3, 2.2e-311, 4)
    assert p[0] == 0.25 and 0.0 <= p[1] < 1e-200  # sigma(-500) / 4: far above tolerance
