"""Governance rules: exit for distrust as a hazard (closed forms) and who leaves."""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms.governance import exit_probability, leaving_members


def test_exit_probability_is_the_logistic_over_patience() -> None:
    trust = np.array([0.3, 0.2, 0.45])
    got = exit_probability(trust, 0.3, 0.05, 12)
    expected = 1.0 / (1.0 + np.exp(-(0.3 - trust) / 0.05)) / 12
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert got[0] == pytest.approx(1 / 24)  # at the threshold: half the full rate


def test_exit_probability_rises_as_trust_falls_and_is_bounded_by_one_over_patience() -> None:
    trust = np.linspace(0.0, 1.0, 101)
    h = exit_probability(trust, 0.4, 0.03, 6)
    assert np.all(np.diff(h) <= 0)
    assert h.max() <= 1 / 6 and h.min() >= 0


def test_zero_spread_is_the_sharp_threshold() -> None:
    h = exit_probability(np.array([0.299, 0.3, 0.9]), 0.3, 0.0, 4)
    assert h.tolist() == [0.25, 0.0, 0.0]


def test_mean_time_to_exit_far_below_the_threshold_is_the_patience() -> None:
    rng = np.random.default_rng(3)
    h = float(exit_probability(np.array([0.0]), 0.5, 0.01, 12)[0])
    times = rng.geometric(h, size=20_000)
    assert times.mean() == pytest.approx(12.0, rel=0.03)


def test_leaving_members_takes_distrust_exits_and_sustained_losses() -> None:
    got = leaving_members(
        ["a", "b", "c", "d"], np.array([True, False, False, False]), np.array([0, 2, 3, 5]), 3
    )
    assert got == ["a", "c", "d"]
