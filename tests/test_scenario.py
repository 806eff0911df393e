"""Scenario files: defaults, extends, overrides, and clear refusals of bad input."""

from __future__ import annotations

import pytest

from sim.scenario import (
    PARTNERSHIP_TYPES,
    Scenario,
    ScenarioError,
    lever_table,
    load_scenario,
)

from .conftest import SCENARIOS


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_shipped_scenario_loads_and_only_sets_what_differs():
    names = {p.stem for p in SCENARIOS.glob("*.toml")}
    required = {
        "baseline",
        "ppp",
        "psp",
        "pmg",
        "msp",
        "msp_unclear_goals",
        "msp_power_imbalance",
        "msp_poor_communication",
        "msp_low_trust",
        "msp_no_evaluation",
    }
    assert required <= names
    for path in SCENARIOS.glob("*.toml"):
        s = load_scenario(path)
        assert s.name == path.stem


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("msp_unclear_goals", "goal_clarity", 0.2),
        ("msp_power_imbalance", "power_balance", 0.0),
        ("msp_poor_communication", "communication", 0.2),
        ("msp_low_trust", "trust", 0.2),
        ("msp_no_evaluation", "evaluation_interval", 0),
    ],
)
def test_each_variant_degrades_exactly_one_success_factor(name, key, value):
    base = load_scenario(SCENARIOS / "msp.toml").to_dict()
    variant = load_scenario(SCENARIOS / f"{name}.toml").to_dict()
    assert variant["factors"][key] == value
    diffs = {
        (section, k)
        for section, fields in base.items()
        if isinstance(fields, dict)
        for k in fields
        if fields[k] != variant[section][k]
    }
    assert diffs == {("factors", key)}


def test_partnership_types_are_the_essays_four_and_none():
    assert set(PARTNERSHIP_TYPES) == {"none", "ppp", "psp", "pmg", "msp"}


def test_extends_merges_sections_deeply(tmp_path):
    write(tmp_path, "base.toml", "[factors]\ntrust = 0.3\ncommunication = 0.4\n")
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\n[factors]\ntrust = 0.9\n')
    s = load_scenario(child)
    assert (s.factors.trust, s.factors.communication, s.name) == (0.9, 0.4, "child")


def test_overrides_accept_dotted_and_bare_keys():
    s = Scenario().with_overrides({"factors.trust": 0.1, "households": 42})
    assert s.factors.trust == 0.1 and s.population.households == 42


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[factors]\ntrsut = 0.5\n", ["factors.trsut", "Did you mean 'trust'"]),
        ("[factor]\ntrust = 0.5\n", ["unknown key 'factor'", "factors"]),
        ('[factors]\ntrust = "high"\n', ["factors.trust", "'high'", "Allowed: float"]),
        ("[factors]\ntrust = 1.5\n", ["factors.trust", "1.5", "<= 1.0"]),
        ("[population]\nhouseholds = 0\n", ["population.households", ">= 2"]),
        ("[population]\nhouseholds = -5\n", ["population.households", "-5"]),
        ("[factors]\ntrust = nan\n", ["factors.trust", "nan"]),
        ("[factors]\ncommunication = inf\n", ["factors.communication", "inf"]),
        ('[partnership]\ntype = "joint"\n', ["partnership.type", "'joint'", "msp"]),
        ("[population]\nties_within = 3\n", ["ties_within", "even"]),
        ("[factors]\nevaluation_interval = 1.5\n", ["evaluation_interval", "1.5"]),
    ],
)
def test_bad_values_are_refused_with_file_key_value_and_what_is_allowed(tmp_path, text, fragments):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_not_toml_and_circular_extends(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "broken.toml", "[factors\ntrust = 0.5"))
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(tmp_path / "a.toml")
    with pytest.raises(ScenarioError, match=r"extends = 'ghost\.toml'.*not found"):
        load_scenario(write(tmp_path, "c.toml", 'extends = "ghost.toml"\n'))


def test_bad_override_is_refused_with_suggestion():
    with pytest.raises(ScenarioError, match=r"Did you mean 'factors.communication'"):
        Scenario().with_overrides({"factors.comunication": 0.2})
    with pytest.raises(ScenarioError, match=r"factors\.trust = -0\.1"):
        Scenario().with_overrides({"factors.trust": -0.1})


def test_lever_table_documents_every_lever():
    rows = lever_table()
    assert len(rows) >= 60
    for row in rows:
        assert row["meaning"], f"{row['section']}.{row['key']} has no meaning"
    keys = {(r["section"], r["key"]) for r in rows}
    for factor in (
        "goal_clarity",
        "power_balance",
        "communication",
        "trust",
        "evaluation_interval",
    ):
        assert ("factors", factor) in keys


def test_every_outcome_is_declared_once_with_label_unit_bounds_and_direction():
    from sim import OUTCOMES as FACE
    from sim.present.plots import LABELS
    from sim.scenario.outcomes import DECLARED, OUTCOMES

    assert FACE is OUTCOMES and list(DECLARED) == list(OUTCOMES)
    assert len(set(OUTCOMES)) == len(OUTCOMES) == 37
    for name, o in DECLARED.items():
        assert o.name == name and o.label and o.unit and o.meaning
        low, high = o.bounds
        assert low < high and o.better in ("higher", "lower", "")
        assert LABELS[name] == o.label
    labels = [o.label for o in DECLARED.values()]
    assert len(set(labels)) == len(labels), "two outcomes share a label"
