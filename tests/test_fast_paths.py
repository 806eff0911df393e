"""The optimised code paths give the same numbers, bit for bit, as the plain formulas."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sim import PartnershipModel, dynamics, metrics, network, welfare


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


def test_diffusion_in_place_with_known_degree_equals_the_formula(rng):
    n = 300
    edges = network.small_world_edges(np.repeat(np.arange(3), 100), 4, 0.2, 0.05, rng)
    adj = network.social_adjacency(edges, n)
    adj = sp.csr_array(adj.toarray() * (np.arange(n) >= 5)[:, None])  # 5 isolated households
    adj = sp.csr_array(adj.toarray() * (np.arange(n) >= 5)[None, :])
    values = rng.random((n, 4))
    degree = adj.sum(axis=1)
    mean = np.where(degree[:, None] > 0, (adj @ values) / np.maximum(degree, 1)[:, None], values)
    expected = (1.0 - 0.3) * values + 0.3 * mean
    got = dynamics.diffuse_on_ties(values, adj, 0.3)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(got[:5], values[:5], rtol=1e-15)  # isolated: keep their value
    inplace = values.copy()
    out = dynamics.diffuse_on_ties(inplace, adj, 0.3, degree=degree, out=inplace)
    assert out is inplace
    np.testing.assert_array_equal(inplace, expected)


@pytest.mark.parametrize("order", ["C", "F"])
def test_dose_response_out_equals_the_formula(rng, order):
    stock = np.asarray(rng.random((50, 5)), order=order)
    dose = np.asarray(rng.random((50, 5)) * 2, order=order)
    eff = np.array([1.0, 1.0, 1.0, 2.0, 0.5])[None, :]
    expected = stock + (1.0 - stock) * (1.0 - np.exp(-eff * dose))
    np.testing.assert_array_equal(welfare.dose_response(stock, dose, eff), expected)
    buf = dose.copy(order="K")
    assert welfare.dose_response(stock, buf, eff, out=buf) is buf  # out may be the dose
    np.testing.assert_array_equal(buf, expected)


def test_sen_index_with_a_known_gini(rng):
    x = rng.random(1001)
    assert metrics.sen_index(x, gini=metrics.gini(x)) == metrics.sen_index(x)


def test_village_blocks_equal_numpy_unique(rng):
    village = np.repeat(np.arange(7), rng.integers(1, 30, size=7))
    _, start, size = np.unique(village, return_index=True, return_counts=True)
    got = network.village_blocks(village)
    np.testing.assert_array_equal(got[0], start)
    np.testing.assert_array_equal(got[1], size)
    empty = network.village_blocks(np.zeros(0, dtype=int))
    assert empty[0].size == 0 and empty[1].size == 0


def test_small_world_pairs_are_unique_sorted_and_within_bounds(rng):
    village = np.repeat(np.arange(4), 50)
    e = network.small_world_edges(village, 6, 0.5, 0.5, rng)
    key = e[:, 0] * 200 + e[:, 1]
    assert np.all(np.diff(key) > 0)  # strictly increasing: unique and in (u, v) order
    assert e.min() >= 0 and e.max() < 200 and np.all(e[:, 0] < e[:, 1])


def test_household_state_layout_and_work_arrays_do_not_leak_between_steps():
    model = PartnershipModel(seed=3, households=200, villages=4)
    assert model.hh.stock.flags.f_contiguous and model.hh.stock0.flags.f_contiguous
    model.run(2)
    assert model.hh.stock.flags.f_contiguous
    # The joint dose is rebuilt each step: it equals what this step's programme delivered.
    before = model._joint_dose.copy()
    model.step()
    assert not np.array_equal(before, model._joint_dose)
    assert np.all(model._joint_dose >= 0)


def test_service_area_reader_skips_organization_nodes():
    import networkx as nx

    g = nx.Graph()
    g.add_edges_from([("ngo_0", 5), ("ngo_0", 2), ("ngo_0", "firm_0"), ("ngo_0", np.int64(9))])
    np.testing.assert_array_equal(network.service_area(g, "ngo_0"), [2, 5, 9])


@pytest.mark.parametrize("capture", [0.0, 0.3])
def test_targeting_weights_by_column_equal_one_call_per_service(rng, capture):
    need = np.asfortranarray(rng.random((40, 5)))
    need[:, 2] = 0.0  # no need at all: equal shares for that service
    status = rng.random(40) + 0.1
    got = welfare.targeting_weights(need, status, capture)
    for s in range(5):
        np.testing.assert_array_equal(
            got[:, s], welfare.targeting_weights(need[:, s], status, capture)
        )
    np.testing.assert_allclose(got.mean(axis=0), 1.0, rtol=1e-12)  # mean 1 per service
