"""The optimised code paths give the numbers of the plain formulas: bit for bit where they do
the same arithmetic, to a relative 1e-12 where data collection sums in another order."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sim import PartnershipModel
from sim.mechanisms import dynamics, metrics, network, welfare
from sim.model.learning import household_trust_in_several


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


def test_diffusion_equals_the_formula(rng):
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
    before = model.record.joint_dose.copy()
    model.step()
    assert not np.array_equal(before, model.record.joint_dose)
    assert np.all(model.record.joint_dose >= 0)


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
    # Into the need array itself (what delivery does), with and without a zero column.
    for zero_column in (True, False):
        need = np.asfortranarray(rng.random((40, 5)))
        if zero_column:
            need[:, 2] = 0.0
        expected = welfare.targeting_weights(need.copy(order="F"), status, capture)
        got = welfare.targeting_weights(need, status, capture, out=need)
        assert got is need
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ data collection
def _plain_household_outcomes(model: PartnershipModel) -> dict[str, float]:
    """The household outcomes as the plain formulas give them (the code before buffers)."""
    hh = model.hh
    cfg = model.config.welfare
    w = (
        hh.access.mean(axis=1) + hh.capacity + hh.empowerment + welfare.income_score(hh.income)
    ) / 4.0
    h, a, m0 = metrics.alkire_foster(
        np.ascontiguousarray(welfare.deprivations(hh, cfg.deprivation_cutoff)),
        welfare.DEPRIVATION_WEIGHTS,
        cfg.poverty_k,
    )
    tied = hh.trust[model.tied]  # the trust of every household in every organization tied to it
    return {
        "welfare_mean": float(w.mean()),
        "welfare_q1": float(w[model.poorest].mean()),
        "access_mean": float(hh.access.mean()),
        "access_health": float(hh.access[:, 0].mean()),
        "capacity_mean": float(hh.capacity.mean()),
        "empowerment_mean": float(hh.empowerment.mean()),
        "income_mean": float(hh.income.mean()),
        "welfare_gini": metrics.gini(w),
        "income_gini": metrics.gini(hh.income),
        "poverty_rate": metrics.headcount_ratio(hh.income, 1.0),
        "income_bottom40": metrics.bottom_share(hh.income, 0.4),
        "welfare_atkinson": metrics.atkinson(w, 1.0),
        "welfare_sen": metrics.sen_index(w),
        "mpi_h": h,
        "mpi_a": a,
        "mpi_m0": m0,
        "trust_community": float(tied.mean()),
        # Each household's trust as take-up reads it, over every organization; its spread.
        "trust_spread": float(
            np.std(
                welfare.programme_trust(
                    hh.trust, list(range(hh.trust.shape[1])), model.structure.tied_weight
                )
            )
        ),
    }


# Data collection sums in other orders than the plain formulas (the Gini's total is n times the
# mean, the Atkinson index takes the log-mean minus the log of the mean, the Alkire-Foster
# intensity sums scores count by count, the community's trust is one sum of products), so
# values may differ in the last bits: a relative 1e-12 is some thousand times the rounding
# of these sums and far below any difference a formula error would make (the smallest such
# difference is one household's share, 1/n).
RECORD_RTOL = 1e-12


@pytest.mark.parametrize(
    ("scenario", "households"), [("msp", 400), ("ppp", 1001), ("baseline", 3), ("msp", 9000)]
)
def test_recorded_household_outcomes_equal_the_plain_formulas(scenario, households):
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scenarios" / f"{scenario}.toml"
    model = PartnershipModel.from_scenario(
        path, seed=5, households=households, villages=min(8, households)
    )
    for _ in range(3):  # the buffers are reused across steps and must not carry anything over
        model.run(4)
        plain = _plain_household_outcomes(model)
        recorded = {name: model.metrics[name] for name in plain}
        assert recorded.keys() == plain.keys()
        for name, value in plain.items():
            assert recorded[name] == pytest.approx(value, rel=RECORD_RTOL, abs=0.0), name
        assert recorded["mpi_h"] == plain["mpi_h"]  # a count over n: exact
        last = model.results().iloc[-1]
        assert all(last[name] == value for name, value in recorded.items())


def test_recorded_partner_outcomes_equal_the_plain_formulas():
    model = PartnershipModel(seed=3, households=300, villages=3)
    for _ in range(4):
        model.run(3)
        p = model.active_partnership
        trust = model.trust_matrix()
        off = ~np.eye(p.size, dtype=bool)
        assert model.metrics["trust_partners"] == pytest.approx(
            trust[off].mean(), rel=RECORD_RTOL, abs=0.0
        )
        assert model.metrics["contribution_rate"] == p.contribution.mean()


def test_partner_trust_after_someone_leaves_is_over_the_remaining_members():
    model = PartnershipModel(seed=3, households=300, villages=3)
    model.run(2)
    p = model.active_partnership
    size = p.size
    before = model.trust_matrix()
    p.net_benefit[3:] = -1.0  # members 4.. have lost out for as long as they tolerate
    p.loss_steps[3:] = model.config.partnership.exit_patience
    model.review_membership()
    assert p.size == 3 < size
    trust = model.trust_matrix()
    recorded = model.outcomes()
    assert recorded["partnership_size"] == 3.0
    assert recorded["trust_partners"] == pytest.approx(
        trust[~np.eye(3, dtype=bool)].mean(), rel=RECORD_RTOL
    )
    stale = before[~np.eye(size, dtype=bool)].mean()
    assert recorded["trust_partners"] != pytest.approx(stale, rel=1e-6)


def test_welfare_index_into_buffers_equals_the_formula(rng):
    stock = np.asfortranarray(rng.random((257, 5)))
    income = rng.lognormal(0.3, 1.2, 257)  # some below 0.25 and above 8: the clip acts
    expected = (
        stock[:, :3].mean(axis=1)
        + stock[:, 3]
        + stock[:, 4]
        + np.clip(np.log(income / 0.25) / np.log(8.0 / 0.25), 0.0, 1.0)
    ) / 4.0
    out, work = np.empty(257), np.empty(257)
    got = welfare.welfare_index(stock[:, :3], stock[:, 3], stock[:, 4], income, out=out, work=work)
    assert got is out
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        welfare.welfare_index(stock[:, :3], stock[:, 3], stock[:, 4], income), expected
    )


def test_gini_of_a_sorted_buffer_equals_gini_and_checks_the_ends(rng):
    for x in (rng.random(1), rng.random(999), rng.lognormal(0, 1, 4096), np.full(7, 2.5)):
        assert metrics.gini_of_sorted(np.sort(x)) == metrics.gini(x)
        total = x.mean() * x.size  # what data collection passes: may differ in the last bits
        assert metrics.gini_of_sorted(np.sort(x), total=total) == pytest.approx(
            metrics.gini(x), rel=RECORD_RTOL, abs=1e-15
        )
    assert metrics.gini_of_sorted(np.full(5, 3.0)) == 0.0
    with pytest.raises(ValueError, match="finite and non-negative"):
        metrics.gini_of_sorted(np.sort(np.array([1.0, np.nan, 2.0])))  # sort puts NaN last
    with pytest.raises(ValueError, match="finite and non-negative"):
        metrics.gini_of_sorted(np.array([-1.0, 2.0]))


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0, 2.0])
def test_atkinson_with_known_extremes_equals_atkinson(rng, epsilon):
    for x in (rng.random(500) + 0.01, np.r_[0.0, rng.random(50)], np.full(4, 0.3)):
        work = np.empty_like(x)
        got = metrics.atkinson_of_valid(x, epsilon, x.min(), x.max(), x.mean(), work=work)
        assert got == metrics.atkinson(x, epsilon)


def test_deprivation_counts_are_the_row_sums_of_the_deprivation_matrix():
    model = PartnershipModel(seed=2, households=300, villages=3).run(5)
    g = welfare.deprivations(model.hh, 0.4)
    counts = welfare.deprivation_counts(model.hh, 0.4)
    assert counts.dtype == np.uint8
    np.testing.assert_array_equal(counts, g.sum(axis=1))
    assert 0 < counts.mean() < 6  # neither nobody nor everybody deprived: a real test


@pytest.mark.parametrize("n", [1, 8, 37, 400, 5000, 20000])  # both sides of _BINCOUNT_BELOW
@pytest.mark.parametrize("k", [0.1, 1 / 3, 0.5, 1.0])
def test_alkire_foster_from_counts_equals_alkire_foster(rng, n, k):
    weights = welfare.DEPRIVATION_WEIGHTS
    g = rng.random((n, weights.size)) < 0.45
    scores = metrics.scores_of_counts(weights)
    # alkire_foster scores a C-ordered matrix; on other layouts BLAS may round the
    # all-deprived row's 6 x 1/6 to 1 - 2**-53 instead of 1 (one ulp), depending on n.
    expected = metrics.alkire_foster(g, weights, k)
    got = metrics.alkire_foster_of_counts(g.sum(axis=1).astype(np.uint8), scores, k)
    assert got[0] == expected[0]  # H: a count over n, exact
    assert got == pytest.approx(expected, rel=RECORD_RTOL, abs=0.0)  # A, M0: sums by count


def test_scores_by_count_equal_the_dot_product_of_every_pattern():
    weights = welfare.DEPRIVATION_WEIGHTS
    patterns = (np.arange(64)[:, None] >> np.arange(6)[None, :]) & 1 == 1
    by_pattern = np.dot(patterns, weights)
    scores = metrics.scores_of_counts(weights)
    np.testing.assert_array_equal(by_pattern, scores[patterns.sum(axis=1)])
    assert scores[0] == 0.0 and scores[-1] == 1.0
    with pytest.raises(ValueError, match="equal values"):
        metrics.scores_of_counts([0.5, 0.25, 0.25])


def test_mean_of_equals_numpy_mean(rng):
    from sim.model.outcomes import mean_of

    stock = np.asfortranarray(rng.random((1001, 5)))
    for x in (stock[:, :3], stock[:, 4], rng.random(7), stock[::3, 1]):
        assert mean_of(x) == x.mean()


def test_income_into_buffers_equals_the_formula(rng):
    income0, c, c0, r, r0 = (rng.random(301) for _ in range(5))
    expected = income0 * np.exp(0.8 * (c - c0) + 0.3 * (r - r0))
    out, work = income0.copy(), np.empty(301)
    got = welfare.income_from_capital(income0, c, c0, r, r0, 0.8, 0.3, out=out, work=work)
    assert got is out
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        welfare.income_from_capital(income0, c, c0, r, r0, 0.8, 0.3), expected
    )


def test_household_trust_of_all_partners_at_once_equals_one_organization_at_a_time(rng):
    """The partnership's block update (masked by the ties) changes exactly what the loop did."""
    model = PartnershipModel(seed=4, households=2000, villages=8).run(3)
    cols = list(range(model.hh.trust.shape[1]))
    served = [model.service_areas[o.node].size for o in model.organizations]
    assert min(served) < 2000 == max(served)  # some serve everyone, some a part: mask matters
    experience = rng.random(2000)
    d = model.config.dynamics
    expected = model.hh.trust.copy()
    for col in cols:
        tied = model.tied[:, col]
        expected[tied, col] = dynamics.trust_update(
            expected[tied, col], experience[tied], d.trust_gain, d.trust_loss
        )
    before = model.hh.trust.copy()
    household_trust_in_several(model.hh.trust, experience, cols, model.structure.tied_weight, d)
    np.testing.assert_array_equal(model.hh.trust, expected)
    assert not np.array_equal(model.hh.trust, before)
    np.testing.assert_array_equal(model.hh.trust[~model.tied], before[~model.tied])
    # A subset of the organizations (gather and scatter) gives the same entries.
    model.hh.trust[:] = before
    household_trust_in_several(
        model.hh.trust, experience, cols[1:4], model.structure.tied_weight, d
    )
    np.testing.assert_array_equal(model.hh.trust[:, 1:4], expected[:, 1:4])
    np.testing.assert_array_equal(model.hh.trust[:, [0, *cols[4:]]], before[:, [0, *cols[4:]]])


