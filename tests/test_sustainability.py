"""Sustainability: external funding, O&M, the community O&M body (docs/ODD.md, 7.0 and 7.11).

Exact tests of the pure rules in sim/mechanisms/sustainability.py, and of the model's wiring:
the funding horizon ends only the external part, and whether services last after it depends
on the community O&M body.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import PartnershipModel
from sim.mechanisms import sustainability as s

unit = st.floats(0.0, 1.0)


def test_external_factor_cuts_after_the_horizon_only():
    assert s.external_factor(10, 10, 0.3) == 1.0
    assert s.external_factor(11, 10, 0.3) == 0.3
    assert s.external_factor(10_000, 0, 0.3) == 1.0  # horizon 0: never


def test_available_share_cuts_only_the_external_part():
    share = s.available_share(np.array([0.0, 0.28, 1.0]), 0.5)
    np.testing.assert_allclose(share, [1.0, 1.0 - 0.28 * 0.5, 0.5])
    assert s.available_share(np.array([0.3]), 1.0)[0] == 1.0  # funded: exactly whole


def test_om_body_step_by_hand():
    # S' = S + r_f b (1 - S) - r_d (1 - p) S
    assert s.om_body_step(0.2, 0.5, 0.25, 0.1, 0.2) == pytest.approx(
        0.2 + 0.1 * 0.5 * 0.8 - 0.2 * 0.75 * 0.2
    )
    assert s.om_body_step(0.0, 0.0, 0.0, 0.1, 0.2) == 0.0  # nothing forms without facilitation
    assert s.om_body_step(0.7, 0.0, 1.0, 0.1, 0.2) == 0.7  # every user pays: it persists


@given(unit, unit, unit, unit, unit)
def test_om_body_stays_a_share(strength, facilitation, payment, rf, rd):
    assert -1e-12 <= s.om_body_step(strength, facilitation, payment, rf, rd) <= 1 + 1e-12


def test_om_body_without_facilitation_decays_geometrically():
    strength, payment, rd = 0.8, 0.4, 0.05
    for _ in range(24):
        strength = s.om_body_step(strength, 0.0, payment, 0.05, rd)
    assert strength == pytest.approx(0.8 * (1 - rd * (1 - payment)) ** 24)


def test_om_share_and_upkeep_share():
    assert s.om_share(0.5, 0.5, 0.1) == pytest.approx(0.35)
    assert s.om_share(1.0, 0.9, 0.5) == 1.0
    community = np.array([0.0, 0.2])
    assert s.upkeep_share(community, 0.0) is community  # no funded O&M: the same array
    np.testing.assert_allclose(s.upkeep_share(community, 0.5), [0.5, 0.6])


def test_user_payment_and_service_continuity():
    assert s.user_payment(0.5, 0.8) == pytest.approx(0.4)
    assert s.service_continuity(0.45, 0.6) == pytest.approx(0.75)
    assert s.service_continuity(0.2, 0.0) == 1.0
    assert s.service_continuity(0.7, 0.6) == 1.0  # grown beyond the peak: all of it works


SMALL = {"households": 150, "villages": 3}
CUT = {"partnership.funding_horizon": 24, "partnership.funding_after": 0.0}
DONOR = {"organizations.external_government": 1.0, "organizations.external_firm": 1.0}


def _run(steps: int = 60, **levers) -> PartnershipModel:
    return PartnershipModel(seed=3, **SMALL, **levers).run(steps)


def test_no_community_no_body_and_outputs_as_before():
    """Without the community as a partner no body forms; the upkeep is households' own."""
    df = _run(24, **{"partnership.type": "ppp"}).results()
    assert (df["om_body"] == 0).all()
    assert (df["service_continuity"] <= 1).all() and df["service_continuity"].iloc[0] == 1


def test_body_forms_in_a_partnership_with_the_community_and_erodes_after_the_cut():
    df = _run(60, **CUT, **DONOR).results().set_index("step")
    assert 0 < df.loc[12, "om_body"] < df.loc[24, "om_body"]
    assert df.loc[60, "om_body"] < df.loc[24, "om_body"]  # no facilitation, partial payment


def test_sustainability_either_way():
    """A donor-funded programme without an O&M body loses its services after the cut; with the
    government's own budget and a body whose users pay, services last."""
    collapse = _run(60, **CUT, **DONOR, **{"welfare.om_formation": 0.0}).results()
    lasting = _run(60, **CUT, **{"welfare.fee_compliance": 1.0}).results()
    assert collapse["service_continuity"].iloc[-1] < 0.8
    assert lasting["service_continuity"].iloc[-1] > 0.98
    w0 = collapse["welfare_mean"].iloc[0]
    kept = lambda df: (df["welfare_mean"].iloc[-1] - w0) / (df["welfare_mean"].iloc[24] - w0)  # noqa: E731
    assert kept(collapse) < 0.6 < 1.0 < kept(lasting)
