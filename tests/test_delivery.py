"""Tests for joint delivery: sim.partnership, the welfare rules and power.decision_weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.mechanisms.partnership import (
    COMMUNITY,
    SERVICE_REQUIREMENTS,
    Partnership,
    allocation,
    capability_coverage,
    coordination_cost,
    leakage_share,
    member_nodes,
    service_effectiveness,
)
from sim.mechanisms.power import decision_weights, power_balance
from sim.mechanisms.welfare import (
    INCOME_SCORE_RANGE,
    depreciate,
    dose_response,
    income_from_capital,
    income_score,
    targeting_weights,
    welfare_index,
)
from sim.model.agents import CAPABILITIES, SERVICES

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
K = len(CAPABILITIES)
S = len(SERVICES)

# ---------------------------------------------------------------------------------------------
# capability_coverage, service_effectiveness
# ---------------------------------------------------------------------------------------------


def test_capability_coverage_hand_case():
    caps = np.array([[0.5, 0.2, 0.0, 1.0, 0.1], [0.5, 0.5, 0.0, 0.3, 0.1]])
    expected = [0.75, 0.6, 0.0, 1.0, 0.19]
    np.testing.assert_allclose(capability_coverage(caps), expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(capability_coverage(caps[:1]), caps[0], rtol=1e-15, atol=1e-16)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), m=st.integers(min_value=1, max_value=6))
def test_adding_a_member_never_lowers_coverage(data, m):
    caps = data.draw(arrays(np.float64, (m, K), elements=unit))
    newcomer = data.draw(arrays(np.float64, (1, K), elements=unit))
    before = capability_coverage(caps)
    after = capability_coverage(np.vstack([caps, newcomer]))
    assert np.all(after >= before)
    assert np.all((after >= 0) & (after <= 1))
    assert np.all(after >= newcomer[0] - 1e-15)


def test_service_requirements_rows_sum_to_one():
    assert SERVICE_REQUIREMENTS.shape == (S, K)
    np.testing.assert_allclose(SERVICE_REQUIREMENTS.sum(axis=1), 1.0, rtol=1e-14)
    assert np.all(SERVICE_REQUIREMENTS >= 0)


def test_service_effectiveness_full_coverage_is_one():
    np.testing.assert_array_equal(service_effectiveness(np.ones(K)), np.ones(S))


def test_service_effectiveness_hand_case():
    cov = np.array([0.25, 1.0, 1.0, 0.5, 1.0])
    # health needs no facilitation: 0.25^0.3; training: 0.25^0.2 · 0.5^0.4
    expected = [0.25**0.3, 0.25**0.3 * 0.5**0.1, 0.25**0.4, 0.25**0.2 * 0.5**0.4, 0.5**0.4]
    np.testing.assert_allclose(service_effectiveness(cov), expected, rtol=1e-13)
    # a missing capability stops every service that needs it
    zero_auth = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(service_effectiveness(zero_auth), [0, 0, 0, 1, 0])


@pytest.mark.parametrize("k", range(K))
def test_service_effectiveness_increasing_in_each_capability(k):
    levels = np.linspace(0.05, 1.0, 20)
    effs = []
    for level in levels:
        cov = np.full(K, 0.6)
        cov[k] = level
        effs.append(service_effectiveness(cov))
    effs = np.array(effs)
    needs = SERVICE_REQUIREMENTS[:, k] > 0
    assert np.all(np.diff(effs[:, needs], axis=0) > 0)
    np.testing.assert_allclose(np.diff(effs[:, ~needs], axis=0), 0.0, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    cov=arrays(np.float64, K, elements=unit),
    bump=arrays(np.float64, K, elements=unit),
)
def test_service_effectiveness_monotone_in_coverage(cov, bump):
    higher = cov + bump * (1.0 - cov)
    lo = service_effectiveness(cov)
    hi = service_effectiveness(higher)
    assert np.all(hi >= lo - 1e-12)
    assert np.all((lo >= 0) & (hi <= 1.0 + 1e-15))


# ---------------------------------------------------------------------------------------------
# allocation
# ---------------------------------------------------------------------------------------------


def test_allocation_hand_case():
    prefs = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    got = allocation(prefs, np.array([0.75, 0.25]))
    np.testing.assert_allclose(got, [0.375, 0.425, 0.2], rtol=1e-14)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), m=st.integers(1, 6), holder=st.integers(0, 5))
def test_allocation_sums_to_one_and_follows_a_dictator(data, m, holder):
    holder %= m
    prefs = data.draw(arrays(np.float64, (m, S), elements=st.floats(0.01, 1.0)))
    prefs /= prefs.sum(axis=1, keepdims=True)
    weights = data.draw(arrays(np.float64, m, elements=st.floats(0.0, 1.0)))
    weights[0] += 0.01
    assert allocation(prefs, weights).sum() == pytest.approx(1.0, rel=1e-12)
    dictator = np.zeros(m)
    dictator[holder] = 1.0
    np.testing.assert_allclose(allocation(prefs, dictator), prefs[holder], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# leakage_share (grassroots monitoring: tests/test_accountability.py)
# ---------------------------------------------------------------------------------------------


def test_leakage_olken_calibration():
    """Olken (2007): audits at 100% cut missing expenditures by ~30% of the 28% base."""
    none = leakage_share(0.28, 0.0, 0.5, 0.0, 0.3, 0.0, 0.3)
    audited = leakage_share(0.28, 0.0, 0.5, 1.0, 0.3, 0.0, 0.3)
    assert none == pytest.approx(0.28, rel=1e-15)
    assert audited == pytest.approx(0.28 * 0.7, rel=1e-14)
    assert 1.0 - audited / none == pytest.approx(0.3, rel=1e-12)
    assert none - audited == pytest.approx(0.084, rel=1e-12)  # ~8 points of 28


def test_leakage_hand_case():
    got = leakage_share(0.4, 0.5, 0.4, 0.25, 0.8, 0.5, 0.2)
    assert got == pytest.approx(0.4 * 0.8 * 0.8 * 0.9, rel=1e-14)


@pytest.mark.parametrize("which", ["role_clarity", "audit_probability", "monitoring"])
def test_leakage_decreasing_in_each_lever(which):
    base = {"role_clarity": 0.3, "audit_probability": 0.2, "monitoring": 0.4}
    effects = {
        "role_clarity_effect": 0.5,
        "audit_deterrence": 0.3,
        "monitoring_effect": 0.6,
    }
    values = []
    for level in np.linspace(0.0, 1.0, 11):
        args = {**base, which: level}
        values.append(leakage_share(0.28, **args, **effects))
    assert np.all(np.diff(values) < 0)
    assert np.all(np.array(values) > 0)


# ---------------------------------------------------------------------------------------------
# member_nodes
# ---------------------------------------------------------------------------------------------

ORGS = {"government": ["government_0"], "firm": ["firm_0", "firm_1"], "ngo": ["ngo_0"]}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("none", []),
        ("ppp", ["government_0", "firm_0", "firm_1"]),
        ("psp", ["firm_0", "firm_1", COMMUNITY]),
        ("pmg", ["government_0", COMMUNITY]),
        ("msp", ["government_0", "firm_0", "firm_1", "ngo_0", COMMUNITY]),
    ],
)
def test_member_nodes(kind, expected):
    assert member_nodes(kind, ORGS) == expected


def test_member_nodes_missing_kind_and_unknown_type():
    assert member_nodes("msp", {"government": ["g"]}) == ["g", COMMUNITY]
    with pytest.raises((KeyError, ValueError)):
        member_nodes("cartel", ORGS)


# ---------------------------------------------------------------------------------------------
# Partnership
# ---------------------------------------------------------------------------------------------

PER_MEMBER = (
    "views",
    "anchors",
    "positions",
    "belief",
    "contribution",
    "promised",
    "low_trust_steps",
    "loss_steps",
    "weights",
    "unfairness",
    "net_benefit",
    "arrears",
    "owed",
)
PER_SERVICE = ("effort", "spent", "gained")


def _form(members: list[str], goal_clarity: float = 0.4, seed: int = 0, spread: float = 1.0):
    return Partnership.form(
        "msp",
        members,
        goal_clarity=goal_clarity,
        view_spread=spread,
        commitment=0.6,
        rng=np.random.default_rng(seed),
    )


def _check_aligned(p: Partnership) -> None:
    arrays_found = {
        f.name for f in dataclasses.fields(p) if isinstance(getattr(p, f.name), np.ndarray)
    }
    assert set(PER_MEMBER) | set(PER_SERVICE) == arrays_found
    for name in PER_MEMBER:
        assert getattr(p, name).shape == (p.size,), name
    for name in PER_SERVICE:
        assert getattr(p, name).shape == (S,), name
    assert p.weights.sum() == pytest.approx(1.0, rel=1e-12)


def test_form_with_clear_goal_has_identical_views():
    p = _form(["a", "b", "c", "d"], goal_clarity=1.0)
    np.testing.assert_array_equal(p.views, 0.5)
    assert np.ptp(p.views) == 0.0
    np.testing.assert_array_equal(p.anchors, p.views)
    _check_aligned(p)


@pytest.mark.parametrize("spread", [0.5, 1.0])
@pytest.mark.parametrize("clarity", [0.0, 0.3, 0.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_form_view_spread(clarity, spread, seed):
    members = [f"m{i}" for i in range(40)]
    p = _form(members, goal_clarity=clarity, seed=seed, spread=spread)
    half = (1.0 - clarity) * spread / 2.0
    assert np.all(np.abs(p.views - 0.5) <= half + 1e-15)
    # 40 uniform draws fill most of the interval: P(range ≤ half) = 40·½^39 − 39·½^40 ≈ 4e-11
    assert np.ptp(p.views) > half
    np.testing.assert_array_equal(p.anchors, p.views)
    assert p.anchors is not p.views
    np.testing.assert_array_equal(p.promised, 0.6)
    np.testing.assert_allclose(p.weights, 1.0 / 40)
    assert p.active
    _check_aligned(p)


def test_add_member_keeps_arrays_aligned():
    p = _form(["government_0", "firm_0", COMMUNITY])
    p.add_member("ngo_0", 0.9, 0.35)
    assert p.members == ["government_0", "firm_0", COMMUNITY, "ngo_0"]
    _check_aligned(p)
    assert p.views[-1] == 0.9
    assert p.anchors[-1] == 0.9
    assert p.promised[-1] == 0.35
    assert p.belief[-1] == 1.0
    assert p.contribution[-1] == 1.0
    assert p.low_trust_steps[-1] == 0
    assert p.unfairness[-1] == 0.0
    with pytest.raises(ValueError, match="already a member"):
        p.add_member("firm_0", 0.5, 0.5)
    _check_aligned(p)


def test_remove_member_drops_its_entry_everywhere():
    members = ["g", "f", "n", COMMUNITY]
    p = _form(members)
    for j, name in enumerate(PER_MEMBER):
        setattr(p, name, np.arange(4) + 10 * j)
    p.weights = np.array([1.0, 2.0, 3.0, 4.0])
    p.remove_member("f")
    assert p.members == ["g", "n", COMMUNITY]
    _check_aligned(p)
    for j, name in enumerate(PER_MEMBER):
        if name == "weights":
            np.testing.assert_allclose(p.weights, np.array([1.0, 3.0, 4.0]) / 8.0)
        else:
            np.testing.assert_array_equal(getattr(p, name), np.array([0, 2, 3]) + 10 * j, name)
    assert p.active


def test_remove_member_below_two_ends_partnership():
    p = _form(["a", "b", "c"])
    p.remove_member("a")
    assert p.active
    assert p.size == 2
    p.remove_member("c")
    assert not p.active
    assert p.members == ["b"]
    _check_aligned(p)


def test_add_then_remove_round_trip():
    p = _form(["a", "b"])
    views = p.views.copy()
    p.add_member("c", 0.1, 0.2)
    p.remove_member("c")
    np.testing.assert_array_equal(p.views, views)
    np.testing.assert_allclose(p.weights, [0.5, 0.5])
    _check_aligned(p)


# ---------------------------------------------------------------------------------------------
# dose_response, depreciate
# ---------------------------------------------------------------------------------------------


def test_dose_response_hand_case():
    got = dose_response(np.array([0.2, 0.0, 1.0, 0.5]), np.array([0.5, 1.0, 3.0, 0.0]), 2.0)
    expected = [0.2 + 0.8 * (1 - np.exp(-1.0)), 1 - np.exp(-2.0), 1.0, 0.5]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


@settings(max_examples=300, deadline=None)
@given(
    stock=arrays(np.float64, st.integers(1, 10), elements=unit),
    dose=st.floats(0.0, 1e3),
    eff=st.floats(0.0, 10.0),
)
def test_dose_response_stays_in_unit_interval_and_never_lowers(stock, dose, eff):
    new = dose_response(stock, np.full(stock.size, dose), eff)
    assert np.all((new >= 0.0) & (new <= 1.0))
    assert np.all(new >= stock)


@pytest.mark.parametrize(("x0", "d", "e"), [(0.0, 0.1, 1.0), (0.3, 0.05, 2.5), (0.9, 0.4, 0.5)])
def test_repeated_doses_closed_form(x0, d, e):
    x = np.array([x0])
    for t in range(1, 61):
        x = dose_response(x, np.array([d]), e)
        assert x[0] == pytest.approx(1.0 - (1.0 - x0) * np.exp(-e * d * t), rel=1e-12), t


@pytest.mark.parametrize(
    ("x0", "delta", "mu"), [(1.0, 0.1, 0.5), (0.7, 0.05, 0.0), (0.4, 0.3, 0.9)]
)
def test_depreciate_closed_form(x0, delta, mu):
    x = np.array([x0])
    for t in range(1, 101):
        x = depreciate(x, delta, np.array([mu]))
        assert x[0] == pytest.approx(x0 * (1.0 - delta * (1.0 - mu)) ** t, rel=1e-12), t
    np.testing.assert_array_equal(depreciate(np.array([0.3, 0.6]), 0.2, np.ones(2)), [0.3, 0.6])


# ---------------------------------------------------------------------------------------------
# targeting_weights
# ---------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 30),
    capture=unit,
)
def test_targeting_weights_mean_one(data, n, capture):
    # zero or comfortably normal values (subnormal means lose precision)
    value = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))
    need = data.draw(arrays(np.float64, n, elements=value))
    status = data.draw(arrays(np.float64, n, elements=value))
    t = targeting_weights(need, status, capture)
    assert t.mean() == pytest.approx(1.0, rel=1e-12)
    assert np.all(t >= 0)


def test_targeting_weights_follow_need_or_status():
    need = np.array([0.8, 0.4, 0.2, 0.0])
    status = np.array([0.1, 0.2, 0.3, 0.6])
    np.testing.assert_allclose(targeting_weights(need, status, 0.0), need / 0.35, rtol=1e-14)
    np.testing.assert_allclose(targeting_weights(need, status, 1.0), status / 0.3, rtol=1e-14)
    np.testing.assert_allclose(
        targeting_weights(need, status, 0.25), 0.75 * need / 0.35 + 0.25 * status / 0.3
    )
    np.testing.assert_array_equal(targeting_weights(np.zeros(3), np.ones(3), 0.0), np.ones(3))


# ---------------------------------------------------------------------------------------------
# income_from_capital, income_score, welfare_index
# ---------------------------------------------------------------------------------------------


def test_income_from_capital_hand_case():
    got = income_from_capital(
        np.array([2.0, 1.0]),
        np.array([0.6, 0.2]),
        np.array([0.2, 0.2]),
        np.array([0.5, 0.1]),
        np.array([0.3, 0.3]),
        0.5,
        1.0,
    )
    # 2·exp(0.5·0.4 + 1.0·0.2);  1·exp(0 − 0.2)
    np.testing.assert_allclose(got, [2.0 * np.exp(0.4), np.exp(-0.2)], rtol=1e-14)


def test_welfare_index_hand_case():
    lo, hi = INCOME_SCORE_RANGE
    assert (lo, hi) == (0.25, 8.0)
    access = np.array([[0.2, 0.4, 0.6], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.3, 0.3, 0.0]])
    capacity = np.array([0.5, 1.0, 0.0, 0.2])
    empowerment = np.array([0.3, 1.0, 0.0, 0.4])
    income = np.array([1.0, 8.0, 0.1, 2.0])
    # log(y/0.25)/log(32): 1 → log 4/log 32 = 2/5; 8 → 1; 0.1 → below the range → 0; 2 → 3/5
    scores = np.array([0.4, 1.0, 0.0, 0.6])
    np.testing.assert_allclose(income_score(income), scores, rtol=1e-14, atol=1e-16)
    expected = [
        (0.4 + 0.5 + 0.3 + 0.4) / 4,
        1.0,
        0.0,
        (0.2 + 0.2 + 0.4 + 0.6) / 4,
    ]
    np.testing.assert_allclose(
        welfare_index(access, capacity, empowerment, income), expected, rtol=1e-14, atol=1e-16
    )
    assert income_score(np.array([100.0]))[0] == 1.0


# ---------------------------------------------------------------------------------------------
# decision_weights
# ---------------------------------------------------------------------------------------------

pos = st.floats(min_value=0.0, max_value=10.0)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    m=st.integers(1, 8),
    mix=st.tuples(unit, unit, unit).filter(lambda t: sum(t) > 0.01),
    balance=unit,
)
def test_decision_weights_sum_to_one(data, m, mix, balance):
    a, r, legit = (data.draw(arrays(np.float64, m, elements=pos)) for _ in range(3))
    w = decision_weights(a, r, legit, mix, balance)
    assert w.shape == (m,)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(w >= balance / m - 1e-15)


def test_decision_weights_balance_extremes():
    authority = np.array([3.0, 1.0, 0.0, 4.0])
    contributed = np.array([1.0, 5.0, 2.0, 2.0])
    legitimacy = np.array([0.2, 0.3, 0.9, 0.1])
    eq = decision_weights(authority, contributed, legitimacy, (0.5, 0.3, 0.2), 1.0)
    np.testing.assert_array_equal(eq, np.full(4, 0.25))
    auth = decision_weights(authority, contributed, legitimacy, (1.0, 0.0, 0.0), 0.0)
    np.testing.assert_allclose(auth, authority / 8.0, rtol=1e-14)
    half = decision_weights(authority, contributed, legitimacy, (0.0, 1.0, 0.0), 0.5)
    np.testing.assert_allclose(half, 0.5 * contributed / 10.0 + 0.125, rtol=1e-14)


@pytest.mark.parametrize("seed", range(6))
def test_power_balance_rises_with_balance(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 7))
    authority, contributed, legitimacy = rng.uniform(0.0, 1.0, size=(3, m)) ** 3
    mix = tuple(rng.dirichlet(np.ones(3)))
    betas = np.linspace(0.0, 1.0, 21)
    balances = [
        power_balance(decision_weights(authority, contributed, legitimacy, mix, b)) for b in betas
    ]
    assert np.all(np.diff(balances) > 0)
    assert balances[-1] == 1.0


# ---------------------------------------------------------------------------------------------
# coordination_cost
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "met", "meet", "miss", "expected"),
    [
        (100, 3, 1, 0.002, 0.001, 0.4),  # 100 · (0.002·1 + 0.001·2)
        (100, 3, 3, 0.002, 0.001, 0.6),  # every pair met
        (100, 3, 0, 0.002, 0.001, 0.3),  # nobody met: three coordination failures
        (500, 7, 0, 0.0, 0.001, 10.5),  # 21 pairs of seven members
        (10, 2, 1, 0.5, 0.25, 5.0),
        (10, 1, 0, 0.5, 0.25, 0.0),  # a single member has nobody to coordinate with
    ],
)
def test_coordination_cost_hand_cases(n, m, met, meet, miss, expected):
    assert coordination_cost(n, m, met, meet, miss) == pytest.approx(expected, abs=1e-12)


@given(m=st.integers(2, 30), data=st.data())
def test_coordination_cost_grows_with_pairs_and_with_miscoordination(m, data):
    met = data.draw(st.integers(0, m * (m - 1) // 2))
    # With equal unit costs, the cost is the number of pairs whatever the meetings.
    assert coordination_cost(1, m, met, 1.0, 1.0) == m * (m - 1) // 2
    # Fewer meetings save money only if miscoordination is cheaper than meeting.
    if met > 0:
        assert coordination_cost(1, m, met - 1, 1.0, 0.5) < coordination_cost(1, m, met, 1.0, 0.5)
        assert coordination_cost(1, m, met - 1, 0.5, 1.0) > coordination_cost(1, m, met, 0.5, 1.0)


def test_coordination_cost_rejects_impossible_meetings():
    with pytest.raises(ValueError, match=r"met_pairs must be in 0..3 for 3 members; got 4"):
        coordination_cost(10, 3, 4, 0.1, 0.1)