def test_branch_free_trust_update_equals_the_formula_bit_for_bit(rng):
    trust = rng.random(10_000)
    experience = np.where(rng.random(10_000) < 0.1, trust, rng.random(10_000))  # ties E == T
    observed = (rng.random(10_000) < 0.6).astype(float)
    # The smaller product when gains are slower than losses, the larger otherwise; equal and
    # zero rates too.
    for gain, loss in [(0.07, 0.31), (0.31, 0.07), (0.2, 0.2), (0.0, 0.3), (0.3, 0.0)]:
        rate = np.where(experience >= trust, gain, loss)
        expected = np.clip((experience - trust) * rate + trust, 0.0, 1.0)
        got = dynamics.trust_update(trust, experience, gain, loss)
        np.testing.assert_array_equal(got, expected)
        work = (np.empty(10_000), np.empty(10_000))
        out = trust.copy()
        dynamics.trust_update(out, experience, gain, loss, out=out, work=work)
        np.testing.assert_array_equal(out, expected)
        masked = np.clip((experience - trust) * observed * rate + trust, 0.0, 1.0)
        got = dynamics.trust_update(trust, experience, gain, loss, observed=observed)
        np.testing.assert_array_equal(got, masked)
        np.testing.assert_array_equal(got[observed == 0], trust[observed == 0])
    assert dynamics.trust_update(0.5, 1.0, 0.1, 0.4) == pytest.approx(0.55)


