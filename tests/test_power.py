"""Tests for sim.power: hand-derived voting games, brute-force oracles and invariances."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.power import banzhaf, power_balance, shapley_shubik

Index = Callable[..., np.ndarray]


def shapley_bruteforce(weights: list[int], quota: int) -> list[Fraction]:
    """Shapley-Shubik by walking every one of the m! orderings (exact for integer weights)."""
    m = len(weights)
    pivots = [0] * m
    for order in itertools.permutations(range(m)):
        total = 0
        for player in order:
            total += weights[player]
            if total >= quota:
                pivots[player] += 1
                break
    return [Fraction(p, math.factorial(m)) for p in pivots]


def banzhaf_bruteforce(weights: list[int], quota: int) -> list[Fraction]:
    """Normalised Banzhaf by listing every coalition S ⊆ N∖{i} (exact for integer weights)."""
    m = len(weights)
    swings = [0] * m
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for r in range(m):
            for s in itertools.combinations(others, r):
                w = sum(weights[j] for j in s)
                swings[i] += w < quota <= w + weights[i]
    total = sum(swings)
    return [Fraction(s, total) for s in swings]


# ---------------------------------------------------------------------------------------------
# power_balance
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([1, 1, 1], 1.0),
        ([1, 1], 1.0),
        ([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], 1.0),
        ([1, 0, 0], 0.0),
        ([0, 5], 0.0),
        ([4.0], 1.0),  # m == 1 is defined as balanced
    ],
)
def test_power_balance_extremes_are_exact(weights: list[float], expected: float) -> None:
    result = power_balance(weights)
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([3, 1], -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)),
        # shares (1/2, 1/4, 1/4): H = ½ln2 + ½ln4 = 1.5 ln2, over ln3
        ([2, 1, 1], 1.5 * math.log(2) / math.log(3)),
        # a zero-weight party still counts in m: shares (1/2, 1/2, 0) -> ln2 / ln3
        ([1, 1, 0], math.log(2) / math.log(3)),
    ],
)
def test_power_balance_hand_computed(weights: list[float], expected: float) -> None:
    assert power_balance(weights) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    w=st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=30),
    scale=st.floats(min_value=1e-3, max_value=1e3),
    seed=st.integers(0, 2**32 - 1),
)
def test_power_balance_bounded_and_invariant(w: list[float], scale: float, seed: int) -> None:
    a = np.asarray(w)
    b = power_balance(a)
    assert 0.0 <= b <= 1.0
    assert power_balance(a * scale) == pytest.approx(b, abs=1e-9)
    assert power_balance(np.random.default_rng(seed).permutation(a)) == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([0, 0, 0], "must not all be zero"),
        ([1, -1, 2], r"non-negative; got -1.0 at index 1"),
        ([1, np.nan], r"finite and non-negative; got nan at index 1"),
        ([], "at least one party"),
        ([[1, 2]], r"1-D array; got shape \(1, 2\)"),
    ],
)
def test_power_balance_rejects_bad_input(weights: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        power_balance(weights)


# ---------------------------------------------------------------------------------------------
# Hand-derived weighted voting games, shared by Shapley-Shubik and Banzhaf.
#
# [51; 50, 49, 1]. Winning coalitions: {1,2} = 99, {1,3} = 51, {1,2,3}; {2,3} = 50 loses.
#   Orderings (pivot = the player whose arrival first brings the running total to >= 51):
#     1 2 3: 50, 99 -> 2      1 3 2: 50, 51 -> 3      2 1 3: 49, 99 -> 1
#     2 3 1: 49, 50, 100 -> 1 3 1 2: 1, 51 -> 1       3 2 1: 1, 50, 100 -> 1
#   Shapley-Shubik = (4/6, 1/6, 1/6) = (2/3, 1/6, 1/6).
#   Swings (S ⊆ N∖{i}: S loses, S ∪ {i} wins): player 1: {2}, {3}, {2,3} -> 3;
#   player 2: {1} only ({1,3} already wins) -> 1; player 3: {1} only -> 1.
#   Banzhaf = (3, 1, 1)/5.
#
# [4; 3, 1, 1, 1]. A coalition wins iff it holds player 1 and at least one other
#   ({2,3,4} = 3 < 4). Player 1 is pivotal unless it comes first; it comes first in 3! = 6 of
#   the 24 orderings, and then the next player (each of 2, 3, 4 in 2 of them) is pivotal.
#   Shapley-Shubik = (18/24, 2/24, 2/24, 2/24) = (3/4, 1/12, 1/12, 1/12).
#   Swings: player 1 swings for all 7 non-empty S ⊆ {2,3,4}; player j ∈ {2,3,4} only for
#   S = {1}. Banzhaf = (7, 1, 1, 1)/10.
#
# [4; 2, 2, 1]. Winning: {1,2} = 4 and {1,2,3} = 5; {1,3} = {2,3} = 3 lose. Player 3 can
#   never turn a losing coalition into a winning one (a dummy). Players 1 and 2 are
#   symmetric, so Shapley-Shubik = (1/2, 1/2, 0). Swings: player 1: {2}, {2,3} -> 2; player 2:
#   likewise 2; player 3: 0. Banzhaf = (1/2, 1/2, 0).
#
# [2; 1, 1, 1]. Simple majority of three symmetric players: everyone gets 1/3 in both.
#
# [51; 60, 20, 20]. Player 1 is a dictator: (1, 0, 0) in both.
#
# [5; 3, 2, 0]. Unanimity of players 1 and 2 with a zero-weight dummy: (1/2, 1/2, 0) in both.
#
# UN Security Council (Brams 1975, *Game Theory and Politics*, ch. 5): [39; 7×5, 1×10].
#   A non-permanent member i is pivotal iff its predecessors are the 5 permanent members and
#   exactly 3 of the other 9 non-permanent ones (|S| = 8): φ = C(9,3)·8!·6!/15! = 4/2145; the
#   5 permanent members share the rest equally: (1 − 10·4/2145)/5 = 421/2145.
#   Swings: non-permanent: C(9,3) = 84; permanent: the other 4 permanent plus >= 4 of 10
#   non-permanent: Σ_{k=4}^{10} C(10,k) = 1024 − 1 − 10 − 45 − 120 = 848.
#   Banzhaf: 848/5080 per permanent member, 84/5080 per non-permanent member.
# ---------------------------------------------------------------------------------------------

UNSC_WEIGHTS = [7] * 5 + [1] * 10

GAMES = [
    # (weights, quota, shapley_shubik, banzhaf)
    ([50, 49, 1], 51, [2 / 3, 1 / 6, 1 / 6], [3 / 5, 1 / 5, 1 / 5]),
    ([3, 1, 1, 1], 4, [3 / 4, 1 / 12, 1 / 12, 1 / 12], [0.7, 0.1, 0.1, 0.1]),
    ([2, 2, 1], 4, [1 / 2, 1 / 2, 0.0], [1 / 2, 1 / 2, 0.0]),
    ([1, 1, 1], 2, [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]),
    ([60, 20, 20], 51, [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
    ([3, 2, 0], 5, [1 / 2, 1 / 2, 0.0], [1 / 2, 1 / 2, 0.0]),
    (
        UNSC_WEIGHTS,
        39,
        [421 / 2145] * 5 + [4 / 2145] * 10,
        [848 / 5080] * 5 + [84 / 5080] * 10,
    ),
]
GAME_IDS = ["51;50,49,1", "4;3,1,1,1", "4;2,2,1-dummy", "2;1,1,1", "dictator", "zero", "UNSC"]


@pytest.mark.parametrize(("weights", "quota", "expected", "_bz"), GAMES, ids=GAME_IDS)
def test_shapley_shubik_hand_derived(
    weights: list[int], quota: int, expected: list[float], _bz: list[float]
) -> None:
    phi = shapley_shubik(weights, quota)
    assert isinstance(phi, np.ndarray)
    assert phi.shape == (len(weights),)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-15)
    assert phi.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("weights", "quota", "_ss", "expected"), GAMES, ids=GAME_IDS)
def test_banzhaf_hand_derived(
    weights: list[int], quota: int, _ss: list[float], expected: list[float]
) -> None:
    beta = banzhaf(weights, quota)
    assert isinstance(beta, np.ndarray)
    assert beta.shape == (len(weights),)
    np.testing.assert_allclose(beta, expected, rtol=0, atol=1e-15)
    assert beta.sum() == pytest.approx(1.0, abs=1e-12)


def test_shapley_shubik_is_exact_rational() -> None:
    # Summed in exact fractions, so the floats are the correctly rounded 2/3 and 1/6.
    assert shapley_shubik([50, 49, 1], 51).tolist() == [2 / 3, 1 / 6, 1 / 6]


def test_shapley_and_banzhaf_differ_where_theory_says() -> None:
    # Same game, different indices: 2/3 vs 3/5 for the veto player.
    assert shapley_shubik([50, 49, 1], 51)[0] != pytest.approx(banzhaf([50, 49, 1], 51)[0])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), m=st.integers(1, 6))
def test_indices_match_bruteforce_oracles(data: st.DataObject, m: int) -> None:
    weights = data.draw(st.lists(st.integers(0, 9), min_size=m, max_size=m))
    if sum(weights) == 0:
        weights[0] = 1
    quota = data.draw(st.integers(1, sum(weights)))
    np.testing.assert_allclose(
        shapley_shubik(weights, quota),
        [float(v) for v in shapley_bruteforce(weights, quota)],
        rtol=0,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        banzhaf(weights, quota),
        [float(v) for v in banzhaf_bruteforce(weights, quota)],
        rtol=0,
        atol=1e-15,
    )


@pytest.mark.parametrize("index", [shapley_shubik, banzhaf])
@pytest.mark.parametrize(("m", "quota"), [(2, 1), (5, 3), (8, 8), (20, 11)])
def test_symmetric_players_get_equal_power(index: Index, m: int, quota: int) -> None:
    np.testing.assert_allclose(index(np.full(m, 2.5), 2.5 * quota), np.full(m, 1 / m), atol=1e-15)


@pytest.mark.parametrize("index", [shapley_shubik, banzhaf])
def test_float_shares_reach_quota_within_tolerance(index: Index) -> None:
    # 0.7 + 0.1 == 0.7999999999999999 < 0.8 in binary floating point, yet {1, 2} must win.
    # With the 1e-9 slack the game is [0.8; 0.7, 0.1, 0.2] ≅ [3; 2, 1, 1]: player 1 is a veto
    # player needing one partner, so (2/3, 1/6, 1/6) and (3/5, 1/5, 1/5). Without the slack
    # player 2 would wrongly be a dummy.
    expected = {shapley_shubik: [2 / 3, 1 / 6, 1 / 6], banzhaf: [0.6, 0.2, 0.2]}[index]
    np.testing.assert_allclose(index([0.7, 0.1, 0.2], 0.8), expected, atol=1e-15)


@pytest.mark.parametrize("index", [shapley_shubik, banzhaf])
def test_single_player_holds_all_power(index: Index) -> None:
    np.testing.assert_array_equal(index([3.0], 2.0), [1.0])


@pytest.mark.parametrize("index", [shapley_shubik, banzhaf])
@pytest.mark.parametrize(
    ("weights", "quota", "match"),
    [
        ([1, 2], 0, r"quota must satisfy 0 < quota <= sum\(weights\) = 3.0; got 0"),
        ([1, 2], 3.5, r"0 < quota <= sum\(weights\) = 3.0; got 3.5"),
        ([1, 2], float("nan"), "quota must satisfy"),
        ([1, -2, 4], 2, r"non-negative; got -2.0 at index 1"),
        ([], 1, "at least one party"),
        ([1] * 21, 11, r"at most 20 players; got m=21"),
    ],
)
def test_indices_reject_bad_games(
    index: Index, weights: list[float], quota: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        index(weights, quota)


def test_power_ratio_is_weakest_over_strongest_and_spans_the_lever() -> None:
    from sim.mechanisms.power import decision_weights, power_ratio

    assert power_ratio([0.5, 0.25, 0.25]) == 0.5
    assert power_ratio([2.0, 2.0, 2.0]) == 1.0
    assert power_ratio([1.0, 0.0]) == 0.0
    authority = np.array([1.0, 0.5, 0.3, 0.1])
    contributed = np.array([0.6, 0.15, 0.15, 0.05])
    legitimacy = np.array([0.5, 0.5, 0.5, 0.2])
    ratios = [
        power_ratio(decision_weights(authority, contributed, legitimacy, (0.4, 0.4, 0.2), b))
        for b in (0.0, 0.5, 1.0)
    ]
    assert ratios[0] < 0.3 < ratios[1] < ratios[2] == pytest.approx(1.0)
