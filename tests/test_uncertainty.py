"""--posterior N: draws x replicates, parameter uncertainty apart from noise, P(design beats)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments.compare import compare
from sim.experiments.uncertainty import (
    decompose,
    draw_scenarios,
    paired_by_draw,
    plan_draws,
    probability_better,
    run_posterior,
)
from sim.present.cli import main
from sim.scenario import Scenario
from sim.scenario.posterior import load_posterior, write_posterior

from .synthetic import SYNTHETIC_META


def synthetic(tmp_path, values, lever="population.initial_capacity", name="post.parquet"):
    path = tmp_path / name
    frame = pd.DataFrame({"draw": np.arange(len(values)), lever: values})
    write_posterior(frame, path, SYNTHETIC_META)
    return path


def test_decomposition_on_a_hand_computed_case():
    # draw 0: 1, 2, 3 (mean 2, var 1); draw 1: 4, 6, 8 (mean 6, var 4)
    values = pd.DataFrame(
        {
            "scenario": ["a"] * 6,
            "draw": [0, 0, 0, 1, 1, 1],
            "replicate": [0, 1, 2] * 2,
            "x": [1.0, 2.0, 3.0, 4.0, 6.0, 8.0],
        }
    )
    row = decompose(values, "x").iloc[0]
    within = (2 * 1 + 2 * 4) / 4  # pooled: 2.5
    assert row["mean"] == 4.0 and row["draws"] == 2 and row["replicates"] == 3
    assert row["between_var"] == pytest.approx(8.0)
    assert row["within_var"] == pytest.approx(within)
    assert row["param_var"] == pytest.approx(8.0 - within / 3)
    assert row["param_share"] == pytest.approx((8 - within / 3) / (8 - within / 3 + within))
    assert (row["param_low"], row["param_high"]) == pytest.approx((2.1, 5.9))  # percentiles
    half = stats.t.ppf(0.975, 4) * np.sqrt(within / 6)
    assert (row["noise_low"], row["noise_high"]) == pytest.approx((4 - half, 4 + half))


def test_decomposition_says_nothing_it_cannot_know():
    one_draw = pd.DataFrame({"scenario": "a", "draw": 0, "x": [1.0, 3.0]})
    row = decompose(one_draw, "x").iloc[0]
    assert np.isnan(row["param_var"]) and np.isnan(row["param_low"])
    assert row["within_var"] == pytest.approx(2.0)
    one_rep = pd.DataFrame({"scenario": "a", "draw": [0, 1], "x": [1.0, 3.0]})
    row = decompose(one_rep, "x").iloc[0]
    assert row["between_var"] == pytest.approx(2.0)
    assert np.isnan(row["within_var"]) and np.isnan(row["noise_low"])
    # noise alone (draws identical up to noise): the parameter component is clipped at 0
    same = pd.DataFrame({"scenario": "a", "draw": [0, 0, 1, 1], "x": [0.0, 2.0, 2.0, 0.0]})
    assert decompose(same, "x").iloc[0]["param_var"] == 0.0


def test_probability_better_counts_draws_paired_by_seed():
    # Two seeds per draw; design - status quo per draw: +1, -1, +0.5 -> 2 of 3 draws better.
    rows = []
    for draw, shift in enumerate([1.0, -1.0, 0.5]):
        for seed, base in ((11, 0.0), (12, 10.0)):
            rows.append(("sq", draw, seed, base + draw))
            rows.append(("d", draw, seed, base + draw + shift))
    table = pd.DataFrame(rows, columns=["scenario", "draw", "seed", "y"])
    diffs = paired_by_draw(table, "sq", "y")
    assert diffs.groupby("draw")["difference"].mean().tolist() == [1.0, -1.0, 0.5]
    p = probability_better(table, "sq", "y").iloc[0]
    assert (p["draws"], p["better_draws"], p["probability_better"]) == (3, 2, pytest.approx(2 / 3))
    lower = probability_better(table, "sq", "y", higher_is_better=False).iloc[0]
    assert lower["better_draws"] == 1


def test_plan_is_reproducible_and_levers_a_scenario_sets_are_kept(tmp_path):
    post = load_posterior(synthetic(tmp_path, [0.2, 0.6, 1.0], "welfare.return_capacity"))
    a, b = plan_draws(post, 3, root_seed=5), plan_draws(post, 3, root_seed=5)
    assert a.ids == b.ids and sorted(a.ids) == [0, 1, 2]
    assert a.manifest()["draw_ids"] == list(a.ids) and len(a.manifest()["sha256"]) == 64
    own = Scenario().with_overrides({"name": "own", "welfare.return_capacity": 2.0})
    drawn, kept = draw_scenarios([Scenario(), own], a)
    assert [row[0].welfare.return_capacity for row in drawn] == [a.overrides[k][
        "welfare.return_capacity"] for k in range(3)]  # fmt: skip
    assert {row[1].welfare.return_capacity for row in drawn} == {2.0}
    assert kept == {"default": (), "own": ("welfare.return_capacity",)}


TINY = {"population.households": 60, "population.villages": 3, "run.steps": 12}


def tiny(name, **levers):
    base = Scenario.from_dict({"name": name, "partnership": {"type": "none"}})
    return base.with_overrides({**TINY, **{k.replace("__", "."): v for k, v in levers.items()}})


def test_a_design_that_is_better_in_every_draw_has_probability_one(tmp_path):
    # The draws differ only in initial capacity; the designs only in the government's
    # budget: more money is better for the poorest fifth in every draw, none is worse.
    post = load_posterior(synthetic(tmp_path, [0.1, 0.5, 0.9]))
    plan = plan_draws(post, 3, root_seed=1)
    designs = [
        tiny("status_quo"),
        tiny("cut", organizations__budget_government=0.0),
        tiny("more", organizations__budget_government=1.2),
    ]
    result = compare(designs, replications=2, root_seed=3, plan=plan)
    prob = result["probability"].set_index(["scenario", "measure"])["probability_better"]
    assert prob[("more", "welfare_q1")] == 1.0 and prob[("cut", "welfare_q1")] == 0.0
    unc = result["uncertainty"].set_index(["scenario", "kind", "measure"])
    assert unc.loc[("more", "difference", "welfare_q1"), "param_low"] > 0
    assert unc.loc[("cut", "difference", "welfare_q1"), "param_high"] < 0
    # initial capacity moves welfare: the draws differ, so parameter variance is real
    level = unc.loc[("status_quo", "level", "welfare_mean")]
    assert level["param_var"] > 0 and level["draws"] == 3 and level["replicates"] == 2
    table = result["per_replicate"]
    assert len(table) == 3 * 3 * 2 and set(table["posterior_draw"]) == set(plan.ids)
    # income poverty is judged lower-is-better: a draw counts when the design's mean paired
    # difference is strictly negative (recomputed here from the replicates)
    assert set(prob.index.get_level_values("measure")) == {"welfare_q1", "welfare_mean",
                                                           "poverty_rate"}  # fmt: skip
    pairs = table.pivot_table(index=["posterior_draw", "seed"], columns="scenario",
                              values="poverty_rate")  # fmt: skip
    for name in ("cut", "more"):
        per_draw = (pairs[name] - pairs["status_quo"]).groupby(level=0).mean()
        assert prob[(name, "poverty_rate")] == pytest.approx(float((per_draw < 0).mean()))


def test_run_posterior_uses_the_same_seeds_in_every_draw(tmp_path):
    post = load_posterior(synthetic(tmp_path, [0.1, 0.9]))
    plan = plan_draws(post, 2, root_seed=1)
    df = run_posterior([tiny("a")], plan, replications=2, root_seed=9, progress=False)
    seeds = df.groupby("draw")["seed"].apply(lambda s: sorted(set(s)))
    assert seeds[0] == seeds[1] and len(seeds[0]) == 2
    last = df[df["step"] == 12].groupby("posterior_draw")["welfare_mean"].mean()
    assert last[0] < last[1]  # the draws' lever acts, with a known sign


SMALL = ["--steps", "6", "--replications", "2", "--no-progress", "--set",
         "population.households=40", "--set", "population.villages=2"]  # fmt: skip


def test_run_with_posterior_writes_the_decomposition_and_the_draws(tmp_path, capsys):
    path = synthetic(tmp_path, [0.1, 0.5, 0.9])
    scen = ["--scenario", "scenarios/baseline.toml", "scenarios/msp.toml"]
    out = tmp_path / "out"
    code = main([*scen, *SMALL, "--posterior", "2", "--posterior-file", str(path),
                 "--out", str(out), "--no-figure"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "parameter" in printed
    info = json.loads((out / "manifest.json").read_text())
    assert info["posterior"]["draws"] == 2 and len(info["posterior"]["draw_ids"]) == 2
    assert info["posterior"]["levers"] == ["population.initial_capacity"]
    unc = pd.read_csv(out / "uncertainty.csv")
    assert set(unc["scenario"]) == {"baseline", "msp"} and (unc["draws"] == 2).all()
    dictionary = pd.read_csv(out / "data_dictionary.csv")
    assert not (dictionary["meaning"] == "not documented").any()
    ts = pd.read_csv(out / "timeseries.csv")
    assert set(ts["posterior_draw"]) == set(info["posterior"]["draw_ids"])
    # income poverty is printed in percent of households: 100 x the table's share
    row = unc[(unc["scenario"] == "msp") & (unc["outcome"] == "poverty_rate")].iloc[0]
    line = next(ln for ln in printed.splitlines() if ln.startswith("msp ") and "poverty" in ln)
    assert line.split("(%)")[1].split()[0] == f"{100 * row['mean']:.1f}"


@pytest.mark.parametrize(
    "command", [[], ["compare", "scenarios/baseline.toml", "scenarios/msp.toml"]]
)
def test_bad_posterior_input_is_one_line_and_exit_2(tmp_path, capsys, command):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"draw": [0], "no.such": [1.0]}).to_parquet(bad)
    cases = [
        (["--posterior", "0"], "must be at least 1"),
        (["--posterior", "2", "--posterior-file", str(tmp_path / "none.parquet")], "not found"),
        (["--posterior", "2", "--posterior-file", str(bad)], "metadata 'kemitraan' is missing"),
        (["--posterior-file", str(bad)], "--posterior-file needs --posterior N"),
    ]
    for extra, message in cases:
        code = main([*command, *SMALL, *extra, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and message in err[-1] and err[-1].startswith("error:")
        assert not (tmp_path / "o").exists()  # refused before any folder or run
