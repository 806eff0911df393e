"""Scenario discovery: PRIM finds a known box; bad inputs and a broken install are refused."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from sim.experiments.discovery import DiscoveryError, prim_box


def _synthetic(n: int = 2000, noise: float = 0.0, seed: int = 0):
    """Four inputs on [0, 1]; failures exactly in a > 0.6 and b < 0.3 (c, d irrelevant)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 4)), columns=["a", "b", "c", "d"])
    failed = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy()
    flip = rng.uniform(size=n) < noise
    return x, failed ^ flip


def _edge_tolerance(x: pd.DataFrame, failed: np.ndarray, width: float, alpha: float) -> float:
    """How far PRIM's limit can sit from a true edge, from the sample itself.

    Each peel removes the ``alpha`` quantile of the box's runs along one input, a slab of
    about ``alpha * w / (1 - alpha)`` for a box ``w`` wide there (the last peel before the
    edge may stop up to one slab outside it). The quantile itself varies from sample to
    sample with standard deviation ``sqrt(alpha (1 - alpha) / m) * w`` for ``m`` runs in the
    box; three of those on top.
    """
    m = int(failed.sum())
    return alpha * width / (1 - alpha) + 3 * np.sqrt(alpha * (1 - alpha) / m) * width


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_prim_recovers_a_known_box(seed):
    x, failed = _synthetic(seed=seed)
    n, alpha = len(x), 0.05
    box = prim_box(x, failed, threshold=0.9, peel_alpha=alpha)
    assert box.restricted == ("a", "b")
    (a_low, a_high), (b_low, b_high) = box.limits["a"], box.limits["b"]
    tol_a = _edge_tolerance(x, failed, 0.4, alpha)  # the box is 0.4 wide along a
    tol_b = _edge_tolerance(x, failed, 0.3, alpha)  # and 0.3 along b
    assert a_low == pytest.approx(0.6, abs=tol_a) and b_high == pytest.approx(0.3, abs=tol_b)
    # Unpeeled sides stay at the sample's extremes: the gap to 0 or 1 is exponential with
    # mean 1/n, so beyond 10/n once in e^10 samples.
    assert a_high == pytest.approx(x["a"].max()) and 1 - a_high < 10 / n
    assert b_low == pytest.approx(x["b"].min()) and b_low < 10 / n
    assert box.coverage >= 0.9 and box.density >= 0.9
    # The true box holds 0.4 x 0.3 = 12% of the runs (binomial sd sqrt(.12 .88 / n) = 0.007).
    assert box.base_rate == pytest.approx(0.12, abs=3 * np.sqrt(0.12 * 0.88 / n))
    assert box.mass == pytest.approx(box.coverage * box.base_rate / box.density)
    assert box.runs == pytest.approx(box.mass * n, abs=0.5)


def test_a_box_in_the_middle_of_a_range_is_found_on_both_sides():
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.uniform(size=(3000, 3)), columns=["a", "b", "c"])
    failed = x["b"].between(0.3, 0.7).to_numpy()
    box = prim_box(x, failed, threshold=0.9)
    assert box.restricted == ("b",)
    tol = _edge_tolerance(x, failed, 0.4, 0.05)
    assert box.limits["b"][0] == pytest.approx(0.3, abs=tol)
    assert box.limits["b"][1] == pytest.approx(0.7, abs=tol)
    assert box.density >= 0.9 and box.coverage >= 0.9


def test_prim_with_noisy_labels_still_restricts_only_the_causes():
    x, failed = _synthetic(noise=0.05, seed=3)
    box = prim_box(x, failed, threshold=0.7)
    assert set(box.restricted) == {"a", "b"}
    assert box.density >= 0.7 and box.coverage >= 0.6
    # Five percent of labels flipped everywhere: the box is denser than the whole space.
    assert box.density > 3 * box.base_rate


def test_the_trajectory_trades_coverage_for_density():
    x, failed = _synthetic(seed=4)
    box = prim_box(x, failed)
    traj = box.trajectory
    assert traj["coverage"].iloc[0] == 1.0 and traj["mass"].iloc[0] == 1.0
    assert traj["density"].iloc[0] == pytest.approx(failed.mean())
    assert (np.diff(traj["mass"]) <= 1e-12).all()  # peeling only shrinks the box
    assert traj["density"].iloc[box.step] == box.density


@pytest.mark.parametrize(
    ("inputs", "failed", "message"),
    [
        (pd.DataFrame(), [], "non-empty table"),
        (pd.DataFrame({"a": [0.1, 0.2]}), [True], "one value per run"),
        (pd.DataFrame({"a": [0.1, 0.2]}), [False, False], "no run failed"),
        (pd.DataFrame({"a": [0.1, 0.2]}), [2, 0], "True/False"),
        (pd.DataFrame({"a": ["x", "y"]}), [True, False], "numeric columns only"),
        (pd.DataFrame({"a": [0.1, np.nan]}), [True, False], "NaN or infinite"),
    ],
)
def test_bad_inputs_are_refused(inputs, failed, message):
    with pytest.raises(DiscoveryError, match=message):
        prim_box(inputs, failed)


def test_bad_settings_are_refused():
    x, failed = _synthetic(n=50)
    with pytest.raises(DiscoveryError, match=r"threshold = 1\.5"):
        prim_box(x, failed, threshold=1.5)


def test_a_broken_install_says_what_to_reinstall(monkeypatch):
    x, failed = _synthetic(n=50)
    monkeypatch.setitem(sys.modules, "ema_workbench", None)  # import fails as if absent
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    with pytest.raises(DiscoveryError, match=r"pip install 'ema_workbench>=2.5,<3'"):
        prim_box(x, failed)