def test_sorting_bit_patterns_orders_values_and_refuses_signed_patterns():
    from sim.model.outcomes import _sort_non_negative

    rng = np.random.default_rng(8)
    x = np.r_[rng.lognormal(0, 2, 999), 0.0, -0.0, 5e-324, np.inf]
    np.testing.assert_array_equal(_sort_non_negative(x.copy()), np.sort(x))
    signed_nan = np.copysign(np.nan, -1.0)  # what invalid operations (0 * inf) make on x86
    for bad in (-1e-300, -3.0, -np.inf, signed_nan):
        for values in ([0.3, bad, 0.7], [0.3, -0.0, bad, 0.7]):  # -0.0 sorts before the rest
            with pytest.raises(ValueError, match="finite and non-negative"):
                _sort_non_negative(np.array(values))
    # A positive NaN or inf sorts last, where the Gini's check of the ends refuses it.
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="finite and non-negative"):
            metrics.gini_of_sorted(_sort_non_negative(np.array([0.3, -0.0, bad, 0.7])))


def test_bucket_sort_equals_numpys_sort_and_keeps_the_checks():
    from sim.model.outcomes import _sort_non_negative

    rng = np.random.default_rng(9)
    arrays = [
        rng.lognormal(0, 2, 20_000),  # skewed, like incomes
        np.r_[rng.random(9_000), np.zeros(500), np.full(700, 0.5), 5e-324, np.inf],  # ties
        rng.integers(0, 3, 6_000).astype(float),  # three values
        np.full(5_000, 2.0),  # all equal
        np.r_[rng.random(5_000), -0.0],  # a signed zero: falls back to the checked sort
    ]
    for x in arrays:
        expected = np.sort(x)
        for bucketed in (True, False, None):
            np.testing.assert_array_equal(_sort_non_negative(x.copy(), bucketed=bucketed), expected)
    with pytest.raises(ValueError, match="finite and non-negative"):
        _sort_non_negative(np.r_[rng.random(5_000), -1.0], bucketed=True)
    with pytest.raises(ValueError, match="finite and non-negative"):  # a NaN sorts last
        metrics.gini_of_sorted(_sort_non_negative(np.r_[rng.random(5_000), np.nan], bucketed=True))


