"""The mechanical patterns: each follows from one rule, so a unit test of that rule checks it.

docs/validation.md reports these patterns beside the emergent ones but does not count them as
validation (a pattern that one rule's sign guarantees cannot fail under another calibration
of the rest of the model). Each test here names the pattern it stands for.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import dynamics, governance, welfare
from sim.mechanisms.partnership import grassroots_monitoring, leakage_share
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

    def settled(trust: float, accountability: float, dialogue: float) -> float:
        m = dynamics.motivation(np.array([trust]), 0.9, accountability, np.array([dialogue]),
                                np.array([0.0]), weights)  # fmt: skip
        k = np.array([1.0])
        for _ in range(200):
            k = dynamics.conditional_contribution(k, m, rho)
        return float(k[0])

    neither = settled(0.5, 0.0, 0.0)
    assert neither < 0.5  # decays from a full first contribution
    assert settled(0.5, 0.0, 0.6) > neither  # communication: dialogue
    assert settled(0.5, governance.detection_probability(0.0, 0.6, 12, 12), 0.0) > neither
    assert settled(0.5, 1.0, 0.0) > neither  # certain audits


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
    # Pattern 8: ℓ = ℓ0 (1 − δ_r c)(1 − δ_a p)(1 − δ_g g), g diluted by village size.
    a = DEFAULTS.accountability

    def leak(audit: float, grassroots_effect: float, village: float) -> float:
        g = grassroots_monitoring(0.2 * 0.4, village, a.free_riding_size)
        return leakage_share(a.base_leakage, 0.8, a.role_clarity_effect, audit,
                             a.audit_deterrence, g, grassroots_effect)  # fmt: skip

    status_quo = leak(a.audit_probability, a.grassroots_effect, 50)
    audits = leak(1.0, a.grassroots_effect, 50)
    grassroots = leak(a.audit_probability, 1.0, 50)
    no_free_riding = leak(a.audit_probability, 1.0, 1e-6)
    assert audits < grassroots < status_quo
    assert status_quo - grassroots < status_quo - no_free_riding


def test_p10_participation_needs_a_community_seat() -> None:
    # Pattern 10: the participation dose is proportional to the community's voice, 0 without
    # a seat (ppp).
    w = np.array([0.4, 0.3, 0.3])
    assert governance.community_voice(w, ["government", "firm", "firm_1"], "community") == 0.0
    assert governance.community_voice(w, ["government", "firm", "community"], "community") > 0.0
