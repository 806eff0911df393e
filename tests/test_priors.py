"""The calibration's priors: every assumption lever accounted for, each prior well formed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sim.scenario import Scenario
from sim.scenario.priors import (
    Prior,
    PriorsError,
    assumption_levers,
    load_priors,
)
from sim.scenario.schema import lever_table

DEFAULTS = {f"{r['section']}.{r['key']}": r["default"] for r in lever_table()}


def test_every_assumption_lever_has_a_prior_or_a_stated_exemption():
    priors = load_priors()
    assert priors.missing() == []
    assert len(assumption_levers()) >= 100  # the schema's assumption levers, as marked today
    covered = set(priors.levers) | {e.lever for e in priors.exempt}
    assert set(assumption_levers()) <= covered
    assert all(e.reason for e in priors.exempt)


def test_each_prior_contains_its_default_and_has_a_reason():
    for p in load_priors().prior:
        assert p.low <= DEFAULTS[p.lever] <= p.high, p.lever
        assert len(p.reason) > 20, p.lever


def test_quantiles_map_the_unit_cube_onto_the_support_and_back():
    priors = load_priors().subset(["population.income_median", "dynamics.learning_rate"])
    u = np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]])
    x = priors.from_unit(u)
    np.testing.assert_allclose(x[:, 0], [0.75, 1.875, 3.0])
    np.testing.assert_allclose(x[:, 1], [0.15, 0.3, 0.45])
    np.testing.assert_allclose(priors.to_unit(x), u)


def test_draws_become_valid_overrides_with_whole_numbers_rounded():
    priors = load_priors().subset(["organizations.firms", "dynamics.learning_rate"])
    rows = priors.overrides(priors.sample(50, np.random.default_rng(0)))
    assert {type(r["organizations.firms"]) for r in rows} == {int}
    assert all(1 <= r["organizations.firms"] <= 5 for r in rows)
    Scenario().with_overrides(rows[0])  # accepted by the schema


@pytest.mark.parametrize(
    ("distribution", "params", "mean", "sd"),
    [
        ("uniform", {"low": 0.0, "high": 1.0}, 0.5, (1 / 12) ** 0.5),
        ("beta", {"a": 2.0, "b": 2.0, "low": 0.0, "high": 1.0}, 0.5, (1 / 20) ** 0.5),
        ("loguniform", {"low": 0.01, "high": 1.0}, 0.99 / np.log(100), None),
        # truncated 3 sd below: mean + sd (phi(-3) - phi(7)) / (Phi(7) - Phi(-3))
        (
            "truncnormal",
            {"mean": 0.3, "sd": 0.1, "low": 0.0, "high": 1.0},
            0.3 + 0.1 * norm.pdf(3.0) / (1.0 - norm.cdf(-3.0)),
            None,
        ),
    ],
)
def test_distributions_have_their_closed_form_moments(distribution, params, mean, sd):
    p = Prior(lever="dynamics.learning_rate", distribution=distribution, reason="test", **params)
    assert p.prior_mean == pytest.approx(mean, rel=1e-3)
    if sd is not None:
        assert p.prior_sd == pytest.approx(sd, rel=1e-6)
    assert p.logpdf(2.0) == -np.inf


def _write(tmp_path, body):
    path = tmp_path / "priors.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'lever = "dynamics.learing_rate"\ndistribution = "uniform"\nlow = 0.1\nhigh = 0.5',
            "learning_rate",
        ),
        (
            'lever = "dynamics.learning_rate"\ndistribution = "uniform"\nlow = 0.4\nhigh = 0.5',
            "excludes the shipped default 0.3",
        ),
        (
            'lever = "dynamics.learning_rate"\ndistribution = "uniform"\nlow = 0.1\nhigh = 1.5',
            "leaves the schema's bounds",
        ),
        (
            'lever = "dynamics.learning_rate"\ndistribution = "beta"\nlow = 0.1\nhigh = 0.5',
            "missing a, b",
        ),
        (
            'lever = "dynamics.learning_rate"\ndistribution = "cauchy"\nlow = 0.1\nhigh = 0.5',
            "cauchy",
        ),
        (
            'lever = "partnership.type"\ndistribution = "uniform"\nlow = 0.1\nhigh = 0.5',
            "numeric lever",
        ),
    ],
)
def test_a_bad_prior_is_refused_with_the_lever_and_the_reason(tmp_path, body, message):
    path = _write(tmp_path, f'[[prior]]\n{body}\nreason = "r"\n')
    with pytest.raises(PriorsError, match=message) as info:
        load_priors(path)
    assert str(path) in str(info.value)


def test_a_lever_given_twice_is_refused(tmp_path):
    one = 'lever = "dynamics.learning_rate"\ndistribution = "uniform"\nlow = 0.1\nhigh = 0.5\n'
    path = _write(tmp_path, f'[[prior]]\n{one}reason = "r"\n[[prior]]\n{one}reason = "r"\n')
    with pytest.raises(PriorsError, match="appears twice"):
        load_priors(path)