def test_dose_response_with_a_work_array_equals_without(rng):
    stock = np.asfortranarray(rng.random((50, 5)))
    dose = np.asfortranarray(rng.random((50, 5)))
    efficiency = rng.random(5)[None, :]
    expected = welfare.dose_response(stock, dose, efficiency)
    work = np.empty_like(stock)
    got = welfare.dose_response(stock, dose.copy(order="F"), efficiency, work=work)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(work, 1.0 - stock)  # the intermediate landed in it


def _programme_trust_formula(trust, cols, tied):
    t, w = trust[:, cols], tied[:, cols]
    count = w.sum(axis=1)
    return np.divide((t * w).sum(axis=1), count, out=t.mean(axis=1), where=count > 0)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 6, 7, 8, 9])
def test_row_sums_and_programme_trust_equal_numpys_row_sums_bit_for_bit(rng, k):
    """Column by column, left to right, is how numpy sums rows of fewer than eight values."""
    trust = rng.random((3000, k)) * rng.lognormal(0, 3, (3000, 1))  # wide range: rounding
    tied = (rng.random((3000, k)) < 0.5).astype(float)
    tied[:7] = 0.0  # households tied to none of them: the plain mean
    if k < 8:
        np.testing.assert_array_equal(welfare.row_sums(trust), trust.sum(axis=1))
    for cols in (list(range(k)), list(range(k))[::-1], list(range(0, k, 2))):
        expected = _programme_trust_formula(trust, cols, tied)
        np.testing.assert_array_equal(welfare.programme_trust(trust, cols, tied), expected)
        count = tied[:, cols].sum(axis=1)
        work = np.empty_like(trust)
        got = welfare.programme_trust(trust, cols, tied, count=count, work=work)
        np.testing.assert_array_equal(got, expected)
    every = (rng.random((3000, k)) < 0.5).astype(float)
    every[:, 0] = 1.0  # everyone tied to someone: no masked divide
    np.testing.assert_array_equal(
        welfare.programme_trust(trust, list(range(k)), every),
        _programme_trust_formula(trust, list(range(k)), every),
    )


