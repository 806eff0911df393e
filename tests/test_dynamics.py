"""Tests for sim.dynamics: closed forms, fixed points, hand cases and invariants."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.mechanisms.dynamics import (
    communication_probability,
    conditional_contribution,
    degroot_weights,
    diffuse_on_ties,
    friedkin_johnsen_step,
    motivation,
    partner_experience,
    procedural_unfairness,
    realign_anchors,
    satisfaction,
    shared_understanding,
    trust_update,
    unfairness,
)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def unit_arrays(shape: int | tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, shape, elements=unit)


# ---------------------------------------------------------------------------------------------
# trust_update
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t0", "e", "gain", "loss"),
    [
        (0.9, 0.2, 0.05, 0.3),  # T0 > E: the loss rate applies all along
        (0.6, 0.0, 0.1, 0.5),
        (1.0, 0.75, 0.2, 0.05),
        (0.1, 0.8, 0.05, 0.3),  # T0 < E: the gain rate applies all along
        (0.0, 1.0, 0.2, 0.6),
        (0.3, 0.35, 0.5, 0.1),
    ],
)
def test_trust_update_closed_form_under_constant_experience(t0, e, gain, loss):
    rate = loss if t0 > e else gain
    trust = np.array([t0])
    for t in range(1, 51):
        trust = trust_update(trust, np.array([e]), gain, loss)
        expected = e + (1.0 - rate) ** t * (t0 - e)
        assert trust[0] == pytest.approx(expected, rel=1e-12), t


def test_trust_update_docstring_values():
    got = trust_update(np.array([0.5, 0.5]), np.array([1.0, 0.0]), 0.1, 0.4)
    np.testing.assert_allclose(got, [0.55, 0.3], rtol=1e-15)


@pytest.mark.parametrize("d", [0.01, 0.1, 0.3, 0.5])
@pytest.mark.parametrize(("gain", "loss"), [(0.05, 0.3), (0.1, 0.11), (0.2, 0.9)])
def test_trust_breaks_faster_than_it_builds(d, gain, loss):
    t = np.array([0.5])
    drop = t[0] - trust_update(t, t - d, gain, loss)[0]
    rise = trust_update(t, t + d, gain, loss)[0] - t[0]
    assert drop == pytest.approx(loss * d, rel=1e-12)
    assert rise == pytest.approx(gain * d, rel=1e-12)
    assert drop > rise


def test_trust_update_unobserved_entries_unchanged():
    trust = np.array([[0.2, 0.9], [0.5, 0.4]])
    experience = np.array([[1.0, 0.0], [0.0, 1.0]])
    observed = np.array([[True, False], [False, True]])
    got = trust_update(trust, experience, 0.1, 0.4, observed)
    np.testing.assert_array_equal(got[~observed], trust[~observed])
    np.testing.assert_allclose(got[observed], [0.2 + 0.1 * 0.8, 0.4 + 0.1 * 0.6], rtol=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=12),
    gain=unit,
    loss=unit,
)
def test_trust_update_stays_between_trust_and_experience(data, n, gain, loss):
    trust = data.draw(unit_arrays(n))
    experience = data.draw(unit_arrays(n))
    observed = data.draw(arrays(np.bool_, n))
    new = trust_update(trust, experience, gain, loss, observed)
    assert np.all((new >= 0.0) & (new <= 1.0))
    lo = np.minimum(trust, experience)
    hi = np.maximum(trust, experience)
    assert np.all(new >= lo - 1e-15)
    assert np.all(new <= hi + 1e-15)
    np.testing.assert_array_equal(new[~observed], trust[~observed])


# ---------------------------------------------------------------------------------------------
# DeGroot / Friedkin–Johnsen
# ---------------------------------------------------------------------------------------------


def _random_weights(m: int, seed: int, self_weight: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trust = rng.uniform(0.05, 1.0, size=(m, m))
    talked = np.ones((m, m), dtype=bool)
    return degroot_weights(trust, talked, self_weight)


def _left_stationary(w: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eig(w.T)
    k = int(np.argmin(np.abs(vals - 1.0)))
    pi = np.real(vecs[:, k])
    return pi / pi.sum()


@pytest.mark.parametrize(("m", "seed"), [(2, 0), (3, 1), (5, 2), (8, 3), (12, 4)])
def test_degroot_consensus_is_stationary_weighted_mean(m, seed):
    w = _random_weights(m, seed)
    x0 = np.random.default_rng(100 + seed).uniform(0.0, 1.0, size=m)
    pi = _left_stationary(w)
    np.testing.assert_allclose(pi @ w, pi, atol=1e-12)
    assert np.all(pi > 0)
    x = x0.copy()
    for _ in range(2000):
        x = friedkin_johnsen_step(x, x0, w, 1.0)
    np.testing.assert_allclose(x, np.full(m, pi @ x0), rtol=0, atol=1e-9)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 0.9])
@pytest.mark.parametrize(("m", "seed"), [(3, 5), (6, 6), (10, 7)])
def test_friedkin_johnsen_fixed_point(lam, m, seed):
    w = _random_weights(m, seed, self_weight=0.5)
    rng = np.random.default_rng(200 + seed)
    x0 = rng.uniform(0.0, 1.0, size=m)
    x = rng.uniform(0.0, 1.0, size=m)  # start away from the anchors
    for _ in range(400):
        x = friedkin_johnsen_step(x, x0, w, lam)
    expected = np.linalg.solve(np.eye(m) - lam * w, (1.0 - lam) * x0)
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-10)


def test_friedkin_johnsen_step_hand_case():
    w = np.array([[0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.0, 0.0, 1.0]])
    x = np.array([0.0, 0.4, 1.0])
    x0 = np.array([0.2, 0.2, 0.2])
    # W x = [0.2, 0.45, 1.0]; x' = 0.5·Wx + 0.5·x0
    got = friedkin_johnsen_step(x, x0, w, 0.5)
    np.testing.assert_allclose(got, [0.2, 0.325, 0.6], rtol=1e-14)


def test_degroot_weights_hand_case():
    trust = np.array(
        [
            [0.0, 0.2, 0.6, 0.9],
            [0.3, 0.0, 0.9, 0.9],
            [0.5, 0.5, 0.0, 0.9],
            [0.9, 0.9, 0.9, 0.0],
        ]
    )
    talked = np.zeros((4, 4), dtype=bool)
    for i, j in [(0, 1), (0, 2)]:
        talked[i, j] = talked[j, i] = True
    w = degroot_weights(trust, talked, 0.2)
    expected = np.array(
        [
            [0.2, 0.2, 0.6, 0.0],  # (0.2, 0.2, 0.6) / 1.0
            [0.6, 0.4, 0.0, 0.0],  # (0.3, 0.2) / 0.5
            [0.5 / 0.7, 0.0, 0.2 / 0.7, 0.0],  # (0.5, 0.2) / 0.7
            [0.0, 0.0, 0.0, 1.0],  # talked with nobody: keeps its view
        ]
    )
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    m=st.integers(min_value=1, max_value=8),
    self_weight=st.floats(min_value=0.01, max_value=5.0),
)
def test_degroot_weights_row_stochastic_and_proportional_to_trust(data, m, self_weight):
    trust = data.draw(unit_arrays((m, m)))
    upper = data.draw(arrays(np.bool_, (m, m)))
    talked = np.triu(upper, 1)
    talked = talked | talked.T
    w = degroot_weights(trust, talked, self_weight)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(w >= 0)
    for i in range(m):
        if not talked[i].any():
            assert w[i, i] == 1.0
            assert np.all(np.delete(w[i], i) == 0.0)
        # not talked → zero weight; talked → w_ij / w_ii = T_ij / self_weight
        others = np.arange(m) != i
        assert np.all(w[i, others & ~talked[i]] == 0.0)
        np.testing.assert_allclose(
            w[i, others & talked[i]] * self_weight,
            trust[i, others & talked[i]] * w[i, i],
            rtol=1e-12,
            atol=1e-15,
        )


# ---------------------------------------------------------------------------------------------
# shared_understanding, realign_anchors, communication_probability
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("views", "expected"),
    [
        ([0.0, 1.0], 0.0),
        ([0.3, 0.3, 0.3], 1.0),
        ([0.25, 0.75], 0.5),
        ([0.0, 0.0, 1.0, 1.0], 0.0),
        ([0.4, 0.6], 0.8),
        ([0.7], 1.0),
        ([], 1.0),
    ],
)
def test_shared_understanding_hand_cases(views, expected):
    assert shared_understanding(np.array(views, dtype=float)) == pytest.approx(expected, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(views=arrays(np.float64, st.integers(2, 20), elements=unit))
def test_shared_understanding_in_unit_interval(views):
    su = shared_understanding(views)
    assert 0.0 <= su <= 1.0
    assert su == pytest.approx(max(0.0, 1.0 - 2.0 * float(np.std(views))), abs=1e-12)


def test_realign_anchors_hand_case():
    anchors = np.array([0.0, 0.5, 1.0])
    views = np.array([0.2, 0.4, 0.9])  # mean 0.5
    got = realign_anchors(anchors, views, 0.2)
    np.testing.assert_allclose(got, [0.1, 0.5, 0.9], rtol=1e-14)
    np.testing.assert_array_equal(realign_anchors(anchors, views, 0.0), anchors)
    np.testing.assert_allclose(realign_anchors(anchors, views, 1.0), [0.5, 0.5, 0.5], rtol=1e-15)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), m=st.integers(min_value=1, max_value=8))
def test_communication_probability_formula(data, m):
    trust = data.draw(unit_arrays((m, m)))
    q = data.draw(unit_arrays((m, m)))
    q = np.triu(q) + np.triu(q, 1).T  # symmetric channel quality
    p = communication_probability(trust, q)
    np.testing.assert_array_equal(p, p.T)
    np.testing.assert_array_equal(np.diag(p), 0.0)
    expected = q * (trust + trust.T) / 2.0
    off = ~np.eye(m, dtype=bool)
    np.testing.assert_allclose(p[off], expected[off], rtol=1e-14, atol=1e-300)
    assert np.all((p >= 0) & (p <= 1))


def test_communication_probability_hand_case():
    trust = np.array([[0.0, 0.8, 0.2], [0.4, 0.0, 1.0], [0.6, 0.0, 0.0]])
    q = np.array([[1.0, 0.5, 1.0], [0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
    expected = np.array([[0.0, 0.3, 0.4], [0.3, 0.0, 0.0], [0.4, 0.0, 0.0]])
    np.testing.assert_allclose(communication_probability(trust, q), expected, rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# satisfaction, unfairness
# ---------------------------------------------------------------------------------------------


def test_satisfaction_hand_cases():
    prefs = np.array([[1.0, 1.0], [1.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    got = satisfaction(prefs, np.array([4.0, 3.0]))
    np.testing.assert_allclose(got, [7.0 / (np.sqrt(2) * 5.0), 0.8, 24.0 / 25.0, 0.0], rtol=1e-14)
    # scale-free in both arguments; a zero delivery satisfies nobody
    np.testing.assert_allclose(satisfaction(prefs * 3.0, np.array([0.4, 0.3])), got, rtol=1e-14)
    np.testing.assert_array_equal(satisfaction(prefs, np.zeros(2)), 0.0)


def test_satisfaction_is_one_for_own_mix():
    prefs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    got = satisfaction(prefs, np.array([0.2, 0.4, 1.4]))
    assert got[0] == pytest.approx(1.0, rel=1e-14)
    assert got[1] < 1.0


@pytest.mark.parametrize(
    ("payoffs", "expected"),
    [
        ([1.0, 0.5, 0.0], [0.0, 0.25, 0.75]),
        ([0.9, 0.6, 0.3, 0.0], [0.0, 0.1, 0.3, 0.6]),
        ([0.2, 0.2, 0.2], [0.0, 0.0, 0.0]),
        ([0.4, 0.8], [0.4, 0.0]),
        ([0.7], [0.0]),
    ],
)
def test_unfairness_hand_cases(payoffs, expected):
    np.testing.assert_allclose(unfairness(np.array(payoffs)), expected, rtol=1e-14, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(payoffs=arrays(np.float64, st.integers(2, 15), elements=unit))
def test_unfairness_least_satisfied_feels_it_most(payoffs):
    u = unfairness(payoffs)
    assert np.all(u >= 0)
    assert u[int(np.argmin(payoffs))] == u.max()
    assert u[int(np.argmax(payoffs))] == 0.0
    # a lower payoff never means less unfairness
    order = np.argsort(payoffs, kind="stable")
    assert np.all(np.diff(u[order]) <= 1e-15)


@settings(max_examples=50, deadline=None)
@given(x=unit, m=st.integers(1, 10))
def test_unfairness_of_equal_payoffs_is_zero(x, m):
    np.testing.assert_array_equal(unfairness(np.full(m, x)), 0.0)


# ---------------------------------------------------------------------------------------------
# motivation, conditional_contribution
# ---------------------------------------------------------------------------------------------

WEIGHTS = (0.4, 0.3, 0.2, 0.1, 1.0)


def test_motivation_hand_case():
    got = motivation(
        np.array([0.5, 1.0]), 0.5, 0.5, np.array([1.0, 0.0]), np.array([0.1, 0.0]), WEIGHTS
    )
    # 0.4·0.5 + 0.3·0.5 + 0.2·0.5 + 0.1·1 − 0.1 = 0.45;  0.4 + 0.15 + 0.1 = 0.65
    np.testing.assert_allclose(got, [0.45, 0.65], rtol=1e-14)


def test_motivation_clipped_to_unit_interval():
    low = motivation(np.array([0.2]), 0.0, 0.0, np.array([0.0]), np.array([0.9]), WEIGHTS)
    assert low[0] == 0.0  # 0.08 − 0.9 < 0
    high = motivation(
        np.array([1.0]), 1.0, 1.0, np.array([1.0]), np.array([0.0]), (0.5, 0.5, 0.5, 0.5, 1.0)
    )
    assert high[0] == 1.0  # 2.0 > 1


@pytest.mark.parametrize("slope", [0.0, 0.3, 0.75, 0.95])
@pytest.mark.parametrize(("b0", "m"), [(1.0, 0.2), (0.0, 0.9), (0.6, 0.6), (0.3, 0.5)])
def test_conditional_contribution_converges_to_motivation(slope, b0, m):
    belief = np.array([b0])
    motive = np.array([m])
    for t in range(1, 80):
        k = conditional_contribution(belief, motive, slope)
        # k_t = m + ρ^t (b_0 − m), with belief fed back as b_{t} = k_{t}
        assert k[0] == pytest.approx(m + slope**t * (b0 - m), rel=1e-12, abs=1e-15), t
        belief = k
    assert k[0] == pytest.approx(m, abs=1e-12 + slope**79)


def test_conditional_contribution_docstring_value():
    got = conditional_contribution(np.array([0.8, 0.0]), np.array([0.4, 1.0]), 0.75)
    np.testing.assert_allclose(got, [0.7, 0.25], rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# partner_experience
# ---------------------------------------------------------------------------------------------


def test_partner_experience_hand_case():
    reliability = np.array([1.0, 0.8, 0.5])
    unfair = np.array([0.0, 0.5, 1.0])
    weights = np.array([2.0, 1.0, 1.0])  # blame shares: 1, 0.5, 0.5
    expected = np.array(
        [
            [1.0, 0.8, 0.5],
            [0.5, 1.0, 0.375],
            [0.0, 0.4, 1.0],
        ]
    )
    got = partner_experience(reliability, unfair, weights)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    # the weights' scale does not matter
    np.testing.assert_allclose(partner_experience(reliability, unfair, weights / 4.0), got)


# ---------------------------------------------------------------------------------------------
# diffuse_on_ties
# ---------------------------------------------------------------------------------------------


def _adjacency(edges: list[tuple[int, int]], n: int) -> sp.csr_array:
    a = np.zeros((n, n))
    for u, v in edges:
        a[u, v] = a[v, u] = 1.0
    return sp.csr_array(a)


def test_diffuse_on_path_graph_and_isolated_node():
    adj = _adjacency([(0, 1), (1, 2)], 4)  # path 0–1–2, node 3 isolated
    values = np.array([0.0, 1.0, 4.0, 7.0])
    got = diffuse_on_ties(values, adj, 0.5)
    # node 0: ½·0 + ½·1; node 1: ½·1 + ½·(0+4)/2; node 2: ½·4 + ½·1; node 3 unchanged
    np.testing.assert_allclose(got, [0.5, 1.5, 2.5, 7.0], rtol=1e-15)
    np.testing.assert_array_equal(diffuse_on_ties(values, adj, 0.0), values)
    np.testing.assert_allclose(diffuse_on_ties(values, adj, 1.0), [1.0, 2.0, 1.0, 7.0])


@pytest.mark.parametrize(("n", "k", "seed"), [(12, 2, 0), (30, 4, 1), (50, 3, 2), (101, 6, 3)])
def test_diffuse_rate_one_on_regular_graph_conserves_mean(n, k, seed):
    g = nx.random_regular_graph(k, n, seed=seed)
    adj = sp.csr_array(nx.to_scipy_sparse_array(g, nodelist=range(n), format="csr"))
    values = np.random.default_rng(seed).uniform(0.0, 1.0, size=n)
    got = diffuse_on_ties(values, adj, 1.0)
    assert got.mean() == pytest.approx(values.mean(), rel=1e-12)
    assert not np.allclose(got, values)


def test_diffuse_columnwise():
    rng = np.random.default_rng(9)
    adj = _adjacency([(0, 1), (1, 2), (2, 3), (0, 3), (0, 2)], 6)  # nodes 4, 5 isolated
    values = rng.uniform(0.0, 1.0, size=(6, 3))
    got = diffuse_on_ties(values, adj, 0.3)
    assert got.shape == (6, 3)
    for c in range(3):
        np.testing.assert_allclose(got[:, c], diffuse_on_ties(values[:, c], adj, 0.3), rtol=1e-15)
    # isolated nodes keep their value (up to the rounding of (1 − ω)·v + ω·v)
    np.testing.assert_allclose(got[4:], values[4:], rtol=1e-15, atol=0)


# ---------------------------------------------------------------------------------------------
# procedural_unfairness
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([0.5, 0.3, 0.2], [0.0, 0.1, 0.4]),  # 1 − 3w: −0.5 → 0, 0.1, 0.4
        ([0.25, 0.25, 0.25, 0.25], [0.0] * 4),  # an equal say is fair
        ([1.0, 0.0], [0.0, 1.0]),  # no say at all
        ([6.0, 2.0], [0.0, 0.5]),  # any scale: shares 3/4, 1/4
    ],
)
def test_procedural_unfairness_hand_cases(weights, expected):
    np.testing.assert_allclose(procedural_unfairness(np.array(weights)), expected, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(w=arrays(np.float64, st.integers(2, 8), elements=st.floats(0.01, 1.0)))
def test_procedural_unfairness_bounded_and_falls_on_the_weak(w):
    v = procedural_unfairness(w)
    assert np.all((v >= 0.0) & (v <= 1.0))
    assert v[np.argmax(w)] == 0.0  # the most powerful party always has at least a fair say
    order = np.argsort(w)
    assert np.all(np.diff(v[order]) <= 1e-12)  # less say, more unfairness


def test_realign_anchors_from_positions_does_not_compound():
    # Repeated evaluations with the same views leave the anchors where one evaluation put
    # them: the spread settles at (1 - rate) times the positions' spread, not at 0.
    positions = np.array([0.2, 0.5, 0.8])
    views = np.array([0.4, 0.5, 0.6])
    once = realign_anchors(positions, views, 0.5)
    np.testing.assert_allclose(once, [0.35, 0.5, 0.65], rtol=1e-14)
    np.testing.assert_array_equal(realign_anchors(positions, views, 0.5), once)
    assert np.std(once) == pytest.approx(0.5 * np.std(positions))
