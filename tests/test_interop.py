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


def test_ema_uncertainties_when_ema_workbench_is_installed():
    pytest.importorskip("ema_workbench", reason="ema_workbench is optional (not installed)")
    params = ema_uncertainties(["factors.trust", "population.villages"])
    assert [p.name for p in params] == ["factors__trust", "population__villages"]
