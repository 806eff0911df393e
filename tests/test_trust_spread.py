"""The `trust_spread` output: the standard deviation over households of the trust take-up reads.

Each household's trust is :func:`sim.mechanisms.welfare.programme_trust` over every
organization (its mean trust in those it is tied to; tied to none: its mean over all), and the
spread is the population standard deviation of those values (docs/ODD.md, section 8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import PartnershipModel
from sim.mechanisms.welfare import programme_trust
from sim.model.outcomes import HouseholdOutcomes
from sim.scenario.outcomes import DECLARED

from .conftest import SCENARIOS


def _spread(model: PartnershipModel, trust: np.ndarray, tied: np.ndarray, out=None) -> float:
    """``trust_spread`` as data collection computes it, for these trust values and ties."""
    model.hh.trust[:] = trust
    out = out or HouseholdOutcomes()
    return out(
        model.hh,
        poorest=model.poorest,
        tied_weight=tied,
        tied_count=int(tied.sum()),
        cutoff=0.4,
        k=1 / 3,
    )["trust_spread"]


@pytest.fixture
def tiny() -> PartnershipModel:
    return PartnershipModel(
        seed=1, households=3, villages=1, governments=1, firms=1, ngos=0, type="ppp"
    )


def test_hand_case_with_an_untied_household(tiny):
    trust = np.array([[0.2, 0.8], [0.6, 0.0], [0.4, 0.4]])
    tied = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    # T = [0.5, 0.6, 0.4] (the third is tied to none: its mean over both); mean 0.5,
    # deviations 0, +0.1, -0.1: variance 0.02 / 3.
    assert _spread(tiny, trust, tied) == pytest.approx(math.sqrt(0.02 / 3), rel=1e-14)


def test_equal_trust_has_no_spread_and_extremes_reach_the_declared_bound(tiny):
    tied = np.ones((3, 2))
    assert _spread(tiny, np.full((3, 2), 0.7), tied) == pytest.approx(0.0, abs=1e-15)
    # Two households at 0 and one at 1 give sqrt(2)/3 = 0.471: within the declared 0.5.
    extreme = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    assert _spread(tiny, extreme, tied) == pytest.approx(math.sqrt(2) / 3, rel=1e-14)
    assert DECLARED["trust_spread"].bounds == (0.0, 0.5)


def test_new_ties_are_counted_again(tiny):
    """The number of ties per household is kept per ties array, never carried to another."""
    collector = HouseholdOutcomes()
    trust = np.array([[0.2, 0.8], [0.6, 0.0], [0.4, 0.4]])
    first = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    second = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0]])  # T = [0.8, 0.3, 0.4]
    assert _spread(tiny, trust, first, collector) == pytest.approx(math.sqrt(0.02 / 3))
    assert _spread(tiny, trust, second, collector) == pytest.approx(math.sqrt(0.14 / 3))
    got = _spread(tiny, trust, first, collector)
    assert got == pytest.approx(math.sqrt(0.02 / 3), rel=1e-14)


@pytest.mark.parametrize("scenario", ["msp", "baseline"])
def test_recorded_spread_is_the_spread_of_the_trust_take_up_reads(scenario):
    model = PartnershipModel.from_scenario(
        SCENARIOS / f"{scenario}.toml", seed=4, households=300, villages=3
    )
    for _ in range(3):
        model.run(5)
        k = model.hh.trust.shape[1]
        t = programme_trust(model.hh.trust, list(range(k)), model.structure.tied_weight)
        assert model.metrics["trust_spread"] == pytest.approx(float(np.std(t)), rel=1e-12)
        assert 0.0 < model.metrics["trust_spread"] < 0.5


def test_diffusion_along_social_ties_narrows_the_spread():
    """DeGroot averaging pulls neighbours' trust together: a lower spread, same seed.

    Measured at this size (400 households, 4 villages, seed 2, month 24): 0.061 without
    diffusion and 0.023 at ω = 0.3, while mean trust (`trust_community`) moves by 0.004.
    """
    runs = {}
    for omega in (0.0, 0.3):
        model = PartnershipModel(
            seed=2, households=400, villages=4, **{"dynamics.household_diffusion": omega}
        )
        runs[omega] = model.run(24).results().iloc[-1]
    assert runs[0.3]["trust_spread"] < 0.5 * runs[0.0]["trust_spread"]
    assert abs(runs[0.3]["trust_community"] - runs[0.0]["trust_community"]) < 0.01
