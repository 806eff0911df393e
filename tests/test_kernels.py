"""The compiled kernels (sim.mechanisms.kernels) give the numpy forms' results bit for bit,
kernel by kernel and for whole runs of every shipped scenario; and they run when they should."""

from __future__ import annotations

import collections
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from sim import PartnershipModel
from sim.mechanisms import dynamics, kernels, network, welfare

from .conftest import SCENARIOS

pytest.importorskip("numba")  # a dependency: skipped only where numba cannot be installed


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=float).view(np.int64)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def ties(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    tied = rng.random((n, k)) < 0.5
    tied[:, 0] = True
    tied[:4] = False  # four households tied to none
    return tied


@pytest.mark.parametrize(
    "gain, loss", [(0.1, 0.4), (0.4, 0.1), (0.2, 0.2), (0.0, 0.3), (1.0, 1.0), (np.nan, 0.3)]
)
def test_trust_step_is_the_trust_update_of_the_tied_entries(rng, gain, loss):
    n, k = 500, 6
    trust = rng.random((n, k))
    trust[4, :3] = [0.0, 1.0, 0.5]
    experience = rng.random(n)
    experience[4:7] = [0.0, 1.0, 0.5]
    tied = ties(rng, n, k)
    expected = dynamics.trust_update(
        trust, experience[:, None], gain, loss, observed=tied.astype(float)
    )
    for compiled in (True, False):
        got = trust.copy()
        kernels.trust_step(got, experience, tied, gain, loss, compiled=compiled)
        np.testing.assert_array_equal(bits(got), bits(expected))
        if not np.isnan(gain):  # a NaN rate spoils every entry, as in numpy
            np.testing.assert_array_equal(got[~tied], trust[~tied])  # the others keep theirs
    moved = np.abs(expected - trust)[tied]
    assert np.isnan(gain) or moved.max() > 0.01  # the case is not vacuous


@pytest.mark.parametrize("k", [1, 4, 5, 6, 7])
@pytest.mark.parametrize("index", [np.int32, np.int64])
def test_diffuse_is_the_numpy_diffusion_capped_at_one(rng, k, index):
    n = 600
    village = np.repeat(np.arange(3), 200)
    edges = network.small_world_edges(village, 4, 0.2, 0.05, rng)
    adjacency = network.social_adjacency(edges, n).toarray()
    adjacency[:5] = adjacency[:, :5] = 0  # five households without ties keep their trust
    operator = dynamics.diffusion_operator(sp.csr_array(adjacency), 0.3)
    operator = sp.csr_array(
        (operator.data, operator.indices.astype(index), operator.indptr.astype(index)),
        shape=operator.shape,
    )
    values = rng.random((n, k))
    values[5:40] = 1.0  # means of ones: the cap's case
    expected = np.minimum(dynamics.diffuse(values, operator, 0.3), 1.0)
    for compiled in (True, False):
        out = np.empty_like(values)
        kernels.diffuse(values, operator, 0.3, out=out, compiled=compiled)
        np.testing.assert_array_equal(bits(out), bits(expected))
    np.testing.assert_allclose(expected[:5], values[:5], rtol=1e-15)  # no ties: kept
    assert expected.max() <= 1.0
    with pytest.raises(ValueError, match="output other than its input"):
        kernels.diffuse(values, operator, 0.3, out=values)


@pytest.mark.parametrize("k", [1, 6, 8, 12])
def test_tied_trust_and_takeup_are_the_programme_trusts(rng, k):
    n = 400
    trust = rng.random((n, k))
    tied = ties(rng, n, k)
    count = welfare.row_sums(tied.astype(float))
    every = list(range(k))
    expected = welfare.programme_trust(trust, every, tied.astype(float), count=count)
    np.testing.assert_allclose(expected[:4], trust[:4].mean(axis=1), rtol=1e-15)  # tied to none
    takeup = welfare.takeup(expected.copy(), 0.4)
    for compiled in (True, False):
        got = kernels.tied_trust(trust, tied, count, compiled=compiled)
        np.testing.assert_array_equal(bits(got), bits(expected))
        got = kernels.tied_takeup(trust, tied, count, 0.4, compiled=compiled)
        np.testing.assert_array_equal(bits(got), bits(takeup))


@pytest.mark.parametrize("participation, with_takeup", [(0.0, True), (0.03, True), (0.03, False)])
def test_share_out_is_targeting_leakage_takeup_and_the_dose_exponent(
    rng, participation, with_takeup
):
    n, k = 300, 5
    stock = np.asfortranarray(rng.random((n, k)))
    need = np.asfortranarray(1.0 - stock)
    status = rng.lognormal(0.0, 0.5, n)
    per_household = np.array([0.2, 0.0, 0.1, 0.3, 0.05])  # a service with nothing to share
    retention = rng.uniform(0.7, 1.0, n)
    takeup = rng.uniform(0.5, 1.0, n) if with_takeup else None
    efficiency = np.array([1.0, 1.0, 1.0, 2.0, 0.5])
    # The numpy forms the model runs (delivery.distribute, then dose_gain's first step).
    amount = welfare.targeting_weights(need, status, 0.3) * per_household
    amount *= retention[:, None]
    received = welfare.row_sums(amount)
    if takeup is not None:
        amount[:, welfare.TAKEN_UP] *= takeup[:, None]
    amount[:, -1] += participation
    exponent = np.negative(efficiency)[None, :] * amount
    for compiled in (True, False):
        dose, factor = np.zeros_like(need), np.zeros_like(need)
        got = np.zeros(n)
        done = kernels.share_out(
            need, status, 0.3, per_household, retention, takeup, welfare.TAKEN_UP,
            participation, efficiency, dose=dose, exponent=factor, received=got,
            compiled=compiled,
        )  # fmt: skip
        assert done
        np.testing.assert_array_equal(bits(got), bits(received))
        np.testing.assert_array_equal(bits(dose), bits(amount))
        np.testing.assert_array_equal(bits(factor), bits(exponent))
    assert np.all(dose[:, 1] == 0.0) and received.min() > 0


def test_share_out_leaves_a_service_nobody_needs_to_numpy(rng):
    need = np.asfortranarray(rng.random((10, 5)))
    need[:, 2] = 0.0
    dose = np.full_like(need, 7.0)
    args = (need, np.ones(10), 0.2, np.ones(5), np.ones(10), None, welfare.TAKEN_UP, 0.0)
    out = dict(dose=dose, exponent=dose.copy(), received=np.zeros(10), compiled=True)
    assert not kernels.share_out(*args, np.ones(5), **out)
    assert np.all(dose == 7.0)  # nothing written


def test_take_gain_is_the_dose_gain_added_to_the_stock(rng):
    n = 200
    stock = np.asfortranarray(rng.random((n, 5)))
    need = np.asfortranarray(1.0 - stock)
    dose = np.asfortranarray(rng.random((n, 5)))
    efficiency = np.array([1.0, 1.0, 1.0, 2.0, 0.5])[None, :]
    gain = welfare.dose_gain(dose, efficiency, need)
    for compiled in (True, False):
        factor = np.exp(np.negative(efficiency) * dose)
        factor = np.asfortranarray(factor)
        risen = stock.copy(order="F")
        kernels.take_gain(factor, need, risen, compiled=compiled)
        np.testing.assert_array_equal(bits(factor), bits(gain))
        np.testing.assert_array_equal(bits(risen), bits(gain + stock))


@pytest.mark.parametrize("n", [1, 2, 50, 3000])
def test_sort_bits_sorts_exactly(rng, n):
    values = np.concatenate([rng.lognormal(0.0, 0.6, n), np.full(5, 0.5)])
    values[: n // 3] = np.round(values[: n // 3], 2)  # ties
    bits = values.view(np.int64).copy()
    lo, hi = int(bits.min()), int(bits.max())
    assert kernels.sort_bits(bits, lo, hi, kernels.sort_work(bits.size), compiled=True)
    np.testing.assert_array_equal(bits.view(float), np.sort(values))


@pytest.mark.parametrize("n", [50, 3000])
def test_sort_bits_with_zero_and_infinity_sorts_or_declines(rng, n):
    """A zero and an infinity stretch the buckets over every exponent, so the values crowd
    into a few: the kernel either sorts exactly or declines, the values untouched."""
    values = np.concatenate([rng.lognormal(0.0, 0.6, n), [0.0, 0.0, np.inf]])
    bits = values.view(np.int64).copy()
    lo, hi = int(bits.min()), int(bits.max())
    if kernels.sort_bits(bits, lo, hi, kernels.sort_work(bits.size), compiled=True):
        np.testing.assert_array_equal(bits.view(float), np.sort(values))
    else:
        np.testing.assert_array_equal(bits, values.view(np.int64))


def test_sort_bits_refuses_values_crowded_into_few_buckets(rng):
    """Half the values a hair apart and one far away: they share a bucket, and the insertion
    pass would move about n²/16 values; the kernel stops and leaves the values as they were."""
    crowded = 1.0 + rng.random(4000) * 1e-12
    values = np.concatenate([crowded, [1e300]]).view(np.int64)
    before = values.copy()
    lo, hi = int(values.min()), int(values.max())
    assert not kernels.sort_bits(values, lo, hi, kernels.sort_work(values.size), compiled=True)
    np.testing.assert_array_equal(values, before)


@pytest.fixture
def counted(monkeypatch):
    """The kernels that ran, counted by the wrapper that chose the compiled form."""
    assert kernels.load()
    calls: collections.Counter[str] = collections.Counter()
    choose = kernels._kernel

    def spy(households, compiled):
        module = choose(households, compiled)
        if module is not None:
            calls[sys._getframe(1).f_code.co_name] += 1
        return module

    monkeypatch.setattr(kernels, "_kernel", spy)
    return calls


SHIPPED = sorted(SCENARIOS.glob("*.toml")) + sorted((SCENARIOS / "policies").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_run_with_the_kernels_has_the_bits_of_one_without(monkeypatch, counted, path):
    """Every shipped scenario and policy design, 48 steps (past the donor exit at 37).

    300 households with the kernels (their threshold lowered) against the numpy forms,
    outcome for outcome and state for state.
    """
    runs = {}
    for use in (True, False):
        monkeypatch.setattr(kernels, "FROM", 1 if use else 10**12)
        model = PartnershipModel.from_scenario(path, seed=5, households=300, steps=48)
        model.run()
        runs[use] = model
    a, b = runs[True], runs[False]
    pd_a, pd_b = a.results(), b.results()
    assert list(pd_a.columns) == list(pd_b.columns)
    numbers = pd_a.select_dtypes("number").columns
    np.testing.assert_array_equal(
        pd_a[numbers].to_numpy(dtype=float), pd_b[numbers].to_numpy(dtype=float)
    )
    np.testing.assert_array_equal(bits(a.hh.trust), bits(b.hh.trust))
    np.testing.assert_array_equal(bits(a.hh.stock), bits(b.hh.stock))
    assert sum(counted.values()) > 0  # the kernels ran (the recorded outcomes at least)
    if path.name == "msp.toml":  # the default partnership serves everyone: every kernel runs
        assert set(counted) == {
            "trust_step", "diffuse", "tied_trust", "tied_takeup", "share_out", "take_gain",
            "sort_bits",
        }  # fmt: skip


def test_the_kernels_run_by_size_once_loaded(monkeypatch):
    assert not kernels.enabled(kernels.FROM - 1)
    assert kernels.load() and kernels.loaded()
    assert kernels.enabled(kernels.FROM) and kernels.enabled(kernels.LOAD_FROM)


def test_switched_off_the_numpy_forms_run_everywhere(monkeypatch):
    monkeypatch.setenv("KEMITRAAN_KERNELS", "0")
    kernels._compiled.cache_clear()
    try:
        assert not kernels.load() and not kernels.loaded()
        assert not kernels.enabled(10 * kernels.LOAD_FROM)
        with pytest.raises(RuntimeError, match="numba"):
            kernels.tied_trust(np.ones((2, 2)), np.ones((2, 2), bool), np.ones(2), compiled=True)
    finally:
        monkeypatch.delenv("KEMITRAAN_KERNELS")
        kernels._compiled.cache_clear()
    assert kernels.load()


def test_an_unloadable_kernel_cache_falls_back_to_numpy_with_a_warning(monkeypatch):
    """A corrupt numba cache raises when the kernels load: the numpy forms run instead."""

    def corrupt(compiled):
        raise EOFError("truncated cache file")

    monkeypatch.setattr(kernels, "_warm", corrupt)
    kernels._compiled.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="EOFError: truncated cache file"):
            assert not kernels.load()
        assert not kernels.enabled(10 * kernels.LOAD_FROM)
    finally:
        monkeypatch.undo()
        kernels._compiled.cache_clear()
    assert kernels.load()


def test_the_wrappers_refuse_arrays_the_loops_would_overrun(rng):
    trust, tied = rng.random((10, 3)), np.ones((10, 3), bool)
    with pytest.raises(ValueError, match=r"tied is shaped \(10, 2\)"):
        kernels.trust_step(trust, np.ones(10), tied[:, :2], 0.1, 0.2, compiled=True)
    with pytest.raises(ValueError, match=r"experience is shaped \(9,\)"):
        kernels.trust_step(trust, np.ones(9), tied, 0.1, 0.2, compiled=True)
    with pytest.raises(ValueError, match=r"count is shaped"):
        kernels.tied_trust(trust, tied, np.ones(3), compiled=True)
    bits = np.arange(10, dtype=np.int64)
    with pytest.raises(ValueError, match="sort_work"):
        kernels.sort_bits(bits, 0, 9, kernels.sort_work(11), compiled=True)
    operator = sp.csr_array(np.eye(10))
    with pytest.raises(ValueError, match="output other than its input"):
        kernels.diffuse(trust, operator, 0.3, out=trust[::-1])  # an overlapping view
