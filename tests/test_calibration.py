"""History matching on a tiny problem with a known answer; resuming; the folder's bookkeeping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiments.history_matching import (
    HistoryMatchError,
    Observation,
    Settings,
    history_match,
    toy_simulator,
)
from sim.scenario.priors import Prior, Priors

# Three levers with uniform priors on [0, 1]: the toy reads the first as a, the second as b
# (y1 = a + b, y2 = a - b); the third moves nothing. Truth: a = 0.3, b = 0.7.
LEVERS = ["dynamics.learning_rate", "dynamics.repair_rate", "dynamics.realign_rate"]
PRIORS = Priors(
    prior=[
        Prior(lever=name, distribution="uniform", low=0.0, high=1.0, reason="toy")
        for name in LEVERS
    ]
)
FIT = [Observation.from_band("y1", 0.95, 1.05), Observation.from_band("y2", -0.45, -0.35)]
SETTINGS = Settings(waves=3, points=20, candidates=4000, draws=300, confirm=6, seed=3)


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hm")
    return folder, history_match(PRIORS, FIT, toy_simulator, folder, SETTINGS, label="toy")


def test_the_posterior_recovers_the_known_parameters(matched):
    _, hm = matched
    post = hm.posterior[LEVERS]
    a, b, c = LEVERS
    assert post[a].mean() == pytest.approx(0.3, abs=0.03)
    assert post[b].mean() == pytest.approx(0.7, abs=0.03)
    prior_sd = (1 / 12) ** 0.5
    assert post[a].std() / prior_sd < 0.15  # pinned down
    assert post[b].std() / prior_sd < 0.15
    assert post[c].std() / prior_sd > 0.7  # moves no target: stays near its prior
    assert 0.2 < post[c].mean() < 0.8


def test_waves_shrink_the_plausible_region_and_confirmation_meets_the_bands(matched):
    _, hm = matched
    shares = [w["nroy"] for w in hm.waves]
    assert len(shares) == 3 and shares[-1] < 0.05 and shares == sorted(shares, reverse=True)
    assert len(hm.runs) == 60 and len(hm.confirmation) == 6
    for obs in FIT:  # posterior predictive: sd about 0.03 around the target (0.019 per lever)
        low, high = obs.band
        values = hm.confirmation[f"y:{obs.id}"]
        assert values.mean() == pytest.approx(obs.value, abs=0.035), obs.id
        assert values.between(low, high).sum() >= 4, obs.id
    # the emulator's length scale of the idle lever is longer than those of a and b
    for target in ("y1", "y2"):
        scales = hm.length_scales[target]
        assert scales[2] > 2 * max(scales[0], scales[1])


def test_a_rerun_continues_from_the_folder_and_gives_the_same_posterior(matched, tmp_path):
    folder, first = matched
    calls = []

    def counting(values):
        calls.append(values)
        return toy_simulator(values)

    again = history_match(PRIORS, FIT, counting, folder, SETTINGS, label="toy")
    assert calls == []  # everything was on disk
    pd.testing.assert_frame_equal(again.posterior, first.posterior)
    # a calibration killed in wave 2: its last part and everything after it are lost
    wave2 = sorted((folder / "waves" / "wave_02").glob("part_*.parquet"))
    wave2[-1].unlink()
    for path in (folder / "waves" / "wave_03").glob("*"):
        path.unlink()
    (folder / "draws.parquet").unlink()
    for path in (folder / "confirmation").glob("*"):
        path.unlink()
    resumed = history_match(PRIORS, FIT, counting, folder, SETTINGS, label="toy")
    lost = SETTINGS.points - (len(wave2) - 1) * SETTINGS.chunk
    assert len(calls) == lost + SETTINGS.points + SETTINGS.confirm
    pd.testing.assert_frame_equal(resumed.posterior, first.posterior)
    np.testing.assert_allclose(resumed.ess, first.ess)


def test_a_folder_of_another_calibration_is_refused(matched):
    folder, _ = matched
    other = Settings(**{**SETTINGS.__dict__, "points": 21})
    with pytest.raises(HistoryMatchError, match="different calibration"):
        history_match(PRIORS, FIT, toy_simulator, folder, other, label="toy")


def test_observation_from_a_band_reads_it_as_a_95_percent_interval():
    obs = Observation.from_band("x", 1.0, 3.0, discrepancy=0.5)
    assert obs.value == 2.0
    assert obs.band == pytest.approx((1.0, 3.0))
    assert obs.variance == pytest.approx((1 / 1.96) ** 2 + 0.25)


def test_the_local_engine_gives_the_serial_result(tmp_path):
    small = Settings(waves=1, points=6, candidates=500, draws=20, confirm=3, seed=1, chunk=2)
    serial = history_match(PRIORS, FIT, toy_simulator, tmp_path / "a", small, engine="serial")
    local = history_match(
        PRIORS, FIT, toy_simulator, tmp_path / "b", small, engine="local", workers=2
    )
    pd.testing.assert_frame_equal(serial.runs, local.runs)
    pd.testing.assert_frame_equal(serial.confirmation, local.confirmation)
