"""Households act on their trust: take-up of services (welfare.takeup, programme_trust)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import PartnershipModel
from sim.mechanisms.welfare import TAKEN_UP, programme_trust, takeup
from sim.model.agents import SERVICES
from sim.model.delivery import Scratch, distribute

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_takeup_hand_cases():
    trust = np.array([0.0, 0.25, 0.5, 1.0])
    assert takeup(trust, 0.0).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert takeup(trust, 1.0).tolist() == [0.0, 0.25, 0.5, 1.0]
    assert takeup(trust, 0.5).tolist() == [0.5, 0.625, 0.75, 1.0]


@settings(max_examples=200, deadline=None)
@given(trust=arrays(np.float64, 7, elements=unit), theta=unit, bump=unit)
def test_takeup_is_a_share_rising_in_trust_and_falling_in_sensitivity(trust, theta, bump):
    u = takeup(trust, theta)
    assert np.all((u >= 1.0 - theta - 1e-15) & (u <= 1.0 + 1e-15))
    assert np.all(takeup(np.minimum(1.0, trust + bump), theta) >= u - 1e-15)
    assert np.all(takeup(trust, min(1.0, theta + bump)) <= u + 1e-15)


def test_takeup_writes_into_out():
    trust = np.array([0.2, 0.6])
    out = np.empty(2)
    assert takeup(trust, 0.5, out=out) is out
    np.testing.assert_allclose(out, [0.6, 0.8], rtol=0, atol=1e-15)


def test_programme_trust_counts_tied_organizations_only():
    trust = np.array([[0.2, 0.8, 0.5], [0.2, 0.8, 0.5], [0.2, 0.8, 0.5]])
    tied = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    # Household 2 is tied to none of columns 0-1: its plain mean over them.
    got = programme_trust(trust, [0, 1], tied)
    np.testing.assert_allclose(got, [0.5, 0.8, 0.5], rtol=0, atol=1e-15)
    assert programme_trust(trust, [2], tied).tolist() == [0.5, 0.5, 0.5]


def test_only_clinics_schools_and_courses_are_taken_up():
    assert [s for s, t in zip(SERVICES, TAKEN_UP, strict=True) if t] == [
        "health",
        "education",
        "training",
    ]


class _Hh:
    """The two arrays distribute reads, for a hand case."""

    def __init__(self, stock: np.ndarray, income: np.ndarray) -> None:
        self.stock, self.income = stock, income

    def __len__(self) -> int:
        return len(self.income)


@pytest.mark.parametrize("everyone", [True, False])
def test_distribute_scales_the_dose_of_taken_up_services_not_what_was_received(everyone):
    n = 4
    hh = _Hh(np.asfortranarray(np.zeros((n, len(SERVICES)))), np.ones(n))
    value = np.array([4.0, 8.0, 12.0, 16.0, 20.0])  # equal need: per household value / area
    area = np.arange(n) if everyone else np.array([1, 3])
    u = np.array([0.5, 0.25, 1.0, 0.0])
    dose = np.zeros((n, len(SERVICES)), order="F")
    plain = np.zeros_like(dose)
    received = distribute(hh, Scratch(hh.stock), dose, value, area, 0.0, takeup=u)
    same = distribute(hh, Scratch(hh.stock), plain, value, area, 0.0)
    np.testing.assert_array_equal(received, same)  # households judge what reached them
    each = value / area.size
    for h in area:
        expected = each * np.where(TAKEN_UP, u[h], 1.0)
        np.testing.assert_allclose(dose[h], expected, rtol=1e-15, atol=0)
    outside = np.setdiff1d(np.arange(n), area)
    assert not dose[outside].any()


def _welfare(steps: int = 48, **levers) -> float:
    df = PartnershipModel(seed=5, households=200, villages=4, **levers).run(steps).results()
    return float(df["welfare_mean"].iloc[-1])


def test_households_trust_moves_welfare_only_through_takeup():
    """With take-up following trust, more trusting households gain more; with take-up
    independent of trust, initial trust barely matters (legitimacy only)."""
    low, high = {"population.initial_trust": 0.3}, {"population.initial_trust": 0.7}
    on, off = {"welfare.takeup_trust": 0.5}, {"welfare.takeup_trust": 0.0}
    gap = _welfare(**high, **on) - _welfare(**low, **on)
    gap_off = _welfare(**high, **off) - _welfare(**low, **off)
    assert gap > 0.003
    assert abs(gap_off) < 0.001
    assert _welfare(**off) > _welfare(**on)  # everything offered is used: the most welfare
