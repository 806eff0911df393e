"""Lever liveness: each lever moves welfare, the poorest, survival or its own outputs, or is listed.

The ``ci`` table (every lever at its plausible ends; 60 households, 120 months, 2 replicates)
runs once per session. A lever shown to be dead (every output's interval within ± its
materiality) must be listed with its reason in ``sim.experiments.liveness.LISTED``; a lever
listed by name must not be live (the list would be stale). docs/levers.md, generated at the
``full`` size, must have a row for every lever of the schema.
"""

from __future__ import annotations

import dataclasses

import pytest

from sim.experiments import liveness as lv
from sim.paths import DOCS
from sim.present.cli import main
from sim.scenario import Scenario
from sim.scenario.outcomes import DECLARED
from sim.scenario.plausible import RANGES, SETTINGS, levers, plausible_range


@pytest.fixture(scope="module")
def rows() -> list[lv.LeverRow]:
    return lv.liveness(lv.SIZES["ci"])


def test_every_lever_has_a_plausible_range_the_schema_accepts() -> None:
    names = levers()
    assert len(names) > 100 and not set(names) & set(SETTINGS)
    for name in names:
        r = plausible_range(name)
        assert r.low != r.high and r.why, name
        for arm in lv.arms_of(name):
            Scenario().with_overrides(dict(arm.overrides))  # both ends are valid scenarios
    assert set(RANGES) <= set(names)


def test_generic_range_is_half_to_one_and_a_half_times_the_default() -> None:
    r = plausible_range("welfare.return_capacity")
    assert (r.low, r.high, r.generic) == (0.3, 0.9, True)
    assert plausible_range("capabilities.firm_finance").high == 1.0  # clipped to the bound
    with pytest.raises(KeyError, match="not a lever"):
        plausible_range("run.seed")


def test_no_lever_is_dead_unless_listed_with_its_reason(rows) -> None:
    assert [r.lever for r in rows] == levers()
    dead = [r.lever for r in rows if r.verdict == "dead" and not r.listed]
    assert not dead, f"dead levers without a reason in liveness.LISTED: {dead}"


def test_levers_listed_by_name_are_not_live(rows) -> None:
    stale = [r.lever for r in rows if r.lever in lv.LISTED and r.live]
    assert not stale, f"listed as dead but live: {stale}"


def test_the_factors_and_the_exit_rule_are_not_dead(rows) -> None:
    # Two replicates cannot always show them live (docs/levers.md, full size, does).
    verdict = {r.lever: r.verdict for r in rows}
    for name in ("factors.trust", "factors.communication", "factors.evaluation_interval",
                 "partnership.exit_threshold", "partnership.exit_patience",
                 "dynamics.trust_gain"):  # fmt: skip
        assert verdict[name] != "dead", name


def test_the_social_graph_and_diffusion_are_judged_on_the_spread_of_trust(rows) -> None:
    """They act on how trust is spread across households, not on its mean (ODD 7.14)."""
    graph = ("population.ties_within", "population.rewiring", "population.ties_across",
             "dynamics.household_diffusion")  # fmt: skip
    for lever in graph:
        assert [o.name for o in lv.acts_on(lever)] == ["trust_spread"], lever
    assert lv.documented("trust_spread").materiality == pytest.approx(0.001)  # 0.2% of 0.5
    moves = {r.lever: r.moves for r in rows}
    # More ties within the village and more weight on neighbours narrow the spread (at ci:
    # by about 0.009 and 0.013, against 0.001); they are no longer listed as dead.
    for lever in ("population.ties_within", "dynamics.household_diffusion"):
        assert "trust_spread" in moves[lever] and lever not in lv.LISTED, lever
    spread = {r.lever: r.changes["trust_spread"].estimate for r in rows if r.lever in graph}
    assert spread["population.ties_within"] < -0.001
    assert spread["dynamics.household_diffusion"] < -0.001


