"""Tests for sim.network: the small-world social ties, their adjacency and directional trust."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms.network import get_trust, set_trust, small_world_edges, social_adjacency


def villages(sizes: list[int]) -> np.ndarray:
    """Village index of each household, in contiguous blocks of the given sizes."""
    return np.repeat(np.arange(len(sizes)), sizes)


def is_lattice(edges: np.ndarray, village: np.ndarray, k: int) -> np.ndarray:
    """Whether each edge is a ring-lattice edge: same village, ring distance ≤ k/2."""
    _, size = np.unique(village, return_counts=True)
    u, v = edges[:, 0], edges[:, 1]
    same = village[u] == village[v]
    s = size[village[u]]
    d = (v - u) % s
    return same & (np.minimum(d, s - d) <= k // 2)


def assert_simple(edges: np.ndarray, n: int) -> None:
    assert edges.ndim == 2
    assert edges.shape[1] == 2
    assert edges.dtype == np.int64
    assert np.all(edges[:, 0] < edges[:, 1])  # no self ties, u < v
    assert np.unique(edges, axis=0).shape[0] == edges.shape[0]  # no duplicates
    assert edges.size == 0 or (edges.min() >= 0 and edges.max() < n)


# ---------------------------------------------------------------------------------------------
# small_world_edges: structure
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    half_k=st.integers(0, 4),
    rewiring=st.floats(0.0, 1.0),
    across=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_small_world_edges_simple_graph(sizes, half_k, rewiring, across, seed):
    v = villages(sizes)
    edges = small_world_edges(v, 2 * half_k, rewiring, across, np.random.default_rng(seed))
    assert_simple(edges, v.size)
    if across == 0 or len(sizes) == 1:
        assert np.all(v[edges[:, 0]] == v[edges[:, 1]])


@pytest.mark.parametrize(
    ("sizes", "k"),
    [([5, 7, 12, 30], 4), ([7, 9, 20], 6), ([3, 10, 4], 2), ([50], 8), ([11, 11], 10)],
)
def test_lattice_without_rewiring(sizes, k):
    v = villages(sizes)
    edges = small_world_edges(v, k, 0.0, 0.0, np.random.default_rng(0))
    assert_simple(edges, v.size)
    degree = np.bincount(edges.ravel(), minlength=v.size)
    np.testing.assert_array_equal(degree, k)
    assert np.all(v[edges[:, 0]] == v[edges[:, 1]])
    # exactly the Watts–Strogatz ring lattice of each village
    expected = set()
    offset = 0
    for s in sizes:
        ring = nx.watts_strogatz_graph(s, k, 0.0)
        expected |= {tuple(sorted((a + offset, b + offset))) for a, b in ring.edges}
        offset += s
    assert set(map(tuple, edges.tolist())) == expected


@pytest.mark.parametrize("k", [2, 4, 6])
def test_small_villages_capped_at_complete_graph(k):
    sizes = [1, 2, 3, 4, 5, 6, 7, 8]
    v = villages(sizes)
    edges = small_world_edges(v, k, 0.0, 0.0, np.random.default_rng(1))
    assert_simple(edges, v.size)
    degree = np.bincount(edges.ravel(), minlength=v.size)
    expected = np.repeat([min(k, s - 1) for s in sizes], sizes)
    np.testing.assert_array_equal(degree, expected)


def test_no_ties_at_all():
    v = villages([10, 10])
    edges = small_world_edges(v, 0, 0.3, 0.0, np.random.default_rng(0))
    assert edges.shape == (0, 2)
    assert edges.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# small_world_edges: statistics
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [0.1, 0.3])
def test_rewired_share(seed, p):
    """Each of the N = n·k/2 lattice ties is rewired with prob. p to a uniform household of
    its village (size s); it leaves the lattice unless it lands on itself (1/s, dropped) or on
    one of the k lattice neighbours (k/s). So the count of non-lattice edges is Binomial(N, q)
    with q = p·(s − k − 1)/s, up to rare duplicate rewirings, and the expected total is
    N·(1 − p/s − p·(k/s)·(1 − p)) (self ties and re-hits of surviving lattice ties dropped)."""
    n, s, k = 10_000, 1_000, 4
    v = np.repeat(np.arange(n // s), s)
    edges = small_world_edges(v, k, p, 0.0, np.random.default_rng(seed))
    assert_simple(edges, n)
    assert np.all(v[edges[:, 0]] == v[edges[:, 1]])  # rewiring stays inside the village
    n_ties = n * k // 2
    q = p * (s - k - 1) / s
    count = int((~is_lattice(edges, v, k)).sum())
    sd = math.sqrt(n_ties * q * (1 - q))
    assert abs(count - n_ties * q) < 4 * sd
    total = n_ties * (1 - p / s - p * (k / s) * (1 - p))
    assert abs(edges.shape[0] - total) < 4 * math.sqrt(n_ties * p * (k + 1) / s)
    share = count / edges.shape[0]
    assert abs(share - p) < 4 * sd / n_ties + p * (k + 1) / s


@pytest.mark.parametrize("sizes", [[4_000] * 5, [1_000, 3_000, 6_000, 10_000], [10, 10]])
@pytest.mark.parametrize("seed", [0, 1])
def test_cross_village_ties_count_as_documented(sizes, seed):
    """round(across·n) draws, each joining two villages; only duplicate pairs are lost.

    Expected duplicates among m draws over the ~n²/2 cross pairs are about m²/n² (≪ 1 here
    for the large cases); the tiny two-village case may lose a few more.
    """
    v = villages(sizes)
    n, across = v.size, 0.25
    m = round(across * n)
    edges = small_world_edges(v, 4, 0.1, across, np.random.default_rng(seed))
    assert_simple(edges, n)
    count = int((v[edges[:, 0]] != v[edges[:, 1]]).sum())
    expected_duplicates = m * m / (sum(a * b for i, a in enumerate(sizes) for b in sizes[i + 1 :]))
    assert m - (3 + 4 * expected_duplicates) <= count <= m


def test_single_village_has_no_cross_ties():
    v = np.zeros(500, dtype=np.int64)
    edges = small_world_edges(v, 4, 0.0, 1.0, np.random.default_rng(3))
    degree = np.bincount(edges.ravel(), minlength=v.size)
    np.testing.assert_array_equal(degree, 4)


def test_same_seed_same_edges_different_seed_different():
    v = villages([200, 300, 500])
    a = small_world_edges(v, 4, 0.1, 0.05, np.random.default_rng(42))
    b = small_world_edges(v, 4, 0.1, 0.05, np.random.default_rng(42))
    c = small_world_edges(v, 4, 0.1, 0.05, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


# ---------------------------------------------------------------------------------------------
# social_adjacency
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_social_adjacency_matches_edge_list(seed):
    v = villages([30, 50, 20, 1])
    n = v.size
    edges = small_world_edges(v, 6, 0.2, 0.3, np.random.default_rng(seed))
    adj = social_adjacency(edges, n)
    assert adj.shape == (n, n)
    dense = adj.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert set(np.unique(dense).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.diag(dense), 0.0)
    np.testing.assert_array_equal(
        np.asarray(adj.sum(axis=1)).ravel(), np.bincount(edges.ravel(), minlength=n)
    )
    assert adj.nnz == 2 * edges.shape[0]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(map(tuple, edges.tolist()))
    np.testing.assert_array_equal(nx.to_numpy_array(g, nodelist=range(n)), dense)


def test_social_adjacency_merges_repeated_ties():
    edges = np.array([[0, 1], [0, 1], [1, 2]])
    dense = social_adjacency(edges, 4).toarray()
    expected = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(dense, expected)


def test_social_adjacency_empty():
    adj = social_adjacency(np.empty((0, 2), dtype=np.int64), 3)
    assert adj.shape == (3, 3)
    assert adj.nnz == 0


# ---------------------------------------------------------------------------------------------
# get_trust / set_trust
# ---------------------------------------------------------------------------------------------


def test_trust_is_directional_on_an_undirected_tie():
    g = nx.Graph()
    g.add_edge("a", "b", communication=0.7)
    set_trust(g, "a", "b", 0.3)
    set_trust(g, "b", "a", 0.9)
    assert get_trust(g, "a", "b") == 0.3
    assert get_trust(g, "b", "a") == 0.9
    assert g.edges["a", "b"]["trust"] == {"a": 0.3, "b": 0.9}
    assert g.edges["b", "a"]["communication"] == 0.7
    set_trust(g, "a", "b", np.float32(0.5))
    assert get_trust(g, "a", "b") == 0.5
    assert type(g.edges["a", "b"]["trust"]["a"]) is float
    assert get_trust(g, "b", "a") == 0.9


def test_trust_on_mixed_node_types_and_missing_tie():
    g = nx.Graph()
    g.add_edge("government_0", 3)
    set_trust(g, "government_0", 3, 0.25)
    assert get_trust(g, "government_0", 3) == 0.25
    with pytest.raises(KeyError):
        get_trust(g, 3, "government_0")  # the household's trust lives elsewhere
    with pytest.raises(KeyError):
        set_trust(g, "government_0", 4, 0.5)  # no tie
