"""The model as a function (sim.run_model) and the lever table as EMA uncertainties."""

import math

import pytest

import sim
from sim.interop import ema_uncertainties, lever_ranges, run_model
from sim.paths import SCENARIOS
from sim.scenario import ScenarioError, load_scenario


def test_run_model_returns_the_horizon_row_of_the_same_run():
    out = sim.run_model("msp", steps=8, seed=5, households=150, communication=0.2)
    scenario = load_scenario(SCENARIOS / "msp.toml", ["factors.communication=0.2"])
    df = sim.PartnershipModel(scenario, seed=5, households=150).run(8).results()
    last = df.iloc[-1]
    assert set(out) == set(sim.OUTCOMES)
    for name, value in out.items():
        expected = float(last[name])
        assert (math.isnan(value) and math.isnan(expected)) or value == expected, name


def test_run_model_section_keywords_and_errors():
    a = run_model("baseline", steps=3, seed=1, population__households=100)
    b = run_model("baseline", steps=3, seed=1, households=100)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)
    assert math.isnan(a["trust_partners"])  # no partnership in the baseline
    with pytest.raises(ScenarioError, match="trus"):
        run_model("msp", steps=2, trus=0.3)
    with pytest.raises(ScenarioError):
        run_model("msp", steps=2, trust=1.5)


def test_lever_ranges_come_from_the_schema():
    ranges = lever_ranges()
    assert ranges["factors.trust"] == (0.0, 1.0)
    assert not any(name.startswith("run.") for name in ranges)
    assert all(low < high for low, high in ranges.values())


def test_ema_uncertainties_name_the_levers_as_keywords():
    params = ema_uncertainties(["factors.trust", "population.villages"])
    assert [p.name for p in params] == ["factors__trust", "population__villages"]


def test_ema_workbench_prim_finds_the_trust_needed_for_the_poorest_fifth():
    """A worked example: EMA Workbench drives sim.run_model; PRIM on the best 30% of runs."""
    import numpy as np
    from ema_workbench import Model, ScalarOutcome, perform_experiments
    from ema_workbench.analysis import prim

    def welfare_q1(**levers):
        out = run_model("msp", steps=12, seed=1, households=150, **levers)
        return {"welfare_q1": out["welfare_q1"]}

    model = Model("kemitraan", function=welfare_q1)
    model.uncertainties = ema_uncertainties(
        ["factors.trust", "factors.communication", "factors.power_balance"]
    )
    model.outcomes = [ScalarOutcome("welfare_q1")]
    np.random.seed(0)  # noqa: NPY002 (EMA Workbench samples from numpy's global generator)
    experiments, outcomes = perform_experiments(model, 40)
    names = [u.name for u in model.uncertainties]
    good = outcomes["welfare_q1"] > np.percentile(outcomes["welfare_q1"], 70)
    box = prim.Prim(experiments[names], good, threshold=0.6).find_box()
    limits = box.box_lims[-1]
    # Seeds 0-2 gave a lower trust limit of 0.35, 0.32, 0.25 (range 0-1) and a box at least
    # twice as dense in good runs as the sample (0.3); the bounds leave room for the spread.
    assert limits["factors__trust"][0] >= 0.2
    assert box.density >= 0.6
    assert np.corrcoef(experiments["factors__trust"], outcomes["welfare_q1"])[0, 1] > 0.5
