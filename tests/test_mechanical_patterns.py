"""The mechanical patterns: each follows from one rule, so a unit test of that rule checks it.

docs/validation.md reports these patterns beside the emergent ones but does not count them as
validation (a pattern that one rule's sign guarantees cannot fail under another calibration
of the rest of the model). Each test here names the pattern it stands for.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms import dynamics, governance, welfare
from sim.mechanisms.partnership import leakage_share
from sim.scenario import Scenario

DEFAULTS = Scenario()


def _months_to(fraction: float, rate: float) -> int:
    """Months of constant experience until trust has moved ``fraction`` of the way."""
    return int(np.ceil(np.log(1.0 - fraction) / np.log(1.0 - rate)))


def test_p4_trust_falls_faster_than_it_recovers() -> None:
    # Pattern 4: T' = T + γ(E − T) with γ⁻ > γ⁺; iterate and compare with the closed form.
    d = DEFAULTS.dynamics
    assert d.trust_loss > d.trust_gain
    trust, fall = 0.8, 0
    while trust > 0.8 - 0.9 * 0.8:
        trust = float(dynamics.trust_update(np.array(trust), np.array(0.0), d.trust_gain,
                                            d.trust_loss))  # fmt: skip
        fall += 1
    low, rise = trust, 0
    while trust < low + 0.9 * (0.8 - low):
        trust = float(dynamics.trust_update(np.array(trust), np.array(0.8), d.trust_gain,
                                            d.trust_loss))  # fmt: skip
        rise += 1
    assert fall == _months_to(0.9, d.trust_loss) == 11
    assert rise == _months_to(0.9, d.trust_gain) == 45
    assert rise > 4 * fall


def test_p5_contributions_decay_to_motivation_and_each_sustaining_term_raises_them() -> None:
    # Pattern 5: k = ρ b + (1 − ρ) m with beliefs following contributions converges to m.
    rho = DEFAULTS.dynamics.conditional_slope
    weights = DEFAULTS.dynamics.motivation_weights

    def settled(trust: float, deterrence: float, dialogue: float) -> float:
        m = dynamics.motivation(np.array([trust]), 0.9, deterrence, np.array([dialogue]),
                                np.array([0.0]), weights)  # fmt: skip
        k = np.array([1.0])
        for _ in range(200):
            k = dynamics.conditional_contribution(k, m, rho)
        return float(k[0])

    a = DEFAULTS.accountability
    fine, reputation = a.sanction_fine, a.sanction_reputation
    neither = settled(0.5, 0.0, 0.0)
    assert neither < 0.5  # decays from a full first contribution
    assert settled(0.5, 0.0, 0.6) > neither  # communication: dialogue
    yearly = governance.detection_probability(0.0, 0.6, 12, 12)  # evaluation only
    assert settled(0.5, governance.expected_sanction(yearly, fine, reputation), 0.0) > neither
    certain = governance.detection_probability(1.0, 0.0, 0, 12)  # one certain audit a year
    assert settled(0.5, governance.expected_sanction(certain, fine, reputation), 0.0) > neither
    # Monitoring without a sanction deters nothing.
    assert settled(0.5, governance.expected_sanction(certain, 0.0, 0.0), 0.0) == neither


def test_p6_access_closes_its_gap_faster_than_empowerment() -> None:
    # Pattern 6: the same dose closes a larger share of the gap where efficiency is higher.
    w = DEFAULTS.welfare
    assert w.access_efficiency > w.empowerment_efficiency
    stock = np.array([0.35, 0.2])
    dose = np.array([1.0, 1.0])
    eff = np.array([w.access_efficiency, w.empowerment_efficiency])
    after = welfare.dose_response(stock, dose, eff)
    closed = (after - stock) / (1.0 - stock)
    np.testing.assert_allclose(closed, 1.0 - np.exp(-eff))
    assert closed[0] > closed[1]


def test_p7_capture_steers_benefits_away_from_the_poorest() -> None:
    # Pattern 7: t = (1 − ε) need/mean + ε status/mean; ε > 0 moves benefits to status.
    need = np.array([0.9, 0.7, 0.5, 0.3, 0.1])  # the poorest need most
    status = np.array([0.5, 1.0, 1.5, 2.0, 4.0])
    fair = welfare.targeting_weights(need, status, 0.0)
    captured = welfare.targeting_weights(need, status, DEFAULTS.accountability.capture_propensity)
    assert captured[0] < fair[0] and captured[-1] > fair[-1]
    assert captured.mean() == fair.mean() == 1.0  # the total is the same: a transfer


def test_p8_audits_cut_leakage_more_than_grassroots_monitoring_with_free_riding() -> None:
    # Pattern 8: ℓ_v = ℓ0 (1 − δ_r c)(1 − δ_a P_audit)(1 − δ_g · vis · g_v), g_v diluted by the
    # village's size, vis the share of spending villagers see (the wages: a quarter).
    a = DEFAULTS.accountability
    visible = governance.visible_share(a.labour_share, a.disclosure)

    def leak(audit: float, social_audit: float, village: float) -> float:
        attending = governance.attendance(np.array([0.2 * 0.4]), social_audit)
        g = governance.village_monitoring(attending, np.array([village]), a.free_riding_size)
        leaks = leakage_share(a.base_leakage, 0.8, a.role_clarity_effect, audit,
                              a.audit_deterrence, visible * g, a.grassroots_effect)  # fmt: skip
        return float(leaks[0])

    status_quo = leak(a.audit_probability, 0.0, 50)
    audits = leak(1.0, 0.0, 50)
    social = leak(a.audit_probability, 1.0, 50)
    no_free_riding = leak(a.audit_probability, 1.0, 1e-6)
    assert audits < social < status_quo
    assert status_quo - social < status_quo - no_free_riding
    # Olken (2007): 4% -> 100% audits cut about 8 of 28 points; the rule gives δ_a · 0.96 of ℓ.
    assert (status_quo - audits) / status_quo == pytest.approx(
        a.audit_deterrence * 0.96 / (1 - a.audit_deterrence * 0.04)
    )


def test_p10_participation_needs_a_community_seat() -> None:
    # Pattern 10: the participation dose is proportional to the community's voice, 0 without
    # a seat (ppp).
    w = np.array([0.4, 0.3, 0.3])
    assert governance.community_voice(w, ["government", "firm", "firm_1"], "community") == 0.0
    assert governance.community_voice(w, ["government", "firm", "community"], "community") > 0.0