def test_tie_counts_are_the_row_sums_of_the_ties_and_kept():
    model = PartnershipModel(seed=4, households=500, villages=5)
    s = model.structure
    cols = [0, 2, 3]
    counts = s.tie_counts(cols)
    np.testing.assert_array_equal(counts, s.tied_weight[:, cols].sum(axis=1))
    assert s.tie_counts(cols) is counts and not counts.flags.writeable


def test_diffusion_by_its_operator_equals_the_formula_to_the_last_bits(rng):
    n = 300
    edges = network.small_world_edges(np.repeat(np.arange(3), 100), 4, 0.2, 0.05, rng)
    full = network.social_adjacency(edges, n)
    keep = (np.arange(n) >= 5).astype(float)  # 5 isolated households
    cut = sp.csr_array(full.toarray() * keep[:, None] * keep[None, :])
    weighted = sp.csr_array(full.toarray() * rng.uniform(0.5, 2.0, (n, n)))
    weighted = (weighted + weighted.T) / 2
    for adj in (full, cut, weighted):
        for values in (rng.random((n, 4)), rng.random(n)):
            for rate in (0.0, 0.05, 0.3, 1.0):
                expected = dynamics.diffuse_on_ties(values, adj, rate)
                operator = dynamics.diffusion_operator(adj, rate)
                got = dynamics.diffuse(values, operator, rate)
                # The weight ω/deg is rounded once, then multiplies each neighbour's value.
                np.testing.assert_allclose(got, expected, rtol=4e-16 * 8, atol=0)
                inplace = values.copy()
                assert dynamics.diffuse(inplace, operator, rate, out=inplace) is inplace
                np.testing.assert_array_equal(inplace, got)
    # Isolated households: the same arithmetic as the formula, (1 - ω) v + ω v.
    values = rng.random((n, 4))
    got = dynamics.diffuse(values, dynamics.diffusion_operator(cut, 0.3), 0.3)
    np.testing.assert_array_equal(got[:5], dynamics.diffuse_on_ties(values, cut, 0.3)[:5])
    np.testing.assert_allclose(got[:5], values[:5], rtol=1e-15)  # two roundings: a few ulps


