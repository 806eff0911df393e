"""Complementarity as a lever (capability pooling), the trait tables as levers, honest promises.

Exact where hand-computable: the union, the CES mean at its limits (best member, weakest
member), the geometric and arithmetic means; properties over random capabilities; the trait
tables reach the model through the scenario, ``--set`` and files, with one-line errors.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import PartnershipModel
from sim.mechanisms.partnership import (
    CAPABILITIES,
    COMMUNITY_AUTHORITY,
    COMMUNITY_CAPABILITIES,
    SERVICE_REQUIREMENTS,
    announced_plan,
    capability_coverage,
    ces_exponent,
    expected_fulfilment,
    service_effectiveness,
)
from sim.model.delivery import effectiveness
from sim.scenario import Scenario, ScenarioError
from sim.scenario.files import apply_overrides, load_scenario
from sim.scenario.interventions import settable_levers
from sim.scenario.traits import PARTIES, SERVICES, RequirementsSection

CAPS = np.array([[0.5, 0.0, 0.9], [0.2, 1.0, 0.3], [0.8, 0.4, 0.6]])
K = len(CAPABILITIES)


def ces(s: float, caps: np.ndarray = CAPS) -> np.ndarray:
    return capability_coverage(caps, "ces", s)


# ---------------------------------------------------------------------------- the pooling rule
def test_union_is_one_minus_the_product_of_gaps():
    expected = [1 - 0.5 * 0.8 * 0.2, 1.0, 1 - 0.1 * 0.7 * 0.4]
    np.testing.assert_allclose(capability_coverage(CAPS), expected, rtol=1e-15)


def test_ces_limits_are_the_best_and_the_weakest_member_exactly():
    np.testing.assert_array_equal(ces(1.0), [0.8, 1.0, 0.9])
    np.testing.assert_array_equal(ces(-1.0), [0.2, 0.0, 0.3])


def test_ces_middle_points_are_the_geometric_and_arithmetic_means():
    np.testing.assert_allclose(
        ces(0.0), [(0.5 * 0.2 * 0.8) ** (1 / 3), 0.0, (0.9 * 0.3 * 0.6) ** (1 / 3)], rtol=1e-14
    )
    np.testing.assert_allclose(ces(0.5), CAPS.mean(axis=0), rtol=1e-14)
    # Exponents too close to 0 for floating point (subnormal) give the limit, not noise.
    np.testing.assert_allclose(ces(5e-324), ces(0.0), rtol=1e-15)
    # s = 2/3 is rho = 2: the quadratic mean
    np.testing.assert_allclose(ces(2 / 3), np.sqrt((CAPS**2).mean(axis=0)), rtol=1e-12)


def test_ces_exponent_maps_the_bounded_lever_onto_the_whole_family():
    assert ces_exponent(-1.0) == -np.inf and ces_exponent(1.0) == np.inf
    assert ces_exponent(0.0) == 0.0 and ces_exponent(0.5) == 1.0
    assert ces_exponent(-0.5) == -1.0 and ces_exponent(0.75) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ces_exponent(1.5)
    with pytest.raises(ValueError, match="pooling must be one of"):
        capability_coverage(CAPS, "sum")


def test_near_the_limits_no_power_overflows_and_the_mean_approaches_the_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        high, low = ces(0.99999), ces(-0.99999)
    np.testing.assert_allclose(high, ces(1.0), atol=2e-5)
    np.testing.assert_allclose(low, ces(-1.0), atol=2e-5)


caps_strategy = arrays(
    float,
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
    elements=st.floats(0.0, 1.0, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(caps=caps_strategy, s=st.floats(-1.0, 1.0), t=st.floats(-1.0, 1.0))
def test_union_dominates_the_best_member_which_dominates_every_ces_mean(caps, s, t):
    union, best, weakest = capability_coverage(caps), ces(1.0, caps), ces(-1.0, caps)
    mean_s, mean_t = ces(s, caps), ces(t, caps)
    tol = 1e-12
    assert np.all(union >= best - tol)
    assert np.all((weakest - tol <= mean_s) & (mean_s <= best + tol))
    lo, hi = (mean_s, mean_t) if s <= t else (mean_t, mean_s)
    assert np.all(lo <= hi + 1e-9)  # the power mean rises with its exponent
    assert np.all((union >= 0) & (union <= 1))


@settings(max_examples=100, deadline=None)
@given(row=arrays(float, K, elements=st.floats(0.0, 1.0, allow_nan=False)), s=st.floats(-1, 1))
def test_one_member_covers_exactly_what_it_has_under_every_form(row, s):
    np.testing.assert_allclose(capability_coverage(row[None, :]), row, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(ces(s, row[None, :]), row, rtol=1e-12, atol=1e-300)


def test_service_effectiveness_takes_its_requirements():
    cov = np.array([0.25, 1.0, 1.0, 1.0, 1.0])
    req = np.zeros((2, K))
    req[0, 0], req[1, 1] = 1.0, 1.0
    np.testing.assert_allclose(service_effectiveness(cov, req), [0.25, 1.0])
    default = service_effectiveness(cov, SERVICE_REQUIREMENTS)
    assert np.array_equal(service_effectiveness(cov), default)


def test_the_model_uses_the_scenarios_pooling_form():
    caps = np.array([[0.9, 0.8, 0.1, 0.2, 0.1], [0.5, 0.5, 0.9, 0.3, 0.3]])
    best = Scenario.from_dict(
        {"partnership": {"capability_pooling": "ces", "capability_substitutability": 1.0}}
    )
    np.testing.assert_allclose(
        effectiveness(caps, best),
        np.prod(np.power(caps.max(axis=0)[None, :], SERVICE_REQUIREMENTS), axis=1),
        rtol=1e-14,
    )
    union = Scenario.from_dict({"partnership": {"capability_pooling": "union"}})
    np.testing.assert_allclose(
        effectiveness(caps, union), service_effectiveness(capability_coverage(caps)), rtol=1e-15
    )
    np.testing.assert_array_equal(effectiveness(caps, Scenario()), effectiveness(caps, best))


# ---------------------------------------------------------------------------- the trait tables
def test_the_defaults_are_the_models_former_tables():
    s = Scenario()
    assert s.capabilities.row("firm") == (0.9, 0.8, 0.1, 0.2, 0.1)
    assert s.capabilities.row("community") == COMMUNITY_CAPABILITIES == (0.05, 0.2, 0.1, 0.3, 0.9)
    assert s.preferences.row("government") == (0.3, 0.3, 0.3, 0.1, 0.0)
    assert (
        (s.authority.government, s.authority.community)
        == (1.0, COMMUNITY_AUTHORITY)
        == (
            1.0,
            0.1,
        )
    )
    assert SERVICE_REQUIREMENTS[2].tolist() == [0.4, 0.4, 0.1, 0.0, 0.1]
    assert np.allclose(SERVICE_REQUIREMENTS.sum(axis=1), 1.0)
    every = {
        f"{section}.{key}"
        for section in ("capabilities", "preferences", "requirements")
        for key in type(getattr(s, section)).model_fields
    } | {f"authority.{p}" for p in PARTIES}
    # 64 entries; the community's finance, technical and authority capability are constants
    assert len(every) == 61


def test_trait_levers_reach_the_organizations_and_the_community():
    base = Scenario().with_overrides({"population.households": 40, "population.villages": 2})
    changed = base.with_overrides(
        {
            "capabilities.firm_technical": 0.3,
            "capabilities.community_facilitation": 0.5,
            "preferences.ngo_infrastructure": 0.9,
            "authority.firm": 2.0,
            "authority.community": 0.7,
        }
    )
    a, b = PartnershipModel(base, seed=3), PartnershipModel(changed, seed=3)
    firm_a = next(o for o in a.organizations if o.node.startswith("firm"))
    firm_b = next(o for o in b.organizations if o.node.startswith("firm"))
    # Same noise (the same stream), a base lower by 0.5.
    assert firm_b.capabilities[1] == pytest.approx(firm_a.capabilities[1] - 0.5, abs=1e-12)
    assert firm_b.authority == 2.0 and b.authority("community") == 0.7
    assert b.parties.capabilities("community")[3] == 0.5
    ngo_b = next(o for o in b.organizations if o.node.startswith("ngo"))
    assert ngo_b.preferences[2] > 0.4 and ngo_b.preferences.sum() == pytest.approx(1.0)


def test_requirements_rows_are_normalized_and_change_what_a_service_needs():
    req = RequirementsSection(health_finance=0.6)
    row = np.array(req.matrix()[0])
    np.testing.assert_allclose(row, np.array([0.6, 0.3, 0.2, 0.0, 0.2]) / 1.3, rtol=1e-15)
    s = Scenario().with_overrides({"requirements.health_finance": 0.6})
    caps = np.array([[0.5, 0.5, 0.9, 0.3, 0.3]])
    assert effectiveness(caps, s)[0] < effectiveness(caps, Scenario())[0]
    assert effectiveness(caps, s)[1] == effectiveness(caps, Scenario())[1]


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"capabilities.firm_technical": 1.5}, ["capabilities.firm_technical", "1.5", "<= 1"]),
        ({"capabilities.firm_tecnical": 0.5}, ["Did you mean 'capabilities.firm_technical'"]),
        ({"authority.firm": -1}, ["authority.firm", "-1"]),
        ({"partnership.capability_pooling": "sum"}, ["capability_pooling", "'sum'", "union"]),
        ({"partnership.capability_substitutability": 2}, ["capability_substitutability", "2"]),
        (
            {f"preferences.firm_{s}": 0.0 for s in SERVICES},
            ["every preference of firm is 0", "at least one positive"],
        ),
    ],
)
def test_bad_trait_values_are_refused_in_one_line(overrides, fragments):
    with pytest.raises(ScenarioError) as info:
        Scenario().with_overrides(overrides)
    message = str(info.value)
    assert "\n" not in message.strip()
    for fragment in fragments:
        assert fragment in message


def test_a_scenario_file_and_set_reach_the_tables(tmp_path):
    path = tmp_path / "traits.toml"
    path.write_text(
        "[capabilities]\nfirm_technical = 0.6\n\n[requirements]\nhealth_local_knowledge = 0.3\n"
        '\n[partnership]\ncapability_pooling = "ces"\ncapability_substitutability = 0.0\n'
    )
    s = load_scenario(path)
    assert s.capabilities.firm_technical == 0.6 and s.requirements.health_local_knowledge == 0.3
    assert s.partnership.capability_pooling == "ces"
    s = apply_overrides(s, ["firm_technical=0.7", "authority.ngo=0.5"])  # a bare key too
    assert s.capabilities.firm_technical == 0.7 and s.authority.ngo == 0.5


def test_trait_tables_are_fixed_for_a_run_but_the_pooling_form_can_be_set():
    settable = set(settable_levers(Scenario()))
    for lever in (
        "capabilities.firm_technical",
        "authority.government",
        "preferences.ngo_health",
        "requirements.health_finance",
    ):
        assert lever not in settable
    assert {"partnership.capability_pooling", "partnership.capability_substitutability"} <= (
        settable
    )


def test_a_bad_set_value_exits_2_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--set", "capabilities.ngo_finance=2", "--steps", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "capabilities.ngo_finance" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- honest promises
def test_partners_expect_of_each_member_what_the_others_believe():
    np.testing.assert_allclose(expected_fulfilment(np.array([1.0, 0.5, 0.0])), [0.25, 0.5, 0.75])
    np.testing.assert_array_equal(expected_fulfilment(np.array([0.4])), [0.4])


def test_the_announced_plan_by_hand():
    pi, r, b = np.array([0.6, 0.6, 0.5]), np.array([10.0, 20.0, 4.0]), np.array([0.5, 1.0, 0.9])
    # b_hat = (0.95, 0.7, 0.75); expected pool 6·0.95 + 12·0.7 + 2·0.75 = 15.6
    assert announced_plan(pi, r, b, 0.6, 0.5) == pytest.approx((15.6 - 0.6) * 0.5, rel=1e-14)
    assert announced_plan(pi, r, b, 0.6, 0.5, "full") == pytest.approx(20.0 * 0.5, rel=1e-14)
    assert announced_plan(pi, r, b, 100.0, 0.5) == 0.0  # coordination eats the whole pool
    with pytest.raises(ValueError, match="basis must be one of"):
        announced_plan(pi, r, b, 0.0, 0.5, "hoped")


@settings(max_examples=100, deadline=None)
@given(
    b=arrays(float, 4, elements=st.floats(0.0, 1.0)),
    cost=st.floats(0.0, 5.0),
)
def test_an_honest_plan_never_exceeds_the_full_promise(b, cost):
    pi, r = np.full(4, 0.6), np.array([3.0, 1.0, 2.0, 0.5])
    assert announced_plan(pi, r, b, cost, 0.8) <= announced_plan(pi, r, b, cost, 0.8, "full")
    if cost == 0.0 and np.all(b == 1.0):
        assert announced_plan(pi, r, b, 0.0, 0.8) == announced_plan(pi, r, b, 0.0, 0.8, "full")


def test_households_judge_the_partnership_by_what_it_announced():
    base = Scenario().with_overrides({"population.households": 60, "population.villages": 2})
    honest = PartnershipModel(base, seed=5).run(24).results()["trust_community"].iloc[-1]
    full = base.with_overrides({"partnership.promise_basis": "full"})
    strict = PartnershipModel(full, seed=5).run(24).results()["trust_community"].iloc[-1]
    # Partners fulfil about half their promises: against the full promise households always
    # receive less than announced, and trust falls.
    assert honest > strict + 0.05
