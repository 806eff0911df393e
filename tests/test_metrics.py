"""Tests for sim.metrics: hand-computed cases, brute-force oracles and invariance properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.metrics import (
    alkire_foster,
    atkinson,
    bottom_share,
    bottom_share_of_sorted,
    gini,
    headcount_ratio,
    headcount_ratio_of_sorted,
    quintile_mask,
    sen_index,
)

# Non-negative outcomes that are either exactly 0 or comfortably normal floats, so that scaling
# by a factor in [1e-3, 1e3] neither underflows nor overflows.
outcome = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e6))
outcomes = st.lists(outcome, min_size=1, max_size=40)
positive_outcomes = st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=40)


def gini_bruteforce(x: list[float]) -> float:
    """Gini from its definition: Σ_i Σ_j |x_i − x_j| / (2 n² mean), O(n²)."""
    a = np.asarray(x, dtype=float)
    if a.sum() == 0:
        return 0.0
    return float(np.abs(a[:, None] - a[None, :]).sum() / (2 * a.size**2 * a.mean()))


# ---------------------------------------------------------------------------------------------
# gini
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([1, 1, 1, 1], 0.0),
        ([7.5], 0.0),  # n == 1
        ([0, 0, 0], 0.0),  # all zero
        # sorted formula: 2·(4·1)/(4·1) − 5/4 = 0.75 = 1 − 1/n, the maximum for n = 4
        ([0, 0, 0, 1], 0.75),
        # 2·(1·1 + 2·2 + 3·3 + 4·4)/(4·10) − 5/4 = 60/40 − 5/4 = 0.25
        ([1, 2, 3, 4], 0.25),
        ([4, 1, 3, 2], 0.25),  # unsorted input
        # pairs: |1 − 3| twice over n² = 4 gives mean abs diff 1; / (2·mean 2) = 0.25
        ([1, 3], 0.25),
        # 2·(1·0 + 2·0 + 3·1 + 4·1)/(4·2) − 5/4 = 14/8 − 10/8 = 0.5
        ([1, 0, 1, 0], 0.5),
    ],
)
def test_gini_hand_computed(x: list[float], expected: float) -> None:
    assert gini(x) == pytest.approx(expected, abs=1e-12)


def test_gini_returns_python_float_and_exact_zero_for_equal_values() -> None:
    g = gini([0.1, 0.1, 0.1, 0.1, 0.1])
    assert type(g) is float
    assert g == 0.0


def test_gini_matches_bruteforce_definition() -> None:
    rng = np.random.default_rng(20240611)
    for n in (2, 3, 10, 57, 200):
        x = rng.lognormal(mean=0.0, sigma=1.2, size=n)
        x[rng.random(n) < 0.2] = 0.0
        assert gini(x) == pytest.approx(gini_bruteforce(x.tolist()), abs=1e-12)


def test_gini_million_values_uniform_ranks() -> None:
    # x = 1..n: 2·Σi²/(n·Σi) − (n+1)/n = 2(2n+1)/(3n) − (n+1)/n = (n − 1)/(3n)
    n = 1_000_000
    x = np.random.default_rng(7).permutation(np.arange(1, n + 1, dtype=float))
    assert gini(x) == pytest.approx((n - 1) / (3 * n), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=outcomes, scale=st.floats(min_value=1e-3, max_value=1e3), seed=st.integers(0, 2**32 - 1))
def test_gini_invariant_to_scale_and_permutation(x: list[float], scale: float, seed: int) -> None:
    a = np.asarray(x)
    g = gini(a)
    assert gini(a * scale) == pytest.approx(g, abs=1e-9)
    assert gini(np.random.default_rng(seed).permutation(a)) == pytest.approx(g, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=outcomes)
def test_gini_bounds_and_bruteforce(x: list[float]) -> None:
    g = gini(x)
    assert 0.0 <= g <= 1.0 - 1.0 / len(x)
    assert g == pytest.approx(gini_bruteforce(x), abs=1e-9)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        ([], "at least one value"),
        ([1.0, -1.0, 2.0], r"non-negative; got -1.0 at index 1"),
        ([1.0, np.nan], r"finite; got nan at index 1"),
        ([1.0, np.inf], r"finite; got inf at index 1"),
        ([[1.0, 2.0], [3.0, 4.0]], r"1-D array; got shape \(2, 2\)"),
    ],
)
def test_gini_rejects_bad_input(x: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gini(x)


# ---------------------------------------------------------------------------------------------
# atkinson
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0, 2.0, 7.0])
@pytest.mark.parametrize("x", [[3.0, 3.0, 3.0], [0.1] * 7, [0.0, 0.0]])
def test_atkinson_equal_incomes_is_zero(x: list[float], epsilon: float) -> None:
    assert atkinson(x, epsilon) == 0.0


@pytest.mark.parametrize(
    ("epsilon", "expected"),
    [
        (0.0, 0.0),  # EDE = arithmetic mean 2.5
        (0.5, 0.1),  # EDE = ((√1 + √4)/2)² = 2.25; 1 − 2.25/2.5
        (1.0, 0.2),  # EDE = geometric mean √4 = 2; 1 − 2/2.5
        (2.0, 0.36),  # EDE = harmonic mean 2/(1 + 1/4) = 1.6; 1 − 1.6/2.5
        (3.0, 1.0 - np.sqrt(32.0 / 17.0) / 2.5),  # EDE = ((1 + 1/16)/2)^(−1/2) = √(32/17)
    ],
)
def test_atkinson_hand_computed_on_1_4(epsilon: float, expected: float) -> None:
    assert atkinson([1, 4], epsilon) == pytest.approx(expected, abs=1e-12)


def test_atkinson_zero_income_with_epsilon_below_one() -> None:
    # ε = 0.5 on [0, 4]: EDE = ((0 + 2)/2)² = 1, mean 2 -> 1 − 1/2
    assert atkinson([0, 4], 0.5) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("epsilon", [1.0, 1.5, 2.0, 10.0])
def test_atkinson_zero_income_with_epsilon_at_least_one_is_one(epsilon: float) -> None:
    assert atkinson([0.0, 1.0, 2.0], epsilon) == 1.0


def test_atkinson_large_epsilon_does_not_overflow() -> None:
    # ε = 50 on [a, b] with a ≪ b: EDE = ((a^−49 + b^−49)/2)^(−1/49) = a·2^(1/49)·(1 + tiny),
    # while a naive (x/mean)^(1−ε) overflows to inf and would report exactly 1.
    a, b = 1e-3, 1e6
    expected = 1.0 - a * 2.0 ** (1.0 / 49.0) / ((a + b) / 2.0)
    result = atkinson([a, b], 50.0)
    assert result < 1.0
    assert result == pytest.approx(expected, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    x=positive_outcomes,
    e1=st.floats(min_value=0.0, max_value=10.0),
    e2=st.floats(min_value=0.0, max_value=10.0),
)
def test_atkinson_bounded_and_non_decreasing_in_epsilon(
    x: list[float], e1: float, e2: float
) -> None:
    lo, hi = sorted((e1, e2))
    a_lo, a_hi = atkinson(x, lo), atkinson(x, hi)
    assert 0.0 <= a_lo <= 1.0
    assert 0.0 <= a_hi <= 1.0
    assert a_lo <= a_hi + 1e-9


@settings(max_examples=100, deadline=None)
@given(
    x=positive_outcomes,
    epsilon=st.floats(min_value=0.0, max_value=5.0),
    scale=st.floats(min_value=1e-3, max_value=1e3),
)
def test_atkinson_scale_invariant(x: list[float], epsilon: float, scale: float) -> None:
    assert atkinson(np.asarray(x) * scale, epsilon) == pytest.approx(atkinson(x, epsilon), abs=1e-9)


@pytest.mark.parametrize(
    ("x", "epsilon", "match"),
    [
        ([1, 2], -0.5, r"epsilon must be a finite number >= 0; got -0.5"),
        ([1, 2], float("nan"), "epsilon must be a finite number"),
        ([1, -2], 1.0, r"non-negative; got -2.0 at index 1"),
        ([], 1.0, "at least one value"),
    ],
)
def test_atkinson_rejects_bad_input(x: list[float], epsilon: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        atkinson(x, epsilon)


# ---------------------------------------------------------------------------------------------
# sen_index
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([1, 2, 3, 4], 2.5 * 0.75),
        ([3, 3], 3.0),
        ([0, 0, 0, 1], 0.25 * 0.25),
        ([0, 0], 0.0),
    ],
)
def test_sen_index_hand_computed(x: list[float], expected: float) -> None:
    assert sen_index(x) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=outcomes)
def test_sen_index_is_expected_minimum_of_two_draws(x: list[float]) -> None:
    # x̄(1 − G) = E[min(X, X')] for two independent draws with replacement (Sen 1976).
    a = np.asarray(x)
    expected = float(np.minimum(a[:, None], a[None, :]).mean())
    w = sen_index(a)
    assert w == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert a.min() - 1e-9 <= w <= a.mean() + 1e-9


def test_sen_index_rejects_negative() -> None:
    with pytest.raises(ValueError, match=r"non-negative; got -3.0 at index 0"):
        sen_index([-3, 1])


# ---------------------------------------------------------------------------------------------
# alkire_foster
# ---------------------------------------------------------------------------------------------

G = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]]
EQUAL = [1 / 3, 1 / 3, 1 / 3]


@pytest.mark.parametrize(
    ("weights", "k", "expected"),
    [
        # scores c = (2/3, 1/3, 0, 1); k = 1/3: poor = {0, 1, 3}
        # H = 3/4, A = (2/3 + 1/3 + 1)/3 = 2/3, M0 = 1/2
        (EQUAL, 1 / 3, (0.75, 2 / 3, 0.5)),
        # k = 1/2: poor = {0, 3}; H = 1/2, A = (2/3 + 1)/2 = 5/6, M0 = 5/12
        (EQUAL, 0.5, (0.5, 5 / 6, 5 / 12)),
        # k = 2/3 (tolerance case: 1/3 + 1/3 vs 2/3): poor = {0, 3}, same as k = 1/2
        (EQUAL, 2 / 3, (0.5, 5 / 6, 5 / 12)),
        # k = 1 (intersection): poor = {3}; H = 1/4, A = 1, M0 = 1/4
        (EQUAL, 1.0, (0.25, 1.0, 0.25)),
        # k tiny (union): anyone deprived in something, same as k = 1/3
        (EQUAL, 1e-6, (0.75, 2 / 3, 0.5)),
        # weights (1/2, 1/4, 1/4): c = (3/4, 1/2, 0, 1); k = 1/2: poor = {0, 1, 3}
        # H = 3/4, A = (3/4 + 1/2 + 1)/3 = 3/4, M0 = 9/16
        ([0.5, 0.25, 0.25], 0.5, (0.75, 0.75, 0.5625)),
        # same weights, k = 0.8: poor = {3}; H = 1/4, A = 1, M0 = 1/4
        ([0.5, 0.25, 0.25], 0.8, (0.25, 1.0, 0.25)),
    ],
)
def test_alkire_foster_hand_computed(
    weights: list[float], k: float, expected: tuple[float, float, float]
) -> None:
    result = alkire_foster(G, weights, k)
    assert isinstance(result, tuple)
    assert len(result) == 3
    assert all(type(v) is float for v in result)
    assert result == pytest.approx(expected, abs=1e-12)


def test_alkire_foster_accepts_boolean_deprivations() -> None:
    assert alkire_foster(np.array(G, dtype=bool), EQUAL, 0.5) == pytest.approx(
        (0.5, 5 / 6, 5 / 12), abs=1e-12
    )


def test_alkire_foster_nobody_poor() -> None:
    assert alkire_foster(np.zeros((5, 2)), [0.5, 0.5], 0.5) == (0.0, 0.0, 0.0)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 30),
    d=st.integers(1, 6),
    k=st.floats(min_value=1e-6, max_value=1.0),
)
def test_alkire_foster_m0_is_mean_censored_score(
    data: st.DataObject, n: int, d: int, k: float
) -> None:
    g = np.array(data.draw(st.lists(st.booleans(), min_size=n * d, max_size=n * d))).reshape(n, d)
    raw = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=d, max_size=d)))
    w = raw / raw.sum()
    h, a, m0 = alkire_foster(g, w, k)
    c = g.astype(float) @ w
    censored = np.where(c >= k - 1e-12, c, 0.0)
    assert m0 == pytest.approx(censored.mean(), abs=1e-12)
    assert m0 == pytest.approx(h * a, abs=1e-15)
    assert 0.0 <= h <= 1.0
    assert a == 0.0 or k - 1e-12 <= a <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("deprivations", "weights", "k", "match"),
    [
        (G, [0.3, 0.3, 0.3], 0.5, r"weights must sum to 1 \(within 1e-09\); got sum 0.9"),
        (G, [1.5, -0.5, 0.0], 0.5, r"non-negative; got -0.5 at index 1"),
        (G, [0.5, 0.5], 0.5, r"one entry per indicator \(d=3\); got shape \(2,\)"),
        (G, [0.5, 0.5, np.nan], 0.5, r"finite and non-negative; got nan at index 2"),
        (G, EQUAL, 0.0, r"k must be in \(0, 1\]; got 0.0"),
        (G, EQUAL, 1.5, r"k must be in \(0, 1\]; got 1.5"),
        (G, EQUAL, -0.2, r"k must be in \(0, 1\]; got -0.2"),
        ([[1, 2, 0]], EQUAL, 0.5, r"boolean or 0/1; got 2 at row 0, column 1"),
        ([1, 0, 1], EQUAL, 0.5, r"2-D \(n, d\) array .* got shape \(3,\)"),
        (np.zeros((0, 3)), EQUAL, 0.5, r"n >= 1 and d >= 1; got shape \(0, 3\)"),
    ],
)
def test_alkire_foster_rejects_bad_input(
    deprivations: list[list[int]], weights: list[float], k: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        alkire_foster(deprivations, weights, k)


# ---------------------------------------------------------------------------------------------
# quintile_mask
# ---------------------------------------------------------------------------------------------

X10 = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100]


@pytest.mark.parametrize(
    ("q", "members"),
    [(1, [1, 3]), (2, [4, 2]), (3, [0, 5]), (4, [6, 7]), (5, [8, 9])],
)
def test_quintile_mask_ten_members(q: int, members: list[int]) -> None:
    mask = quintile_mask(X10, q)
    assert mask.dtype == bool
    assert mask.shape == (10,)
    assert sorted(np.flatnonzero(mask).tolist()) == sorted(members)


def test_quintile_mask_default_is_poorest() -> None:
    np.testing.assert_array_equal(quintile_mask(X10), quintile_mask(X10, 1))


@pytest.mark.parametrize(
    # n = 7 ties: boundaries ⌊j·7/5⌋ = 0, 1, 2, 4, 5, 7; stable order keeps input order
    ("q", "members"),
    [(1, [0]), (2, [1]), (3, [2, 3]), (4, [4]), (5, [5, 6])],
)
def test_quintile_mask_ties_broken_by_input_order(q: int, members: list[int]) -> None:
    assert np.flatnonzero(quintile_mask(np.zeros(7), q)).tolist() == members


@settings(max_examples=200, deadline=None)
@given(x=st.lists(st.integers(-5, 5), min_size=0, max_size=60))
def test_quintile_mask_partitions_by_rank(x: list[int]) -> None:
    a = np.asarray(x, dtype=float)
    masks = [quintile_mask(a, q) for q in range(1, 6)]
    counts = np.sum(masks, axis=0)
    assert np.all(counts == 1)  # disjoint and covering
    sizes = [int(m.sum()) for m in masks]
    assert max(sizes) - min(sizes) <= 1
    for lower, upper in itertools.combinations(masks, 2):  # every poorer/richer pair
        if lower.any() and upper.any():
            assert a[lower].max() <= a[upper].min()


@pytest.mark.parametrize("q", [0, 6, -1, 1.5, True, "1"])
def test_quintile_mask_rejects_bad_q(q: object) -> None:
    with pytest.raises(ValueError, match=r"q must be an integer quintile number in 1\.\.5"):
        quintile_mask(X10, q)  # type: ignore[arg-type]


def test_quintile_mask_rejects_non_finite() -> None:
    with pytest.raises(ValueError, match=r"x must be finite; got nan at index 2"):
        quintile_mask([1.0, 2.0, np.nan], 1)


# ---------------------------------------------------------------------------------------------
# headcount ratio and the poorest share (BPS's poverty rate and bottom-40 share)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "line", "expected"),
    [
        ([0.5, 0.99, 1.0, 3.0], 1.0, 0.5),  # 1.0 itself is not below the line
        ([2.0, 3.0], 1.0, 0.0),
        ([0.0, 0.0, 0.2], 1.0, 1.0),
        ([5.0, 1.0, 2.0, 0.5, 3.0], 2.5, 0.6),  # unsorted: 1, 2, 0.5 below
    ],
)
def test_headcount_ratio_hand_computed(x, line, expected):
    assert headcount_ratio(x, line) == expected
    assert headcount_ratio_of_sorted(np.sort(np.asarray(x, float)), line) == expected


@pytest.mark.parametrize(
    ("x", "p", "expected"),
    [
        ([1, 2, 3, 4], 0.5, 0.3),  # (1 + 2) / 10
        ([4, 1, 3, 2], 0.4, 0.22),  # 1.6 households: (1 + 0.6 x 2) / 10
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.4, 10 / 55),  # exactly four: (1+2+3+4) / 55
        ([3, 3, 3], 0.4, 0.4),  # equal values: L(p) = p
        ([0, 0, 0], 0.4, 0.4),  # all zero: equal, as the Gini's 0 says
        ([0, 0, 0, 8], 0.75, 0.0),
        ([1, 2, 3, 4], 1.0, 1.0),
        ([1, 2, 3, 4], 0.0, 0.0),
    ],
)
def test_bottom_share_hand_computed(x, p, expected):
    assert bottom_share(x, p) == pytest.approx(expected, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(positive_outcomes, st.floats(min_value=0.0, max_value=1.0))
def test_bottom_share_lies_on_a_lorenz_curve(x, p):
    share = bottom_share(x, p)
    assert 0.0 <= share <= p + 1e-12  # the poorest p hold at most p
    assert share <= bottom_share(x, min(1.0, p + 0.1)) + 1e-12  # rising in p
    assert bottom_share(np.asarray(x) * 7.0, p) == pytest.approx(share, rel=1e-9, abs=1e-12)
    total = float(np.sum(x))
    s = np.sort(np.asarray(x, float))
    assert bottom_share_of_sorted(s, p, total=total) == pytest.approx(share, rel=1e-12, abs=1e-15)


def test_bottom_share_of_a_large_lognormal_sample_follows_its_closed_form():
    # Lorenz curve of a lognormal: L(p) = Phi(Phi^-1(p) - sigma) (Aitchison & Brown 1957).
    from scipy.stats import norm

    x = np.random.default_rng(3).lognormal(0.0, 0.6, 400_000)
    assert bottom_share(x, 0.4) == pytest.approx(norm.cdf(norm.ppf(0.4) - 0.6), abs=2e-3)


def test_bottom_share_refuses_a_share_outside_zero_one():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        bottom_share([1.0, 2.0], 1.5)