def test_documented_outputs_are_declared_and_their_materiality_follows_the_declaration() -> None:
    for lever, names in lv.ACTS_ON.items():
        assert set(names) <= set(DECLARED), lever
        assert lever in levers() or any(k.startswith(lever) for k in levers()), lever
    share, cost = lv.documented("leakage"), lv.documented("cost_audit")
    assert (share.materiality, share.relative) == (0.002, False)  # 0.2% of [0, 1]
    assert (cost.materiality, cost.relative) == (0.01, True)  # 1% of its level: no upper end
    assert cost.threshold(0.5) == pytest.approx(0.005) and share.threshold(0.5) == 0.002
    assert [o.name for o in lv.acts_on("requirements.participation_finance")] == [
        "delivered",
        "empowerment_mean",
    ]
    assert lv.acts_on("population.initial_trust") == ()


def test_trait_entries_run_where_they_act() -> None:
    # Best member in msp: as shipped; an organization's other entries: delivering alone.
    assert plausible_range("capabilities.firm_finance").context == ()
    assert plausible_range("capabilities.firm_authority").context == (("partnership.type", "none"),)
    assert plausible_range("capabilities.community_facilitation").context == (
        ("partnership.type", "psp"),
    )
    assert plausible_range("requirements.health_finance").context == (("partnership.type", "none"),)
    assert "acts where" in plausible_range("requirements.health_facilitation").why


def test_an_output_undefined_in_the_runs_is_not_judged() -> None:
    r = plausible_range("welfare.return_capacity")
    nan = float("nan")
    changes = {
        "welfare": lv.Change(0.0001, -0.0001, 0.0003, 0.002),
        "survival": lv.Change(nan, nan, nan, 0.01),  # no partnership: n/a
    }
    assert lv.LeverRow("x", r, changes).verdict == "dead"
    changes["welfare"] = lv.Change(0.01, 0.005, 0.015, 0.002)
    assert lv.LeverRow("x", r, changes).moves == ["welfare"]
    assert lv.LeverRow("x", r, {"survival": changes["survival"]}).verdict == "undecided"


def test_change_verdicts_by_hand() -> None:
    assert lv.Change(0.01, 0.005, 0.015).material(0.002)
    assert not lv.Change(0.001, 0.0005, 0.0015).material(0.002)  # beyond noise, immaterial
    assert lv.Change(0.001, 0.0005, 0.0015).immaterial(0.002)
    assert not lv.Change(0.01, -0.01, 0.03).material(0.002)  # undecided: wide
    assert not lv.Change(0.01, -0.01, 0.03).immaterial(0.002)


def test_docs_levers_md_has_a_row_for_every_lever() -> None:
    text = (DOCS / "levers.md").read_text(encoding="utf-8")
    missing = [name for name in levers() if f"| `{name}` |" not in text]
    assert not missing, f"regenerate docs/levers.md (liveness --size full): {missing[:5]}"
    assert "dead and not listed" not in text


def test_liveness_command_writes_the_table(tmp_path, monkeypatch, capsys) -> None:
    tiny = dataclasses.replace(lv.SIZES["ci"], households=40, steps=12, replications=2)
    monkeypatch.setitem(lv.SIZES, "ci", tiny)
    out = tmp_path / "levers.md"
    argv = ["liveness", "--size", "ci", "--levers", "factors.trust,population.rewiring"]
    assert main([*argv, "--out", str(out)]) == 0
    text = out.read_text()
    assert "| `factors.trust` | 0.2 – 0.7:" in text and "| `population.rewiring` |" in text
    assert "`trust_partners` " in text  # factors.trust's documented output, judged beside
    assert "(listed)" in text and "## Not levers of the model's behaviour" in text
    assert (
        "## Do the partnership's outputs move?" in text and "| `power_balance` | [0, 1] |" in text
    )
    assert "levers live; report:" in capsys.readouterr().out
    assert main(["liveness", "--levers", "factors.nonsense"]) == 2
    assert "unknown lever" in capsys.readouterr().err
