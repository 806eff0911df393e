"""Exact tests of the science API on published cases and textbook invariants.

Beyond the hand-derived games and closed forms in test_power.py, test_metrics.py and
test_dynamics.py: published weighted voting games, Alkire–Foster decomposability by subgroup,
and DeGroot / Friedkin–Johnsen invariants. (The code has no Deffuant bounded-confidence rule,
so none is tested.)
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.dynamics import degroot_weights, friedkin_johnsen_step
from sim.mechanisms.metrics import alkire_foster
from sim.mechanisms.power import banzhaf, shapley_shubik

# ---------------------------------------------------------------------------------------------
# Weighted voting games from the literature
# ---------------------------------------------------------------------------------------------

# Council of Ministers of the EEC, 1958 (Treaty of Rome, art. 148): France, Germany, Italy 4
# votes each, Belgium and the Netherlands 2, Luxembourg 1; a qualified majority needs 12 of 17.
# Shapley–Shubik: 14/60 for each large member, 9/60 for Belgium and the Netherlands, and 0 for
# Luxembourg, which can never turn a losing coalition into a winning one (every total of the
# others is even except with it, and 12 - 1 = 11 is odd-reachable only by totals it cannot
# complete): Felsenthal & Machover 1998, *The Measurement of Voting Power*, ch. 2; Brams 1976.
# Banzhaf swings: 10 for each large member, 6 for Belgium and the Netherlands, 0 for
# Luxembourg; normalized: 5/21, 5/21, 5/21, 1/7, 1/7, 0.
EEC_1958 = [4, 4, 4, 2, 2, 1]


def test_eec_1958_shapley_shubik() -> None:
    np.testing.assert_allclose(
        shapley_shubik(EEC_1958, 12), [14 / 60] * 3 + [9 / 60] * 2 + [0.0], rtol=0, atol=1e-15
    )


def test_eec_1958_banzhaf() -> None:
    np.testing.assert_allclose(
        banzhaf(EEC_1958, 12), [5 / 21] * 3 + [1 / 7] * 2 + [0.0], rtol=0, atol=1e-15
    )


def test_eec_1958_luxembourg_is_a_dummy_by_enumeration() -> None:
    # Independent check of the published zero: no coalition of the others has exactly 11 votes.
    totals = {sum(c) for r in range(6) for c in itertools.combinations(EEC_1958[:5], r)}
    assert 11 not in totals


def test_weight_is_not_power_51_49_48_3() -> None:
    # [51; 49, 48, 3]: any two players win and no single one does, so the player with 3 votes
    # has exactly the power of the one with 49 (the classic illustration, e.g. Felsenthal &
    # Machover 1998): 1/3 each in both indices.
    np.testing.assert_allclose(shapley_shubik([49, 48, 3], 51), [1 / 3] * 3, atol=1e-15)
    np.testing.assert_allclose(banzhaf([49, 48, 3], 51), [1 / 3] * 3, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Alkire–Foster: subgroup decomposability (Alkire & Foster 2011, property of M0 and H)
# ---------------------------------------------------------------------------------------------


def test_alkire_foster_decomposes_exactly_by_subgroup() -> None:
    # Binary fractions throughout, so the population-weighted sum is exact in floating point.
    w = [0.5, 0.25, 0.25]
    urban = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 1]])  # c = 3/4, 0, 3/4, 1/2
    rural = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0]])  # c = 1, 1/2, 1/4, 3/4
    k = 0.5
    h_u, _, m_u = alkire_foster(urban, w, k)  # poor: 3 of 4; M0 = (3/4 + 3/4 + 1/2)/4 = 1/2
    h_r, _, m_r = alkire_foster(rural, w, k)  # poor: 3 of 4; M0 = (1 + 1/2 + 3/4)/4 = 9/16
    h, _, m0 = alkire_foster(np.vstack([urban, rural]), w, k)
    assert (m_u, m_r) == (0.5, 0.5625)
    assert m0 == 0.5 * m_u + 0.5 * m_r == 0.53125
    assert h == 0.5 * h_u + 0.5 * h_r == 0.75


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4),
    d=st.integers(1, 5),
    k=st.floats(min_value=0.05, max_value=1.0),
)
def test_alkire_foster_m0_and_h_are_population_weighted_sums(data, sizes, d, k) -> None:
    raw = np.array(data.draw(st.lists(st.integers(1, 5), min_size=d, max_size=d)), float)
    w = raw / raw.sum()
    groups = [
        np.array(data.draw(st.lists(st.booleans(), min_size=n * d, max_size=n * d))).reshape(n, d)
        for n in sizes
    ]
    n = sum(sizes)
    h, _, m0 = alkire_foster(np.vstack(groups), w, k)
    parts = [alkire_foster(g, w, k) for g in groups]
    shares = [len(g) / n for g in groups]
    assert m0 == pytest.approx(sum(s * p[2] for s, p in zip(shares, parts, strict=True)), abs=1e-12)
    assert h == pytest.approx(sum(s * p[0] for s, p in zip(shares, parts, strict=True)), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# DeGroot and Friedkin–Johnsen invariants
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_degroot_keeps_a_consensus(seed: int) -> None:
    # W·(c·1) = c·1 for any row-stochastic W: a group that agrees stays in agreement.
    rng = np.random.default_rng(seed)
    m = 6
    w = degroot_weights(rng.uniform(0.1, 1, (m, m)), rng.uniform(size=(m, m)) < 0.5, 1.0)
    x = np.full(m, 0.375)
    anchors = rng.uniform(size=m)  # irrelevant under DeGroot (λ = 1)
    for _ in range(50):
        x = friedkin_johnsen_step(x, anchors, w, 1.0)
    np.testing.assert_allclose(x, 0.375, rtol=0, atol=1e-15)


def _doubly_stochastic(m: int, rng: np.random.Generator) -> np.ndarray:
    """A Birkhoff mixture of the identity and random permutation matrices."""
    coef = rng.dirichlet(np.ones(4))
    w = coef[0] * np.eye(m)
    for c in coef[1:]:
        w += c * np.eye(m)[rng.permutation(m)]
    return w


@pytest.mark.parametrize("seed", range(5))
def test_degroot_doubly_stochastic_preserves_the_average(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = 7
    w = _doubly_stochastic(m, rng)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-14)
    x0 = rng.uniform(size=m)
    x = x0.copy()
    for _ in range(30):
        x = friedkin_johnsen_step(x, x0, w, 1.0)
        assert x.mean() == pytest.approx(x0.mean(), abs=1e-14)


def test_degroot_symmetric_trust_on_complete_graph_converges_to_plain_mean() -> None:
    # Equal trust on a complete graph gives a symmetric, hence doubly stochastic, W whose left
    # eigenvector is uniform: the consensus is the plain average of the initial views.
    m = 5
    w = degroot_weights(np.full((m, m), 0.6), ~np.eye(m, dtype=bool), 0.6)
    x0 = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    x = x0.copy()
    for _ in range(200):
        x = friedkin_johnsen_step(x, x0, w, 1.0)
    np.testing.assert_allclose(x, 0.5, atol=1e-12)


def test_friedkin_johnsen_closed_form_two_parties() -> None:
    # W = [[1/2, 1/2], [1/2, 1/2]], λ = 1/2, x0 = (0, 1):
    # x* = (I − λW)^{-1} (1 − λ) x0 = [[3/2, 1/2], [1/2, 3/2]] · (0, 1/2) = (1/4, 3/4).
    w = np.full((2, 2), 0.5)
    x0 = np.array([0.0, 1.0])
    fixed = np.array([0.25, 0.75])
    assert friedkin_johnsen_step(fixed, x0, w, 0.5).tolist() == [0.25, 0.75]
    x = x0.copy()
    for _ in range(60):
        x = friedkin_johnsen_step(x, x0, w, 0.5)
    np.testing.assert_allclose(x, fixed, rtol=0, atol=1e-15)
