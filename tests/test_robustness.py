"""The robustness table: the suite under structural alternatives and posterior draws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.experiments.robustness import (
    STRUCTURES,
    Condition,
    pass_rates,
    ranking_summary,
    robustness,
)
from sim.experiments.uncertainty import plan_prior_draws
from sim.experiments.validation import SIZES, arm
from sim.present.cli import main
from sim.present.robustness_report import BEGIN, END, keep_block, render, splice
from sim.scenario import Scenario
from sim.scenario.posterior import write_posterior
from sim.scenario.priors import PRIORS_FILE, load_priors

from .synthetic import SYNTHETIC_META

TINY = dataclasses.replace(SIZES["ci"], households=40, villages=2, steps=12, replications=3)


def test_structures_span_the_forms_of_joint_production():
    pooling, s = "partnership.capability_pooling", "partnership.capability_substitutability"
    forms = [(c.levers.get(pooling, "ces"), c.levers.get(s, 1.0)) for c in STRUCTURES]
    assert forms == [("ces", 1.0), ("union", 1.0), ("ces", 0.5), ("ces", 0.0), ("ces", -1.0)]
    assert STRUCTURES[0].levers == {}  # the shipped model is the first condition


def test_a_condition_at_the_defaults_reproduces_the_shipped_verdicts_and_ranking():
    same = Condition("draw at the defaults", "posterior draw",
                     {"partnership.capability_substitutability": 1.0})  # fmt: skip
    verdicts, rankings = robustness([STRUCTURES[0], STRUCTURES[1], same], TINY, [1])
    assert len(verdicts) == 3 and list(verdicts["pattern"]) == [1, 1, 1]
    assert verdicts["passed"].iloc[0] == verdicts["passed"].iloc[2]
    cols = ["welfare_order", "poorest_order", "msp_first_welfare", "msp_over_baseline_poorest"]
    assert rankings[cols].iloc[0].tolist() == rankings[cols].iloc[2].tolist()
    order = rankings["welfare_order"].iloc[0].split(" > ")
    assert sorted(order) == ["baseline", "msp", "pmg", "ppp", "psp"]
    assert rankings["msp_first_welfare"].iloc[0] == (order[0] == "msp")


def test_levers_apply_to_every_arm_but_an_arms_own_levers_stay():
    own = arm("x", "msp", partnership__capability_substitutability=0.0)
    levers = {"partnership.capability_substitutability": -1.0, "factors.trust": 0.9}
    built = own.build(TINY, levers)
    assert built.partnership.capability_substitutability == 0.0
    assert built.factors.trust == 0.9
    assert own.key(TINY, levers) != own.key(TINY)


def test_pass_rates_and_ranking_summary_count_by_kind():
    verdicts = pd.DataFrame({
        "condition": ["a", "b", "c", "a", "b", "c"],
        "kind": ["structure", "structure", "posterior draw"] * 2,
        "pattern": [1, 1, 1, 2, 2, 2],
        "title": ["one"] * 3 + ["two"] * 3,
        "nature": ["emergent"] * 6,
        "passed": [True, False, True, True, True, False],
        "passed_family_wise": [True, False, False, True, False, False],
        "error": [""] * 6,
    })  # fmt: skip
    rates = pass_rates(verdicts).set_index(["pattern", "kind"])
    assert rates.loc[(1, "structure"), "pass_rate"] == 0.5
    assert rates.loc[(2, "structure"), ["passed", "passed_family_wise"]].tolist() == [2, 1]
    assert rates.loc[(2, "posterior draw"), "pass_rate"] == 0.0
    rankings = pd.DataFrame({
        "condition": ["a", "b", "c"], "kind": ["structure", "structure", "posterior draw"],
        "msp_first_welfare": [True, False, True], "msp_first_poorest": [True, True, False],
        "msp_over_baseline_welfare": [True, True, True],
        "msp_over_baseline_poorest": [False, True, True],
    })  # fmt: skip
    s = ranking_summary(rankings).set_index("kind")
    assert s.loc["structure"].tolist() == [2, 1, 2, 2, 1]
    assert s.loc["posterior draw", "msp_first_poorest"] == 0


def test_the_block_is_spliced_in_and_kept_when_the_report_is_rewritten(tmp_path):
    report = "# Report\n\n## Pattern 1\n\ntext\n\n## Parameter plausibility\n\nrest\n"
    block = f"{BEGIN}\n## Robustness\n\nold table\n{END}\n"
    once = splice(report, block)
    assert once.index(BEGIN) < once.index("## Parameter plausibility") and "rest" in once
    twice = splice(once, block.replace("old", "new"))
    assert "new table" in twice and "old table" not in twice and twice.count(BEGIN) == 1
    path = tmp_path / "validation.md"
    path.write_text(twice)
    regenerated = keep_block(path, report.replace("text", "new text"))
    assert "new table" in regenerated and "new text" in regenerated
    assert keep_block(tmp_path / "none.md", report) == report


def test_render_says_the_posterior_is_not_available_and_counts_passes():
    verdicts, rankings = robustness(STRUCTURES[:2], TINY, [10])
    text = render(verdicts, rankings, TINY, None, "python run_simulation.py validate ...")
    assert "posterior not yet available" in text
    n = int(verdicts["passed"].sum())
    assert f"| 10 | Community inclusion builds empowerment | mechanical | {n} of 2" in text
    assert text.startswith(BEGIN) and text.rstrip().endswith(END)


def test_validate_robustness_with_a_synthetic_posterior(tmp_path, capsys):
    post = tmp_path / "post.parquet"
    # every draw holds the shipped default: each draw must judge as the shipped model does
    frame = pd.DataFrame({"draw": np.arange(3), "dynamics.trust_gain": [0.0] * 3})
    frame["dynamics.trust_gain"] = Scenario().dynamics.trust_gain
    write_posterior(frame, post, SYNTHETIC_META)
    out = tmp_path / "validation.md"
    out.write_text("# Kemitraan\n\n## Parameter plausibility\n\nkept\n")
    args = ["validate", "--robustness", "--size", "ci", "--replications", "2", "--patterns",
            "10", "--posterior", "2", "--posterior-file", str(post), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = out.read_text()
    assert "kept" in text and "**Posterior draws:** 2 draws" in text
    rates = next(line for line in text.splitlines() if line.startswith("| 10 |"))
    draws_cell = rates.split(" | ")[4]
    assert draws_cell.startswith(("2 of 2", "0 of 2"))  # the draws judge alike
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:]
        for line in text.splitlines()
        if line.startswith(("| best member", "| posterior draw"))
    }
    shipped = rows.pop("best member (shipped: CES, s = 1)")
    assert len(rows) == 2 and all(order == shipped for order in rows.values())


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--posterior", "0"], "must be at least 1"),
        (["--posterior", "1", "--posterior-file", "no/such.parquet"], "not found"),
        (["--robustness", "--prior", "0"], "must be at least 1"),
    ],
)
def test_validate_refuses_bad_posterior_input(tmp_path, capsys, extra, message):
    out = tmp_path / "v.md"
    assert main(["validate", *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
    assert not out.exists()


def test_prior_draws_are_valid_labelled_and_reproducible():
    priors = load_priors()
    a = plan_prior_draws(priors, 3, 7, PRIORS_FILE)
    b = plan_prior_draws(priors, 3, 7, PRIORS_FILE)
    assert a.overrides == b.overrides and len(a) == 3
    assert a.source["kind"] == "prior" and "not calibrated" in a.source["meta"]["method"]
    for overrides in a.overrides:
        assert set(overrides) == set(priors.levers)
        Scenario().with_overrides(overrides)  # every draw is a scenario the schema accepts
    verdicts = pd.DataFrame({
        "condition": ["best member (shipped: CES, s = 1)", "prior draw 0"],
        "kind": ["structure", "prior draw"], "pattern": [1, 1], "title": ["one"] * 2,
        "nature": ["emergent"] * 2, "passed": [True, False],
        "passed_family_wise": [True, False], "error": ["", ""],
    })  # fmt: skip
    rankings = pd.DataFrame({
        "condition": verdicts["condition"], "kind": verdicts["kind"],
        "welfare_order": ["msp > baseline", "baseline > msp"],
        "poorest_order": ["msp > baseline"] * 2,
        "msp_first_welfare": [True, False], "msp_first_poorest": [True, True],
        "msp_over_baseline_welfare": [True, False], "msp_over_baseline_poorest": [True, True],
    })  # fmt: skip
    text = render(verdicts, rankings, TINY, None, "cmd", a.manifest())
    assert "**Prior draws (not calibrated):** 3 independent draws" in text
    assert "| 1 | one | emergent | 1 of 1 (100%) [1] | 0 of 1 (0%) [0] |" in text
    assert "- prior draws: `msp` ranks first by mean welfare in 0 of 1 (0%)" in text