def test_the_model_rebuilds_its_diffusion_operator_when_the_rate_changes():
    model = PartnershipModel(seed=1, households=300, villages=3)
    rate = model.config.dynamics.household_diffusion
    diffusion = model._diffusion
    first = diffusion.operator(model.config.dynamics.household_diffusion)
    assert first is diffusion.operator(rate)  # built once for a rate
    np.testing.assert_allclose(first.sum(axis=1), rate)  # ω spread over each row's ties
    second = diffusion.operator(2 * rate)
    np.testing.assert_allclose(second.sum(axis=1), 2 * rate)
    assert diffusion.operator(0.0) is None
    # The model reads the rate from its configuration at every step (interventions change it).
    model.config = model.config.with_overrides({"dynamics.household_diffusion": 2 * rate})
    model.step()
    np.testing.assert_allclose(diffusion.operator(2 * rate).sum(axis=1), 2 * rate)
    assert diffusion._rate == 2 * rate


@pytest.mark.parametrize("fresh", [True, False])
def test_distribute_and_dose_response_reading_a_known_need_equal_computing_it(rng, fresh):
    from sim.model.delivery import Scratch, distribute

    model = PartnershipModel(seed=4, households=600, villages=6).run(2)
    hh, n = model.hh, len(model.hh)
    value, area = rng.random(5) * 100, np.arange(n)
    retention, takeup = rng.random(n), rng.random(n)
    start = np.asfortranarray(rng.random((n, 5)))
    doses = []
    for need in (None, np.subtract(1.0, hh.stock)):
        dose = np.zeros_like(hh.stock) if fresh else start.copy(order="F")
        kept = None if need is None else need.copy(order="F")
        got = distribute(hh, Scratch(hh.stock), dose, value, area, 0.3, fresh=fresh,
                         retention=retention, takeup=takeup, need=need)  # fmt: skip
        if need is not None:
            np.testing.assert_array_equal(need, kept)  # read, not changed
        doses.append((got, dose))
    for a, b in zip(*doses, strict=True):
        np.testing.assert_array_equal(a, b)
    eff = np.array([1.0, 1.0, 1.0, 2.0, 0.5])[None, :]
    expected = welfare.dose_response(hh.stock, doses[0][1], eff)
    headroom = np.subtract(1.0, hh.stock)
    np.testing.assert_array_equal(
        welfare.dose_response(hh.stock, doses[0][1], eff, headroom=headroom), expected
    )


def test_legitimacy_gathered_by_kept_positions_equals_the_fancy_index():
    model = PartnershipModel(seed=4, households=900, villages=9).run(3)
    parties, trust = model.parties, model.hh.trust
    partial = 0
    for o in model.organizations:
        area = model.service_areas[o.node]
        partial += area.size < len(model.hh)
        expected = float(trust[area, parties.index[o.node]].mean())
        assert parties.legitimacy(o.node) == expected
        assert parties.legitimacy(o.node) == expected  # kept positions, second call
    assert partial  # some organizations serve part of the district: the gathered path ran
